"""Theory of the contract's draw: exact odds of the byzantine replica count, outcomes, and Wilson intervals."""
from __future__ import annotations

import itertools
import math

import pytest

from cipherquorum.exceptions import ValidationError
from cipherquorum.protocol import BehaviourName
from cipherquorum.study import Outcome, Registry, byzantine_count_odds, outcome_odds, wilson_interval
from cipherquorum.study.theory import outcome_of

COLLUDING, WRONG = BehaviourName.COLLUDING, BehaviourName.WRONG


def test_equal_stakes_draw_the_hypergeometric_odds(equal_registry) -> None:
    """With equal stakes the stake-weighted draw without replacement is the hypergeometric distribution."""
    nodes, bad, draws = 20, 6, 7
    odds = byzantine_count_odds(equal_registry(nodes, bad), draws)
    for d in range(draws + 1):
        expected = [math.comb(bad, k) * math.comb(nodes - bad, d - k) / math.comb(nodes, d) for k in range(d + 1)]
        assert odds[d] == pytest.approx(expected, abs=1e-12)


def test_unequal_stakes_match_brute_force_over_every_ordered_draw() -> None:
    """With distinct stakes the recursion equals the sum over every ordered draw of its successive-sampling odds."""
    stakes = (3, 5, 7, 11, 13, 2)
    byzantine = (True, False, True, False, False, True)
    registry = Registry(stakes, byzantine)
    draws = 3
    brute = [0.0] * (draws + 1)
    for order in itertools.permutations(range(len(stakes)), draws):
        chance, left = 1.0, sum(stakes)
        for index in order:
            chance *= stakes[index] / left
            left -= stakes[index]
        brute[sum(byzantine[i] for i in order)] += chance
    assert byzantine_count_odds(registry, draws)[draws] == pytest.approx(brute, abs=1e-12)


@pytest.mark.parametrize("draws", [-1, 7, True, 2.0])
def test_more_draws_than_nodes_are_refused(equal_registry, draws) -> None:
    """The odds need a whole number of draws from 0 to the number of nodes; the error names the value."""
    with pytest.raises(ValidationError, match="draws"):
        byzantine_count_odds(equal_registry(6, 1), draws)


@pytest.mark.parametrize(("byzantine", "replication", "quorum", "kind", "outcome"), [
    (0, 1, 1, COLLUDING, Outcome.CORRECT),
    (1, 1, 1, WRONG, Outcome.WRONG),
    (1, 3, 2, COLLUDING, Outcome.CORRECT),
    (2, 3, 2, COLLUDING, Outcome.WRONG),
    (2, 3, 2, WRONG, Outcome.NO_CONSENSUS),
    (3, 3, 2, WRONG, Outcome.NO_CONSENSUS),
    (1, 2, 2, COLLUDING, Outcome.NO_CONSENSUS),
    (2, 4, 3, COLLUDING, Outcome.NO_CONSENSUS),
    (3, 5, 5, COLLUDING, Outcome.NO_CONSENSUS),
    (5, 5, 5, COLLUDING, Outcome.WRONG),
])
def test_the_tally_outcome_follows_from_the_byzantine_count(byzantine, replication, quorum, kind, outcome) -> None:
    """The outcome of a task where every replica reveals depends only on how many are byzantine, and how."""
    assert outcome_of(byzantine, replication, quorum, kind) is outcome


@pytest.mark.parametrize(("byzantine", "replication", "quorum", "kind", "message"), [
    (4, 3, 2, COLLUDING, "byzantine=4"),
    (1, 4, 2, COLLUDING, "quorum=2"),
    (0, 3, 4, COLLUDING, "quorum=4"),
    (0, 3, 2, BehaviourName.LAZY, "byzantine_kind"),
])
def test_impossible_tallies_are_refused(byzantine, replication, quorum, kind, message) -> None:
    """A count above the replication, a quorum that is no majority or a kind that does not vote is refused."""
    with pytest.raises(ValidationError, match=message):
        outcome_of(byzantine, replication, quorum, kind)


def test_outcome_odds_add_up_to_one(equal_registry) -> None:
    """The odds of correct, wrong and no consensus sum to one at every (r, q) and kind."""
    odds = byzantine_count_odds(equal_registry(20, 8), 7)
    for replication in range(1, 8):
        for kind in (COLLUDING, WRONG):
            result = outcome_odds(odds[replication], replication, replication // 2 + 1, kind)
            assert result.correct + result.wrong + result.no_consensus == pytest.approx(1.0)


@pytest.mark.parametrize(("successes", "trials", "low", "high"), [
    (0, 10, 0.0, 0.27753),
    (5, 10, 0.23659, 0.76341),
    (10, 10, 0.72247, 1.0),
    (1, 100, 0.00177, 0.05449),
    (0, 0, 0.0, 1.0),
])
def test_wilson_interval_matches_published_values(successes, trials, low, high) -> None:
    """The Wilson 95% interval of a few proportions, as tabulated (Newcombe 1998) to five decimals."""
    interval = wilson_interval(successes, trials)
    assert (interval.low, interval.high) == pytest.approx((low, high), abs=1e-5)


@pytest.mark.parametrize(("successes", "trials"), [(-1, 10), (11, 10), (True, 10)])
def test_wilson_interval_refuses_impossible_counts(successes, trials) -> None:
    """A proportion needs 0 <= successes <= trials; the error names both."""
    with pytest.raises(ValidationError, match="successes"):
        wilson_interval(successes, trials)
