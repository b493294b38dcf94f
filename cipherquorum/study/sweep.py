"""Run a sweep: for every grid point, theory's odds and economics beside what contract-mode trials measured."""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cipherquorum.exceptions import ValidationError
from cipherquorum.study.contract import ContractTrials, MarketSetup, PointTally
from cipherquorum.study.economics import (
    Economics,
    GasPerTask,
    MoneyTotals,
    cheater_odds,
    expected_economics,
    measured_economics,
)
from cipherquorum.study.grid import GridPoint, SweepConfig
from cipherquorum.study.theory import (
    Interval,
    Outcome,
    OutcomeOdds,
    adaptive_odds,
    byzantine_count_odds,
    outcome_odds,
    wilson_interval,
)

REAL_MODE_NEEDS_MARKET = ('mode = "real" runs each grid point on a full market (Ray roles, the devnet, FHE): '
                          "pass run_trials=cipherquorum.nodes.driver.sweep_real trials, as `cipherquorum sweep` does")

TrialRunner = Callable[[GridPoint, MarketSetup], PointTally]
"""Runs a grid point's trials on a market set up as ``MarketSetup`` says and tallies them."""


def contract_trials(point: GridPoint, setup: MarketSetup) -> PointTally:
    """The point's trials in contract mode: the TaskMarket bytecode in an in-process EVM, synthetic votes."""
    return ContractTrials(point.registry, setup).run(point.trials)


@dataclass(frozen=True)
class PointResult:
    """One grid point's figures: theory's odds, the trials' counts and Wilson intervals, and the economics.

    ``cheater_profit_by_ratio`` pairs slash-to-reward ratios with theory's expected cheater profit (wei) at
    each; it is empty when no byzantine replica is ever drawn. An adaptive point's theory is ``adaptive_odds``'s
    (``theory_mean_replicas`` the replicas it expects); it has no economics theory (``economics_theory`` None, no
    curve). ``mean_replicas`` is what the trials' tasks used. ``theory`` None means "no theory": nothing judged.
    """

    point: GridPoint
    theory: OutcomeOdds | None
    byzantine_odds: tuple[float, ...]
    counts: Mapping[Outcome, int]
    intervals: Mapping[Outcome, Interval]
    byzantine_histogram: tuple[int, ...]
    below_quorum_trials: int
    wrong_below_quorum: int
    money: MoneyTotals
    gas: GasPerTask
    economics_theory: Economics | None
    economics_measured: Economics
    cheater_profit_by_ratio: tuple[tuple[float, float], ...]
    seconds: float
    mean_replicas: float = 0.0
    theory_mean_replicas: float | None = None

    @property
    def trials(self) -> int:
        """How many trials the point ran."""
        return sum(self.counts.values())

    def simulated(self, outcome: Outcome) -> float:
        """The share of trials that ended in ``outcome``."""
        return self.counts.get(outcome, 0) / self.trials

    def agrees(self, outcome: Outcome) -> bool:
        """Whether theory's probability of ``outcome`` lies in the trials' Wilson 95% interval (True for a point
        without theory: nothing is judged there)."""
        return self.theory is None or self.intervals[outcome].contains(self.theory.of(outcome))

    @property
    def trials_per_s(self) -> float:
        """Trials a second at this point (in the mode it ran)."""
        return self.trials / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class SweepResult:
    """Every point of a sweep, and what holds across them."""

    config: SweepConfig
    points: tuple[PointResult, ...]
    seconds: float

    @property
    def trials(self) -> int:
        """Trials over all points."""
        return sum(point.trials for point in self.points)

    @property
    def below_quorum_trials(self) -> int:
        """Trials whose byzantine replicas were fewer than the quorum."""
        return sum(point.below_quorum_trials for point in self.points)

    @property
    def wrong_below_quorum(self) -> int:
        """Of those, the trials that accepted a wrong result (the contract's safety says none)."""
        return sum(point.wrong_below_quorum for point in self.points)

    def disagreements(self) -> list[tuple[PointResult, Outcome]]:
        """The (point, outcome) pairs whose theory lies outside the trials' 95% interval."""
        return [(point, outcome) for point in self.points for outcome in (Outcome.WRONG, Outcome.NO_CONSENSUS)
                if not point.agrees(outcome)]

    @property
    def judged_points(self) -> int:
        """The points that have theory to judge (adaptive points without it are skipped)."""
        return sum(point.theory is not None for point in self.points)

    @property
    def trials_per_s(self) -> float:
        """Trials a second over the whole sweep (setup included)."""
        return self.trials / self.seconds if self.seconds > 0 else 0.0


def run_point(point: GridPoint, config: SweepConfig, ratios: tuple[float, ...],
              run_trials: TrialRunner = contract_trials) -> PointResult:
    """Run one grid point's trials (contract mode by default) and set theory beside them."""
    setup = MarketSetup(point.seed, point.replication, point.quorum, point.kind, config.prices, config.min_stake_wei,
                        point.max_replication)
    tally = run_trials(point, setup)
    counts = {outcome: tally.outcomes.get(outcome, 0) for outcome in Outcome}
    intervals = {outcome: wilson_interval(count, tally.trials) for outcome, count in counts.items()}
    money = tally.money_totals
    gas = money.gas_per_task
    if point.max_replication is not None:
        adaptive = adaptive_odds(point.registry, point.replication, point.max_replication, point.quorum, point.kind)
        return PointResult(
            point, adaptive.odds, (), counts, intervals, tuple(tally.byzantine_histogram), tally.below_quorum_trials,
            tally.wrong_below_quorum, money, gas, None, measured_economics(money, config.prices, None), (),
            tally.seconds, tally.mean_replicas, adaptive.mean_replicas)
    odds = byzantine_count_odds(point.registry, point.replication)[point.replication]
    theory = outcome_odds(odds, point.replication, point.quorum, point.kind)
    expected = expected_economics(odds, point.replication, point.quorum, point.kind, config.prices, gas)
    reward = config.prices.reward_per_node_wei
    cheater = cheater_odds(odds, point.replication, point.quorum, point.kind,
                           gas.cheater_replica * config.prices.gas_price_wei)
    curve = () if cheater is None else tuple((ratio, cheater.profit_at(ratio, reward)) for ratio in ratios)
    return PointResult(
        point, theory, odds, counts, intervals, tuple(tally.byzantine_histogram), tally.below_quorum_trials,
        tally.wrong_below_quorum, money, gas, expected,
        measured_economics(money, config.prices, expected.break_even_slash_ratio), curve, tally.seconds,
        tally.mean_replicas)


def run_sweep(config: SweepConfig, on_point: Callable[[PointResult, int, int], None] | None = None,
              run_trials: TrialRunner | None = None) -> SweepResult:
    """Run every grid point of ``config``; ``on_point(result, done, total)`` hears of each as it finishes.

    Contract mode runs in this process; mode "real" needs ``run_trials``, the market driver's (this library
    starts no roles). Raises ValidationError for mode "real" without it.
    """
    if config.mode == "real" and run_trials is None:
        raise ValidationError(REAL_MODE_NEEDS_MARKET)
    if config.mode == "real":
        adaptive = [line.name for line in config.lines if line.adaptive]
        if adaptive:
            raise ValidationError(f"adaptive grid lines run in contract mode only (got mode=\"real\" with adaptive "
                                  f"line {adaptive[0]!r})")
    runner = run_trials if run_trials is not None else contract_trials
    started = time.perf_counter()
    results = []
    total = config.size
    for point in config.points():
        result = run_point(point, config, config.slash_ratios, runner)
        results.append(result)
        if on_point is not None:
            on_point(result, len(results), total)
    return SweepResult(config, tuple(results), time.perf_counter() - started)


__all__ = ["REAL_MODE_NEEDS_MARKET", "PointResult", "SweepResult", "TrialRunner", "contract_trials", "run_point",
           "run_sweep"]
