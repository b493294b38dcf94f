"""Settings files: scenario files and load-test tables, read strictly by one TOML reader."""
from __future__ import annotations

from cipherquorum.settings.load import (
    LoadConfig,
    LoadViolation,
    Threshold,
    load_load_scenario,
    parse_load_table,
    parse_threshold,
)
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
)
from cipherquorum.settings.toml import TableReader, parse_wei, read_toml_file

__all__ = [
    "ChainConfig",
    "FheConfig",
    "LoadConfig",
    "LoadViolation",
    "MarketConfig",
    "NodeGroup",
    "PopulationConfig",
    "Question",
    "RunConfig",
    "Scenario",
    "Study",
    "TableReader",
    "Threshold",
    "load_load_scenario",
    "load_scenario",
    "parse_load_table",
    "parse_scenario",
    "parse_threshold",
    "parse_wei",
    "read_toml_file",
]
