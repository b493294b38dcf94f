"""Settings files: scenario files and load-test tables, read strictly by one TOML reader."""
from __future__ import annotations

from cipherquorum.settings.load import LoadConfig, Threshold, load_load_scenario, parse_load_table, parse_threshold
from cipherquorum.settings.scenario import (
    ChainConfig,
    FheConfig,
    MarketConfig,
    NodeGroup,
    PopulationConfig,
    Question,
    RunConfig,
    Scenario,
    Study,
    load_scenario,
    parse_scenario,
    parse_wei,
)

__all__ = [
    "ChainConfig",
    "FheConfig",
    "LoadConfig",
    "MarketConfig",
    "NodeGroup",
    "PopulationConfig",
    "Question",
    "RunConfig",
    "Scenario",
    "Study",
    "Threshold",
    "load_load_scenario",
    "load_scenario",
    "parse_load_table",
    "parse_scenario",
    "parse_threshold",
    "parse_wei",
]
