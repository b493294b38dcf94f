"""Economics of a grid point: the contract's settlement, expected costs and profits, the break-even slash."""
from __future__ import annotations

import math

import pytest

from cipherquorum.exceptions import ValidationError
from cipherquorum.protocol import BehaviourName
from cipherquorum.study import GasPerTask, MarketPrices, Outcome, byzantine_count_odds, expected_economics, settle
from cipherquorum.study.economics import CheaterOdds, cheater_odds

COLLUDING, WRONG = BehaviourName.COLLUDING, BehaviourName.WRONG
W, S = 10**16, 10**17
NO_GAS = GasPerTask(0.0, 0.0, 0.0)


@pytest.mark.parametrize(("byzantine", "replication", "quorum", "kind", "expected"), [
    # one colluder of three loses its slash; each of the two winners gets the reward and half of it
    (1, 3, 2, COLLUDING, (Outcome.CORRECT, W + S // 2, 0, 0, S, 3 * W - 2 * W)),
    # two colluders win: each gets the reward and half the honest node's slash
    (2, 3, 2, COLLUDING, (Outcome.WRONG, 0, S, W + S // 2, 0, W)),
    # no consensus: nobody is slashed, the whole escrow goes back
    (2, 3, 2, WRONG, (Outcome.NO_CONSENSUS, 0, 0, 0, 0, 3 * W)),
    # a lone wrong replica is the result
    (1, 1, 1, WRONG, (Outcome.WRONG, 0, 0, W, 0, 0)),
    # three winners share two slashes: the wei the share cannot split goes to the client
    (2, 5, 3, COLLUDING, (Outcome.CORRECT, W + (2 * S) // 3, 0, 0, S, 2 * W + 2 * S - 3 * ((2 * S) // 3))),
])
def test_settlement_follows_the_contract(byzantine, replication, quorum, kind, expected) -> None:
    """Winners get the reward plus an equal share of the slashed stake; the client the rest of the escrow."""
    result = settle(byzantine, replication, quorum, kind, MarketPrices(W, S, 0))
    assert (result.outcome, result.honest_credit_wei, result.honest_slash_wei, result.cheater_credit_wei,
            result.cheater_slash_wei, result.client_refund_wei) == expected


@pytest.mark.parametrize(("reward", "slash", "gas_price", "message"), [
    (0, S, 0, "reward_per_node_wei"),
    (-1, S, 0, "reward_per_node_wei"),
    (W, -1, 0, "slash_wei"),
    (W, S, 1.5, "gas_price_wei"),
])
def test_market_prices_refuse_bad_values(reward, slash, gas_price, message) -> None:
    """Prices are whole wei >= 0 and the reward positive; the error names the price."""
    with pytest.raises(ValidationError, match=message):
        MarketPrices(reward, slash, gas_price)


def test_cheating_stops_paying_at_the_break_even_ratio(equal_registry) -> None:
    """At the break-even slash ratio a colluder's expected profit is zero; above it negative, below positive."""
    odds = byzantine_count_odds(equal_registry(20, 6), 5)[5]
    cheater = cheater_odds(odds, 5, 3, COLLUDING, gas_cost_wei=10**14)
    assert cheater is not None
    ratio = cheater.break_even_ratio(W)
    assert 0 < ratio < math.inf
    assert cheater.profit_at(ratio, W) == pytest.approx(0.0, abs=1.0)
    assert cheater.profit_at(ratio * 1.1, W) < 0 < cheater.profit_at(ratio * 0.9, W)


@pytest.mark.parametrize(("odds", "expected"), [
    (CheaterOdds(win=0.2, lose=0.0, bonus_factor=0.0, gas_cost_wei=0.0), math.inf),  # never slashed: never stops
    (CheaterOdds(win=0.0, lose=0.5, bonus_factor=0.0, gas_cost_wei=1.0), 0.0),  # never wins: never pays
    (CheaterOdds(win=0.25, lose=0.5, bonus_factor=0.0, gas_cost_wei=0.0), 0.5),
])
def test_break_even_ratio_edge_cases(odds, expected) -> None:
    """A cheater never slashed always profits; one that never wins never does; else the linear root."""
    assert odds.break_even_ratio(W) == expected


def test_expected_economics_without_byzantine_nodes_pay_every_honest_replica(equal_registry) -> None:
    """With no byzantine node every task completes: the client pays r rewards, an honest replica earns one."""
    odds = byzantine_count_odds(equal_registry(10, 0), 3)[3]
    economics = expected_economics(odds, 3, 2, COLLUDING, MarketPrices(W, S, 0), NO_GAS)
    assert economics.client_cost_per_task_wei == pytest.approx(3 * W)
    assert economics.honest_profit_per_task_wei == pytest.approx(W)
    assert economics.cheater_profit_per_task_wei is None
    assert economics.break_even_slash_ratio is None
