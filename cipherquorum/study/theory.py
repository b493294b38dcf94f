"""What theory predicts for a grid point: the contract's stake-weighted draw solved exactly, and Wilson intervals.

The contract assigns ``replication`` distinct nodes, each draw proportional to the stakes of the nodes not yet
drawn (successive sampling without replacement). ``byzantine_count_odds`` enumerates those draws exactly: a
recursion over the draws whose state is how many nodes of each (stake, byzantine) group were drawn so far, so
nodes of equal stake are one state and equal stakes cost a handful of states. The tally then decides the
outcome from the count of byzantine replicas alone (``outcome_of``), since a quorum is a majority.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from cipherquorum.exceptions import ValidationError
from cipherquorum.protocol import BehaviourName
from cipherquorum.study.registry import Registry
from cipherquorum.types import TextEnum

Z_95 = 1.959963984540054
"""The standard normal quantile of a two-sided 95% interval."""
MAX_THEORY_STATES = 2_000_000
"""Most draw states the exact recursion keeps at one depth (nodes of distinct stakes multiply them)."""
BYZANTINE_KINDS = (BehaviourName.WRONG, BehaviourName.COLLUDING)
"""How byzantine replicas vote: each a wrong hash of its own, or all one shared wrong hash."""


class Outcome(TextEnum):
    """How one replicated task ended: the true result accepted, a wrong one accepted, or no consensus."""

    CORRECT = "correct"
    WRONG = "wrong"
    NO_CONSENSUS = "no_consensus"


def checked_kind(kind: BehaviourName) -> BehaviourName:
    """Return ``kind`` if byzantine replicas can vote that way; raises ValidationError naming it otherwise."""
    if kind not in BYZANTINE_KINDS:
        raise ValidationError(f'"byzantine_kind" must be one of {", ".join(k.value for k in BYZANTINE_KINDS)} '
                              f"(got byzantine_kind={str(kind)!r})")
    return kind


def outcome_of(byzantine: int, replication: int, quorum: int, kind: BehaviourName) -> Outcome:
    """The outcome when ``byzantine`` of the ``replication`` replicas are byzantine and every replica reveals.

    The honest replicas reveal one pair; colluding ones reveal one wrong pair, independent wrong ones a pair
    each. A pair revealed by at least ``quorum`` replicas wins (a majority, so at most one can); otherwise
    there is no consensus. Raises ValidationError for an impossible count or kind.
    """
    checked_kind(kind)
    if not 0 <= byzantine <= replication or not replication / 2 < quorum <= replication:
        raise ValidationError(f"byzantine replicas must be in [0, replication] and the quorum a majority (got "
                              f"byzantine={byzantine}, replication={replication}, quorum={quorum})")
    largest_wrong = byzantine if kind is BehaviourName.COLLUDING else min(byzantine, 1)
    if replication - byzantine >= quorum:
        return Outcome.CORRECT
    if largest_wrong >= quorum:
        return Outcome.WRONG
    return Outcome.NO_CONSENSUS


@dataclass(frozen=True)
class OutcomeOdds:
    """The probability of each outcome of one task."""

    correct: float
    wrong: float
    no_consensus: float

    def of(self, outcome: Outcome) -> float:
        """The probability of ``outcome``."""
        return {Outcome.CORRECT: self.correct, Outcome.WRONG: self.wrong,
                Outcome.NO_CONSENSUS: self.no_consensus}[outcome]


def byzantine_count_odds(registry: Registry, draws: int) -> tuple[tuple[float, ...], ...]:
    """For each number of draws d in [0, draws], the probabilities that exactly k of d drawn nodes are byzantine.

    ``result[d][k]`` is P(k byzantine among the first d nodes the contract draws from ``registry``). Exact up
    to float rounding. Raises ValidationError when ``draws`` exceeds the nodes, or when the registry has so
    many distinct stakes that one depth holds more than MAX_THEORY_STATES states.
    """
    if isinstance(draws, bool) or not isinstance(draws, int) or not 0 <= draws <= registry.size:
        raise ValidationError(f'"draws" must be an int in [0, {registry.size}], the registered nodes '
                              f"(got draws={draws!r})")
    return _count_odds(registry, draws)


DrawStates = dict[tuple[int, ...], float]
"""How many nodes of each (stake, byzantine) group were drawn so far, with the probability of that state."""


@dataclass(frozen=True)
class _Groups:
    """A registry's nodes grouped by (stake, byzantine): the draw recursion's alphabet."""

    weights: tuple[int, ...]
    bad: tuple[bool, ...]
    sizes: tuple[int, ...]
    total_wei: int

    @classmethod
    def of(cls, registry: Registry) -> _Groups:
        sizes: dict[tuple[int, bool], int] = defaultdict(int)
        for stake, flag in zip(registry.stakes_wei, registry.byzantine):
            sizes[(stake, flag)] += 1
        groups = sorted(sizes)
        return cls(tuple(stake for stake, _ in groups), tuple(flag for _, flag in groups),
                   tuple(sizes[group] for group in groups), sum(registry.stakes_wei))

    @property
    def start(self) -> DrawStates:
        """Nothing drawn yet."""
        return {tuple(0 for _ in self.weights): 1.0}

    def byzantine(self, drawn: tuple[int, ...]) -> int:
        """How many byzantine nodes state ``drawn`` holds."""
        return sum(n for n, flag in zip(drawn, self.bad) if flag)

    def draw(self, states: DrawStates, depth: int) -> DrawStates:
        """The states one more stake-weighted draw without replacement leads to (``depth`` draws came before)."""
        following: DrawStates = defaultdict(float)
        for drawn, chance in states.items():
            remaining_wei = self.total_wei - sum(n * w for n, w in zip(drawn, self.weights))
            for g, weight in enumerate(self.weights):
                left = self.sizes[g] - drawn[g]
                if left:
                    child = drawn[:g] + (drawn[g] + 1,) + drawn[g + 1:]
                    following[child] += chance * left * weight / remaining_wei
        if len(following) > MAX_THEORY_STATES:
            raise ValidationError(f"the exact draw needs more than {MAX_THEORY_STATES} states at draw {depth + 1} "
                                  f"({len(self.weights)} distinct (stake, byzantine) groups); use fewer distinct "
                                  "stakes")
        return following


@lru_cache(maxsize=256)
def _count_odds(registry: Registry, draws: int) -> tuple[tuple[float, ...], ...]:
    groups = _Groups.of(registry)
    states = groups.start
    odds: list[tuple[float, ...]] = [(1.0,)]
    for depth in range(draws):
        states = groups.draw(states, depth)
        by_count = [0.0] * (depth + 2)
        for drawn, chance in states.items():
            by_count[groups.byzantine(drawn)] += chance
        odds.append(tuple(by_count))
    return tuple(odds)


def outcome_odds(count_odds: tuple[float, ...], replication: int, quorum: int, kind: BehaviourName) -> OutcomeOdds:
    """The odds of each outcome given ``count_odds[k]`` = P(k of the ``replication`` replicas are byzantine)."""
    totals = dict.fromkeys(Outcome, 0.0)
    for byzantine, chance in enumerate(count_odds):
        totals[outcome_of(byzantine, replication, quorum, kind)] += chance
    return OutcomeOdds(totals[Outcome.CORRECT], totals[Outcome.WRONG], totals[Outcome.NO_CONSENSUS])


@dataclass(frozen=True)
class Interval:
    """A closed interval of probabilities."""

    low: float
    high: float

    def contains(self, value: float, tolerance: float = 1e-12) -> bool:
        """Whether ``value`` lies in the interval, allowing ``tolerance`` for float rounding at its ends."""
        return self.low - tolerance <= value <= self.high + tolerance


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> Interval:
    """The Wilson score interval of a proportion: every p whose score test at level ``z`` accepts successes/trials.

    A probability p lies inside exactly when |successes/trials - p| <= z * sqrt(p (1 - p) / trials), so the
    same interval answers whether a theory's p agrees with a simulation. With no trials it is [0, 1]. Raises
    ValidationError unless 0 <= successes <= trials.
    """
    if isinstance(successes, bool) or isinstance(trials, bool) or not 0 <= successes <= trials:
        raise ValidationError(f"a proportion needs 0 <= successes <= trials (got successes={successes}, "
                              f"trials={trials})")
    if trials == 0:
        return Interval(0.0, 1.0)
    share = successes / trials
    spread = z * z / trials
    centre = (share + spread / 2) / (1 + spread)
    half = z * math.sqrt(share * (1 - share) / trials + spread / (4 * trials)) / (1 + spread)
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class AdaptiveOdds:
    """What theory predicts for an adaptive task: the odds of each outcome and the mean replicas it uses."""

    odds: OutcomeOdds
    mean_replicas: float


def adaptive_odds(registry: Registry, replication: int, max_replication: int, quorum: int,
                  kind: BehaviourName) -> AdaptiveOdds:
    """The exact odds and mean replicas of an adaptive task (r_min ``replication``, r_max ``max_replication``)
    on ``registry``, every replica revealing.

    The contract draws r_min nodes; while no (result, status) pair has ``quorum`` reveals and seats are left, it
    draws min(quorum - largest pair, seats left) more, continuing the same stake-weighted draw without
    replacement (the seated nodes are not drawn again). Honest replicas form one pair; colluding ones another,
    independent wrong ones a pair each. An extension never lets two pairs reach the quorum together, so the
    state at each stop decides the outcome. The recursion is ``byzantine_count_odds``'s, stopped per state.
    Raises ValidationError for terms the contract refuses or more seats than nodes.
    """
    checked_kind(kind)
    if not (replication / 2 < quorum <= replication <= max_replication <= registry.size):
        raise ValidationError(f"an adaptive task needs replication/2 < quorum <= replication <= max_replication "
                              f"<= nodes (got quorum={quorum}, replication={replication}, max_replication="
                              f"{max_replication}, nodes={registry.size})")
    groups = _Groups.of(registry)
    pending: dict[int, DrawStates] = {0: groups.start}
    totals = dict.fromkeys(Outcome, 0.0)
    replicas = 0.0
    for depth in range(max_replication + 1):
        states = pending.pop(depth, None)
        if not states:
            continue
        onward: dict[int, DrawStates] = defaultdict(lambda: defaultdict(float))
        for drawn, chance in states.items():
            byzantine = groups.byzantine(drawn)
            honest = depth - byzantine
            wrong = byzantine if kind is BehaviourName.COLLUDING else min(byzantine, 1)
            largest = max(honest, wrong)
            if depth and (largest >= quorum or depth == max_replication):
                outcome = (Outcome.CORRECT if honest >= quorum else Outcome.WRONG if wrong >= quorum
                           else Outcome.NO_CONSENSUS)
                totals[outcome] += chance
                replicas += chance * depth
                continue
            step = min(quorum - largest, max_replication - depth) if depth else replication
            onward[depth + step][drawn] += chance
        for target, grouped in onward.items():
            advanced: DrawStates = grouped
            for at in range(depth, target):
                advanced = groups.draw(advanced, at)
            into = pending.setdefault(target, defaultdict(float))
            for drawn, chance in advanced.items():
                into[drawn] += chance
    return AdaptiveOdds(OutcomeOdds(totals[Outcome.CORRECT], totals[Outcome.WRONG], totals[Outcome.NO_CONSENSUS]),
                        replicas)


__all__ = [
    "BYZANTINE_KINDS",
    "MAX_THEORY_STATES",
    "Z_95",
    "AdaptiveOdds",
    "DrawStates",
    "Interval",
    "Outcome",
    "OutcomeOdds",
    "adaptive_odds",
    "byzantine_count_odds",
    "checked_kind",
    "outcome_odds",
    "outcome_of",
    "wilson_interval",
]
