"""Fixtures for end-to-end runs: scenario paths and a helper that runs a scenario on the shared local Ray."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from cipherquorum.nodes.driver.runner import MarketRun
from cipherquorum.reports.run import RunReport
from cipherquorum.settings.scenario import load_scenario

REPO = Path(__file__).parents[2]
SCENARIOS = REPO / "scenarios"
TEST_SCENARIOS = Path(__file__).parent / "scenarios"


@pytest.fixture
def scenario_path() -> Callable[[str], Path]:
    """``scenario_path(name)``: a shipped scenario (scenarios/NAME.toml) or, failing that, a test scenario."""

    def find(name: str) -> Path:
        shipped = SCENARIOS / f"{name}.toml"
        return shipped if shipped.exists() else TEST_SCENARIOS / f"{name}.toml"

    return find


@pytest.fixture
def run_scenario(ray_runtime, tmp_path: Path) -> Callable[[Path], RunReport]:
    """``run_scenario(path)`` runs a scenario file on the session's Ray with a fresh data directory."""
    counter = iter(range(100))

    def run(path: Path) -> RunReport:
        return MarketRun(load_scenario(path), data_dir=tmp_path / f"data-{next(counter)}").run()

    return run


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess]:
    """``cli(*args)`` runs the installed ``cipherquorum`` command and captures its output, in the environment of a
    fresh shell (without the RAY_AUTH_MODE that this session's own Ray set)."""

    def run(*args: str, timeout_s: float = 300) -> subprocess.CompletedProcess:
        command: Sequence[str] = [sys.executable, "-m", "cipherquorum.cli", *args]
        env = {name: value for name, value in os.environ.items() if name != "RAY_AUTH_MODE"}
        return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout_s,
                              env={**env, "PYTHONUNBUFFERED": "1"})

    return run
