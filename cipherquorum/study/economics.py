"""What a grid point costs and pays: the client's cost per task, each side's profit, and the slash that deters.

``settle`` applies the contract's settlement to one task (winners paid their reward plus an equal share of the
slashed stake, the rest of the escrow and the share remainder refunded, losers slashed). ``expected_economics``
averages it over the exact draw odds; ``measured_economics`` turns a simulation's totals into the same figures.
Profits are per task a node is assigned to, after the gas it spent on that task at the point's gas price.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from cipherquorum.exceptions import ValidationError
from cipherquorum.protocol import BehaviourName
from cipherquorum.study.theory import Outcome, outcome_of


@dataclass(frozen=True)
class MarketPrices:
    """What a task pays each replica, what a losing replica loses, and the price of gas, all in wei."""

    reward_per_node_wei: int
    slash_wei: int
    gas_price_wei: int

    def __post_init__(self) -> None:
        for name in ("reward_per_node_wei", "slash_wei", "gas_price_wei"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValidationError(f'"{name}" must be an int >= 0 (got {name}={value!r})')
        if self.reward_per_node_wei == 0:
            raise ValidationError('"reward_per_node_wei" must be > 0: the contract refuses an empty escrow '
                                  "(got reward_per_node_wei=0)")

    @property
    def slash_ratio(self) -> float:
        """The slash as a multiple of the reward per replica."""
        return self.slash_wei / self.reward_per_node_wei


@dataclass(frozen=True)
class Settlement:
    """How the contract settles one task: the outcome, what each honest and each byzantine replica is credited
    and slashed, and what the client gets back."""

    outcome: Outcome
    honest_credit_wei: int
    honest_slash_wei: int
    cheater_credit_wei: int
    cheater_slash_wei: int
    client_refund_wei: int


def settle(byzantine: int, replication: int, quorum: int, kind: BehaviourName, prices: MarketPrices) -> Settlement:
    """The contract's settlement of a task where ``byzantine`` of the replicas are byzantine and all reveal.

    Every stake is at least the slash (the contract matches no node staking less), so a loser loses exactly
    ``slash_wei``. Raises ValidationError as ``outcome_of`` does.
    """
    outcome = outcome_of(byzantine, replication, quorum, kind)
    reward, slash = prices.reward_per_node_wei, prices.slash_wei
    escrow = reward * replication
    if outcome is Outcome.NO_CONSENSUS:  # every replica revealed: nobody is slashed, the escrow goes back
        return Settlement(outcome, 0, 0, 0, 0, escrow)
    honest = replication - byzantine
    winners = honest if outcome is Outcome.CORRECT else (byzantine if kind is BehaviourName.COLLUDING else 1)
    slashed = (replication - winners) * slash
    bonus = slashed // winners
    refund = escrow - reward * winners + slashed - bonus * winners
    if outcome is Outcome.CORRECT:
        return Settlement(outcome, reward + bonus, 0, 0, slash, refund)
    return Settlement(outcome, 0, slash if honest else 0, reward + bonus, 0, refund)


@dataclass(frozen=True)
class GasPerTask:
    """Mean gas per task: the client's (createTask) and each replica's (its commit and reveal, the last reveal
    finalizing), for the honest and the byzantine replicas."""

    client: float
    honest_replica: float
    cheater_replica: float


@dataclass(frozen=True)
class CheaterOdds:
    """A byzantine replica's odds per task it is assigned to: winning, being slashed, and its bonus factor.

    ``bonus_factor`` is E[losers / winners when its side wins]: each slashed wei of a loser pays the winners
    that share. Profit is then linear in the slash: w * win + slash * (bonus_factor - lose) - gas cost (the
    contract's rounding of the bonus share aside).
    """

    win: float
    lose: float
    bonus_factor: float
    gas_cost_wei: float

    def profit_at(self, slash_ratio: float, reward_wei: int) -> float:
        """Expected profit per task, in wei, when the slash is ``slash_ratio`` times the reward ``reward_wei``."""
        return reward_wei * (self.win + slash_ratio * (self.bonus_factor - self.lose)) - self.gas_cost_wei

    def break_even_ratio(self, reward_wei: int) -> float:
        """The least slash-to-reward ratio at which cheating stops paying (profit <= 0); inf when none does."""
        gain = reward_wei * self.win - self.gas_cost_wei
        if gain <= 0:
            return 0.0
        net_loss_per_ratio = reward_wei * (self.lose - self.bonus_factor)
        return gain / net_loss_per_ratio if net_loss_per_ratio > 0 else math.inf


@dataclass(frozen=True)
class Economics:
    """A grid point's money: the client's cost per task and each side's profit per assigned task, in wei.

    A profit is None when no replica of that side was ever assigned; so is ``break_even_slash_ratio`` (inf when
    no slash makes cheating stop paying).
    """

    client_cost_per_task_wei: float
    honest_profit_per_task_wei: float | None
    cheater_profit_per_task_wei: float | None
    break_even_slash_ratio: float | None


def cheater_odds(count_odds: tuple[float, ...], replication: int, quorum: int, kind: BehaviourName,
                 gas_cost_wei: float) -> CheaterOdds | None:
    """A byzantine replica's odds, weighting each draw by its byzantine replicas; None if none is ever drawn."""
    assigned = sum(chance * b for b, chance in enumerate(count_odds))
    if assigned <= 0:
        return None
    win = lose = bonus = 0.0
    for byzantine, chance in enumerate(count_odds):
        if not byzantine:
            continue
        weight = chance * byzantine / assigned
        outcome = outcome_of(byzantine, replication, quorum, kind)
        if outcome is Outcome.CORRECT:
            lose += weight
        elif outcome is Outcome.WRONG:
            winners = byzantine if kind is BehaviourName.COLLUDING else 1
            win += weight
            bonus += weight * (replication - winners) / winners
    return CheaterOdds(win, lose, bonus, gas_cost_wei)


def expected_economics(count_odds: tuple[float, ...], replication: int, quorum: int, kind: BehaviourName,
                       prices: MarketPrices, gas: GasPerTask) -> Economics:
    """The expected economics of a task under ``count_odds`` (P(k byzantine replicas)), with mean ``gas``."""
    cost = honest_net = cheater_net = honest_seats = cheater_seats = 0.0
    for byzantine, chance in enumerate(count_odds):
        settlement = settle(byzantine, replication, quorum, kind, prices)
        honest = replication - byzantine
        cost += chance * (prices.reward_per_node_wei * replication - settlement.client_refund_wei)
        honest_net += chance * honest * (settlement.honest_credit_wei - settlement.honest_slash_wei)
        cheater_net += chance * byzantine * (settlement.cheater_credit_wei - settlement.cheater_slash_wei)
        honest_seats += chance * honest
        cheater_seats += chance * byzantine
    odds = cheater_odds(count_odds, replication, quorum, kind, gas.cheater_replica * prices.gas_price_wei)
    return Economics(
        cost + gas.client * prices.gas_price_wei,
        honest_net / honest_seats - gas.honest_replica * prices.gas_price_wei if honest_seats > 0 else None,
        cheater_net / cheater_seats - gas.cheater_replica * prices.gas_price_wei if cheater_seats > 0 else None,
        None if odds is None else odds.break_even_ratio(prices.reward_per_node_wei),
    )


@dataclass(frozen=True)
class MoneyTotals:
    """What a simulation counted over its trials: escrow paid in and refunded, each side's credits, slashes,
    gas and seats (assignments)."""

    trials: int
    escrow_wei: int
    refund_wei: int
    client_gas: int
    honest_credit_wei: int
    honest_slash_wei: int
    honest_gas: int
    honest_seats: int
    cheater_credit_wei: int
    cheater_slash_wei: int
    cheater_gas: int
    cheater_seats: int

    @property
    def gas_per_task(self) -> GasPerTask:
        """The mean gas per task of the client and per seat of each side (0 for a side never seated)."""
        return GasPerTask(self.client_gas / max(1, self.trials), self.honest_gas / max(1, self.honest_seats),
                          self.cheater_gas / max(1, self.cheater_seats))


def measured_economics(totals: MoneyTotals, prices: MarketPrices, break_even_slash_ratio: float | None) -> Economics:
    """The economics a simulation measured; the break-even ratio comes from theory (a sweep runs one slash)."""
    if totals.trials <= 0:
        raise ValidationError(f"measured economics need at least one trial (got trials={totals.trials})")
    price = prices.gas_price_wei
    honest = cheater = None
    if totals.honest_seats:
        honest = (totals.honest_credit_wei - totals.honest_slash_wei - totals.honest_gas * price) / totals.honest_seats
    if totals.cheater_seats:
        cheater = ((totals.cheater_credit_wei - totals.cheater_slash_wei - totals.cheater_gas * price)
                   / totals.cheater_seats)
    cost = (totals.escrow_wei - totals.refund_wei + totals.client_gas * price) / totals.trials
    return Economics(cost, honest, cheater, break_even_slash_ratio)


__all__ = [
    "CheaterOdds",
    "Economics",
    "GasPerTask",
    "MarketPrices",
    "MoneyTotals",
    "Settlement",
    "cheater_odds",
    "expected_economics",
    "measured_economics",
    "settle",
]
