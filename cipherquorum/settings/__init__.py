"""Settings files: scenario files and load-test tables, read strictly by one TOML reader."""
from __future__ import annotations

from cipherquorum.settings.load import (
    LoadConfig,
    LoadViolation,
    Threshold,
    load_load_scenario,
    load_plan,
    parse_load_table,
    parse_threshold,
)
from cipherquorum.settings.scenario import (
    ChainConfig,
    FheConfig,
    MarketConfig,
    NodeGroup,
    PlannedTasks,
    PopulationConfig,
    Question,
    RunConfig,
    Scenario,
    Study,
    check_plan,
    load_scenario,
    parse_scenario,
    run_plan,
)
from cipherquorum.settings.toml import TableReader, describe_value, parse_wei, read_toml_file

__all__ = [
    "ChainConfig",
    "FheConfig",
    "LoadConfig",
    "LoadViolation",
    "MarketConfig",
    "NodeGroup",
    "PlannedTasks",
    "PopulationConfig",
    "Question",
    "RunConfig",
    "Scenario",
    "Study",
    "TableReader",
    "Threshold",
    "check_plan",
    "describe_value",
    "load_load_scenario",
    "load_plan",
    "load_scenario",
    "parse_load_table",
    "parse_scenario",
    "parse_threshold",
    "parse_wei",
    "read_toml_file",
    "run_plan",
]
