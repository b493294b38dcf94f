"""The [load] table is read strictly, the ramp shapes the load, and thresholds decide pass or fail."""
from __future__ import annotations

from pathlib import Path

import pytest

from cipherquorum.exceptions import ScenarioError, ValidationError
from cipherquorum.settings.load import LoadConfig, Threshold, load_load_scenario, parse_load_table, parse_threshold

REPO = Path(__file__).parents[2]


@pytest.mark.parametrize("table, message", [
    ({"tasks": 10, "concurrency": 2}, None),
    ({"tasks": 10, "arrival_rate_per_s": 1.5, "ramp_s": 4}, None),
    ({}, None),
    ({"arrival_rate_per_s": 2.0}, None),
    ({"tasks": 10, "concurrency": 0}, "exactly one of concurrency and arrival_rate_per_s"),
    ({"tasks": 10, "concurrency": 2, "arrival_rate_per_s": 1}, "exactly one"),
    ({"tasks": 10, "concurrency": 2, "speed": 3}, "unknown field.*speed"),
    ({"tasks": "10", "concurrency": 2}, "load.tasks: must be a number"),
    ({"tasks": 0, "concurrency": 2}, '"tasks" must be >= 1'),
    ({"tasks": 5, "concurrency": 2, "clients": 0}, '"clients" must be in 1..64'),
    ({"tasks": 5, "concurrency": 2, "thresholds": {"p95_latency_s": 3}}, None),
    ({"tasks": 5, "concurrency": 2, "thresholds": {"p42": 3}}, "NAME among"),
])
def test_load_table_is_read_strictly(table, message) -> None:
    """Valid tables give a LoadConfig; a bad one is a ScenarioError naming the file, the field and the value."""
    if message is None:
        assert isinstance(parse_load_table(table, "x.toml"), LoadConfig)
    else:
        with pytest.raises(ScenarioError, match=message):
            parse_load_table(table, "x.toml")


@pytest.mark.parametrize("text, verdict", [
    ("p95_latency_s=2.5", Threshold("p95_latency_s", 2.5)), ("failure_rate = 0.01", Threshold("failure_rate", 0.01)),
    ("min_throughput_per_s=3", Threshold("min_throughput_per_s", 3.0)), ("p95=1", "NAME among"),
    ("p95_latency_s", "NAME=LIMIT"), ("p95_latency_s=soon", "needs a number"), ("failure_rate=2", "fraction"),
    ("p99_latency_s=-1", ">= 0"),
])
def test_thresholds_parse_from_name_equals_limit(text, verdict) -> None:
    """NAME=LIMIT parses for the known names; anything else is a ValidationError that says what is wrong."""
    if isinstance(verdict, Threshold):
        assert parse_threshold(text) == verdict
    else:
        with pytest.raises(ValidationError, match=verdict):
            parse_threshold(text)


def test_latency_thresholds_are_ceilings_and_throughput_a_floor() -> None:
    """A latency or failure threshold fails above its limit, a throughput threshold below it."""
    assert Threshold("p95_latency_s", 2).passes(2) and not Threshold("p95_latency_s", 2).passes(2.01)
    assert Threshold("min_throughput_per_s", 2).passes(2.5) and not Threshold("min_throughput_per_s", 2).passes(1)
    assert Threshold("failure_rate", 0).describe() == "failure_rate <= 0"


def test_closed_model_ramps_its_concurrency() -> None:
    """In flight grows linearly from 1 to the concurrency over the ramp, then stays there."""
    config = LoadConfig(tasks=100, concurrency=10, ramp_s=10)
    assert [config.allowed_in_flight(t) for t in (0, 1, 5, 10, 60)] == [1, 1, 5, 10, 10]
    assert LoadConfig(tasks=5, concurrency=3, ramp_s=0).allowed_in_flight(0) == 3


def test_open_model_starts_tasks_at_the_ramped_rate() -> None:
    """Started tasks follow the integral of a rate that ramps linearly, capped at the number of tasks."""
    config = LoadConfig(tasks=1000, concurrency=0, arrival_rate_per_s=4, ramp_s=10)
    assert config.arrivals_by(0) == 1
    assert config.arrivals_by(10) == 1 + 20  # half the full rate on average over the ramp
    assert config.arrivals_by(20) == 1 + 60
    assert LoadConfig(tasks=7, concurrency=0, arrival_rate_per_s=100).arrivals_by(60) == 7


def test_load_scenarios_read_with_or_without_a_load_table(tmp_path: Path) -> None:
    """A plain scenario gets the default load; a [load] table sets it; more inputs than answers is refused."""
    scenario, config = load_load_scenario(REPO / "scenarios" / "load.toml")
    assert config == LoadConfig() and scenario.studies[0].questions[0].programs
    text = (REPO / "scenarios" / "load.toml").read_text()
    (tmp_path / "rate.toml").write_text(text + "\n[load]\ntasks = 9\narrival_rate_per_s = 1.5\n"
                                        "[load.thresholds]\np95_latency_s = 20\n")
    _, config = load_load_scenario(tmp_path / "rate.toml")
    assert (config.tasks, config.open_model, config.thresholds) == (9, True, (Threshold("p95_latency_s", 20),))
    (tmp_path / "big.toml").write_text(text + "\n[load]\ninputs_per_task = 5000\n")
    with pytest.raises(ScenarioError, match="inputs_per_task"):
        load_load_scenario(tmp_path / "big.toml")
