"""Fixtures of the settings tests: ``scenario_file(extra)`` writes scenarios/load.toml plus ``extra`` TOML text
to a temporary file and returns its path."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

SCENARIOS = Path(__file__).parents[2] / "scenarios"


@pytest.fixture
def scenario_file(tmp_path: Path) -> Callable[[str], Path]:
    """``scenario_file(extra)``: the path of a copy of scenarios/load.toml with ``extra`` appended."""
    base = (SCENARIOS / "load.toml").read_text(encoding="utf-8")

    def write(extra: str) -> Path:
        path = tmp_path / "scenario.toml"
        path.write_text(base + "\n" + extra, encoding="utf-8")
        return path

    return write
