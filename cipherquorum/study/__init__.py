"""The PoE safety-and-cost study: theory of the contract's draw, economics, the sweep grid and contract-mode trials."""
from __future__ import annotations

from cipherquorum.study.contract import ContractTrials, MarketSetup, PointTally, Trial
from cipherquorum.study.economics import Economics, GasPerTask, MarketPrices, MoneyTotals, expected_economics, settle
from cipherquorum.study.grid import GridLine, GridPoint, SweepConfig, load_sweep, parse_override, parse_sweep
from cipherquorum.study.registry import Registry
from cipherquorum.study.sweep import PointResult, SweepResult, run_point, run_sweep
from cipherquorum.study.theory import (
    Interval,
    Outcome,
    OutcomeOdds,
    byzantine_count_odds,
    outcome_odds,
    wilson_interval,
)

__all__ = [
    "ContractTrials",
    "Economics",
    "GasPerTask",
    "GridLine",
    "GridPoint",
    "Interval",
    "MarketPrices",
    "MarketSetup",
    "MoneyTotals",
    "Outcome",
    "OutcomeOdds",
    "PointResult",
    "PointTally",
    "Registry",
    "SweepConfig",
    "SweepResult",
    "Trial",
    "byzantine_count_odds",
    "expected_economics",
    "load_sweep",
    "outcome_odds",
    "parse_override",
    "parse_sweep",
    "run_point",
    "run_sweep",
    "settle",
    "wilson_interval",
]
