"""Who does what in a market-study run: respondent names, the planted behaviours (disjoint, drawn from the
seed), profile updaters, and the counts every room and survey must end with (the run's plaintext reference)."""
from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cipherquorum.marketstudy.matching import Audience, TargetGroup
from cipherquorum.marketstudy.profiles import ProfileValues, profile_of_row, updated_profile
from cipherquorum.marketstudy.settings import MISBEHAVIOURS, MarketStudySettings

UPDATE_ROW_SHIFT = 221
"""An updated profile takes its private attributes from the data row this far on."""


def respondent_name(index: int) -> str:
    """The name of respondent ``index``."""
    return f"respondent-{index:06d}"


@dataclass(frozen=True)
class RespondentPlan:
    """Each respondent's planted behaviour (absent: honest), who updates its profile, and who then tries a
    stale update; ``locked`` respondents try to answer a survey after it is locked."""

    names: tuple[str, ...]
    behaviour: Mapping[str, str]
    updaters: frozenset[str]
    stale: frozenset[str]
    locked: frozenset[str]

    def with_behaviour(self, behaviour: str) -> frozenset[str]:
        """The respondents planting ``behaviour``."""
        return frozenset(name for name, b in self.behaviour.items() if b == behaviour)


def plan_respondents(settings: MarketStudySettings, seed: str) -> RespondentPlan:
    """Draw the plan from ``seed``: behaviours on disjoint respondents, updaters independently of them."""
    names = tuple(respondent_name(i) for i in range(settings.respondents))
    order = list(names)
    random.Random(f"{seed}/market_study/behaviours").shuffle(order)
    behaviour: dict[str, str] = {}
    start = 0
    for name in MISBEHAVIOURS:
        count = settings.misbehaving(name)
        behaviour.update({respondent: name for respondent in order[start:start + count]})
        start += count
    updaters = list(names)
    random.Random(f"{seed}/market_study/updates").shuffle(updaters)
    chosen = updaters[:settings.profile_updates]
    locked = list(names)
    random.Random(f"{seed}/market_study/locked").shuffle(locked)
    return RespondentPlan(names, behaviour, frozenset(chosen), frozenset(chosen[:settings.stale_updates]),
                          frozenset(locked[:settings.locked_answers]))


def final_profile(index: int, updated: bool) -> ProfileValues:
    """Respondent ``index``'s profile at the end of the profile stage."""
    values = profile_of_row(index)
    return updated_profile(values, index + UPDATE_ROW_SHIFT) if updated else values


@dataclass(frozen=True)
class RoomExpectation:
    """What a room and its survey must count, from the plan and the plaintext profiles."""

    candidates: int
    refused_joins: int
    second_connections: int
    foreign_bundles: int
    challenged: int
    wrong: int
    expired: int
    authenticated: tuple[str, ...]
    replayed: int
    matched: tuple[str, ...]


def expect_room(plan: RespondentPlan, profiles: Sequence[ProfileValues], audience: Audience,
                target: TargetGroup) -> RoomExpectation:
    """The counts a room's run implies: candidates by public data, then each planted behaviour among them."""
    candidates = [name for name, values in zip(plan.names, profiles) if audience.admits(values.public())]
    profile_of = dict(zip(plan.names, profiles))

    def among(behaviour: str) -> list[str]:
        return [name for name in candidates if plan.behaviour.get(name) == behaviour]

    refused_at_auth = {*among("bad_keys"), *among("wrong_pins"), *among("late_answers")}
    authenticated = tuple(name for name in candidates if name not in refused_at_auth)
    return RoomExpectation(
        candidates=len(candidates),
        refused_joins=len(plan.names) - len(candidates),
        second_connections=len(among("second_connections")),
        foreign_bundles=len(among("bad_keys")),
        challenged=len(candidates) - len(among("bad_keys")),
        wrong=len(among("wrong_pins")),
        expired=len(among("late_answers")),
        authenticated=authenticated,
        replayed=len(among("replays")),
        matched=tuple(name for name in authenticated if target.contains(profile_of[name])),
    )
