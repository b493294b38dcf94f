"""The ``[market_study]`` scenario section: respondents, surveys with their audience and target group, the
misbehaving respondents a run plants, and the batch sizes of its tasks."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cipherquorum.marketstudy.matching import BLOCK_WIDTH, Audience, TargetGroup
from cipherquorum.marketstudy.profiles import ATTRIBUTES
from cipherquorum.marketstudy.room import PinRules
from cipherquorum.settings.scenario import Question, _read_question
from cipherquorum.settings.toml import TableReader, describe_value

SECTION = "market_study"
RESPONDENT_PRESET = "bfv-2048"
"""Respondents' own keys (profiles, PINs) and the clients' answer keys: additions only, smallest ciphertexts."""
MATCH_PRESET = "bfv-8192"
"""The clients' match keys: one squaring and the rotations that fold a profile block."""
MATCH_BLOCKS = 8192 // BLOCK_WIDTH
"""Profiles one match ciphertext holds."""

MISBEHAVIOURS = ("replaced_bundles", "bad_keys", "wrong_pins", "late_answers", "second_connections", "replays")
"""The planted respondent behaviours, given as counts; a respondent has at most one of them."""


@dataclass(frozen=True)
class SurveySettings:
    """One client's survey: its questions, its room's audience (public attributes) and its target group."""

    survey_id: str
    title: str
    audience: Mapping[str, tuple[int, ...]]
    target_group: Mapping[str, tuple[int, ...]]
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class MarketStudySettings:
    """Everything ``[market_study]`` sets. Each survey has a client account and a room account."""

    section: str
    respondents: int
    shards: int
    surveys: tuple[SurveySettings, ...]
    replaced_bundles: int
    bad_keys: int
    wrong_pins: int
    late_answers: int
    second_connections: int
    replays: int
    profile_updates: int
    stale_updates: int
    locked_answers: int
    impostors: int
    auth_batch: int
    match_batch: int
    answer_window_s: float

    @property
    def clients(self) -> int:
        """Market accounts: a client and a room for every survey."""
        return 2 * len(self.surveys)

    @property
    def pin_rules(self) -> PinRules:
        """The rooms' PIN game rules."""
        return PinRules(answer_window_s=self.answer_window_s)

    def misbehaving(self, behaviour: str) -> int:
        """How many respondents plant ``behaviour`` (one of MISBEHAVIOURS)."""
        return int(getattr(self, behaviour))


def _buckets(reader: TableReader, key: str) -> dict[str, tuple[int, ...]]:
    """A table of attribute name -> "b1,b2,..." bucket lists."""
    table = reader.table(key)
    groups: dict[str, tuple[int, ...]] = {}
    for attribute in ATTRIBUTES:
        if not table.has(attribute.name):
            continue
        text = table.string(attribute.name)
        try:
            groups[attribute.name] = tuple(int(part) for part in text.split(","))
        except ValueError:
            raise table.error(f'must list bucket numbers as "1,2,3" (got {describe_value(text)})',
                              attribute.name) from None
    table.finish()
    return groups


def _read_survey(reader: TableReader, index: int) -> SurveySettings:
    survey_id = reader.string("id", f"survey-{index + 1}")
    audience = _buckets(reader, "audience")
    target_group = _buckets(reader, "target_group")
    try:
        Audience.of(audience)
    except ValueError as exc:
        raise reader.error(str(exc), "audience") from None
    try:
        TargetGroup.of(target_group)
    except ValueError as exc:
        raise reader.error(str(exc), "target_group") from None
    survey = SurveySettings(survey_id, reader.string("title", ""), audience, target_group,
                            tuple(_read_question(q) for q in reader.tables("questions", required=True)))
    reader.finish()
    return survey


def read_settings(reader: TableReader) -> MarketStudySettings:
    """Read ``[market_study]``; raises ScenarioError naming the field (planted behaviours that outnumber the
    respondents, stale updates beyond the updates, repeated survey ids, unknown keys)."""
    respondents = reader.integer("respondents", minimum=2, maximum=100_000)
    counts = {name: reader.integer(name, 0, minimum=0) for name in MISBEHAVIOURS}
    if sum(counts.values()) > respondents:
        raise reader.error(f"planted behaviours ({sum(counts.values())} respondents) must not outnumber the "
                           f"respondents ({respondents})")
    profile_updates = reader.integer("profile_updates", 0, minimum=0, maximum=respondents)
    stale_updates = reader.integer("stale_updates", 0, minimum=0, maximum=profile_updates)
    surveys = tuple(_read_survey(s, i) for i, s in enumerate(reader.tables("surveys", required=True)))
    ids = [s.survey_id for s in surveys]
    if len(set(ids)) != len(ids):
        raise reader.error(f"survey ids must be distinct (got {ids})", "surveys")
    settings = MarketStudySettings(
        section=SECTION,
        respondents=respondents,
        shards=reader.integer("shards", 2, minimum=1, maximum=64),
        surveys=surveys,
        profile_updates=profile_updates,
        stale_updates=stale_updates,
        locked_answers=reader.integer("locked_answers", 0, minimum=0, maximum=respondents),
        impostors=reader.integer("impostors", 0, minimum=0, maximum=respondents),
        auth_batch=reader.integer("auth_batch", 500, minimum=1, maximum=4096),
        match_batch=reader.integer("match_batch", MATCH_BLOCKS, minimum=1, maximum=8 * MATCH_BLOCKS),
        answer_window_s=reader.number("answer_window_s", 5.0),
        **counts,
    )
    if not 0 < settings.answer_window_s <= 600:
        raise reader.error(f"must be in (0, 600] (got {settings.answer_window_s})", "answer_window_s")
    reader.finish()
    return settings
