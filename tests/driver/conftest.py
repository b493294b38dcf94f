"""Fixtures for the driver tests: a small scenario (a market that has run a few tasks is in tests/conftest.py)."""
from __future__ import annotations

import pytest

SMALL_SCENARIO = {
    "run": {"name": "small-load", "seed": "small-load-1"},
    "market": {"replication": 3, "quorum": 2, "commit_window_s": 30, "reveal_window_s": 20, "time_limit_s": 20},
    "population": {"respondents": 12, "shards": 1},
    "nodes": [{"count": 3, "capacity": 4, "stake_wei": "2 ether"}],
    "studies": [{"id": "s", "inputs_per_task": 4, "questions": [
        {"text": "Pick one", "kind": "choice", "options": ["a", "b", "c"], "programs": ["histogram@1"]}]}],
}


@pytest.fixture
def small_scenario():
    """A three-node market scenario, small enough to replay or run in seconds."""
    from cipherquorum.settings.scenario import parse_scenario

    return parse_scenario(SMALL_SCENARIO, "small-load.toml")
