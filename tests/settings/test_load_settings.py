"""The [load] table is read strictly, the ramp shapes the load, and thresholds decide pass or fail."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cipherquorum.exceptions import ScenarioError, ValidationError
from cipherquorum.settings.load import (
    LoadConfig,
    LoadViolation,
    Threshold,
    load_load_scenario,
    load_plan,
    parse_load_table,
    parse_threshold,
)
from cipherquorum.settings.scenario import check_plan, parse_scenario

LOAD_KEYS = ("arrival_rate_per_s, clients, concurrency, inputs_per_task, live_interval_s, ramp_s, replay, "
             "sample_interval_s, tasks, thresholds, timeout_s")
THRESHOLD_KEYS = "failure_rate, min_throughput_per_s, p50_latency_s, p95_latency_s, p99_latency_s"


@pytest.mark.parametrize(("table", "config"), [
    ({}, LoadConfig()),
    ({"tasks": 10, "concurrency": 2}, LoadConfig(tasks=10, concurrency=2)),
    ({"tasks": 10, "arrival_rate_per_s": 1.5, "ramp_s": 4},
     LoadConfig(tasks=10, concurrency=0, arrival_rate_per_s=1.5, ramp_s=4.0)),
    ({"arrival_rate_per_s": 2}, LoadConfig(concurrency=0, arrival_rate_per_s=2.0)),
    ({"timeout_s": 30, "live_interval_s": 0.5, "sample_interval_s": 3, "clients": 64, "inputs_per_task": 1},
     LoadConfig(timeout_s=30.0, live_interval_s=0.5, sample_interval_s=3.0, clients=64, inputs_per_task=1)),
    ({"thresholds": {"p95_latency_s": 3, "failure_rate": 0}},  # thresholds come in THRESHOLDS' order
     LoadConfig(thresholds=(Threshold("p95_latency_s", 3.0), Threshold("failure_rate", 0.0)))),
])
def test_valid_load_tables_set_the_config(table: dict, config: LoadConfig) -> None:
    """A valid [load] table sets what it names; a rate alone means the open model (no concurrency)."""
    assert parse_load_table(table, "x.toml") == config


@pytest.mark.parametrize(("table", "message"), [
    ({"tasks": 10, "concurrency": 0},
     'load.concurrency: set exactly one of "concurrency" and "arrival_rate_per_s" '
     "(got concurrency=0, arrival_rate_per_s=0.0)"),
    ({"tasks": 10, "concurrency": 2, "arrival_rate_per_s": 1},
     'load.concurrency: set exactly one of "concurrency" and "arrival_rate_per_s" '
     "(got concurrency=2, arrival_rate_per_s=1.0)"),
    ({"tasks": 10, "concurrency": 2, "speed": 3}, f"load: unknown field(s): speed (known: {LOAD_KEYS})"),
    ({"concurency": 0}, f"load: unknown field(s): concurency (known: {LOAD_KEYS})"),
    ({"tasks": "10"}, "load.tasks: must be an integer (got str '10')"),
    ({"tasks": 2.5}, "load.tasks: must be an integer (got float 2.5)"),
    ({"ramp_s": True}, "load.ramp_s: must be a number (got True)"),
    ({"tasks": 0}, 'load.tasks: "tasks" must be >= 1 (got tasks=0)'),
    ({"tasks": 10**7}, 'load.tasks: "tasks" must be <= 1000000 (got tasks=10000000)'),
    ({"ramp_s": 10**400}, "load.ramp_s: must be a number a float can hold (got an integer of 1329 bits)"),
    ({"tasks": 16**5000}, "load.tasks: must be at most 2**256 - 1 in size (got an integer of 20001 bits)"),
    ({"clients": 0}, 'load.clients: "clients" must be in 1..64 (got clients=0)'),
    ({"ramp_s": -1}, 'load.ramp_s: "ramp_s" must be a finite number >= 0 (got ramp_s=-1.0)'),
    ({"timeout_s": float("inf")}, 'load.timeout_s: "timeout_s" must be a finite number > 0 (got timeout_s=inf)'),
    ({"thresholds": {"p42": 3}}, f"load.thresholds: unknown field(s): p42 (known: {THRESHOLD_KEYS})"),
    ({"thresholds": {"failure_rate": 2}},
     'load.thresholds.failure_rate: threshold "failure_rate" is a fraction in [0, 1] (got 2.0)'),
    ({"thresholds": {"p95_latency_s": -1}},
     'load.thresholds.p95_latency_s: threshold "p95_latency_s" must be a finite number >= 0 (got -1.0)'),
    ({"thresholds": {"p95_latency_s": "30"}}, "load.thresholds.p95_latency_s: must be a number (got str '30')"),
    ({"thresholds": 3}, "load.thresholds: must be a table (got int 3)"),
    (5, "load: must be a table (got int 5)"),
])
def test_invalid_load_tables_name_file_field_and_value(table: object, message: str) -> None:
    """A bad [load] table is a ScenarioError naming the file, the field path and the value."""
    with pytest.raises(ScenarioError) as caught:
        parse_load_table(table, "x.toml")
    assert str(caught.value) == f"x.toml: {message}"


@pytest.mark.parametrize(("text", "verdict"), [
    ("p95_latency_s=2.5", Threshold("p95_latency_s", 2.5)), ("failure_rate = 0.01", Threshold("failure_rate", 0.01)),
    ("min_throughput_per_s=3", Threshold("min_throughput_per_s", 3.0)), ("p95=1", "NAME among"),
    ("p95_latency_s", "NAME=LIMIT"), ("p95_latency_s=soon", "needs a number"), ("failure_rate=2", "fraction"),
    ("p99_latency_s=-1", ">= 0"), ("p99_latency_s=nan", "finite"),
])
def test_thresholds_parse_from_name_equals_limit(text: str, verdict: Threshold | str) -> None:
    """NAME=LIMIT parses for the known names; anything else is a ValidationError that says what is wrong."""
    if isinstance(verdict, Threshold):
        assert parse_threshold(text) == verdict
    else:
        with pytest.raises(ValidationError, match=verdict):
            parse_threshold(text)


@pytest.mark.parametrize(("make", "field"), [
    (lambda: Threshold("p42", 1), "p42"),
    (lambda: Threshold("failure_rate", 1.5), "failure_rate"),
    (lambda: LoadConfig(tasks=0), "tasks"),
    (lambda: LoadConfig(concurrency=-1, arrival_rate_per_s=1), "concurrency"),
    (lambda: LoadConfig(sample_interval_s=0), "sample_interval_s"),
    (lambda: LoadConfig(tasks=10**7), "tasks"),
])
def test_load_settings_built_in_code_name_the_setting_they_break(make: Callable[[], object], field: str) -> None:
    """A LoadConfig or Threshold built directly (as the CLI's overrides do) raises LoadViolation naming the field."""
    with pytest.raises(LoadViolation) as caught:
        make()
    assert caught.value.field == field and field in str(caught.value)


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


def test_load_scenarios_read_with_or_without_a_load_table(scenario_file: Callable[[str], Path]) -> None:
    """A plain scenario gets the default load; a [load] table in the file sets it."""
    scenario, config = load_load_scenario(scenario_file(""))
    assert config == LoadConfig() and scenario.studies[0].questions[0].programs
    path = scenario_file("[load]\ntasks = 9\narrival_rate_per_s = 1.5\n[load.thresholds]\np95_latency_s = 20\n")
    _, config = load_load_scenario(path)
    assert (config.tasks, config.open_model, config.thresholds) == (9, True, (Threshold("p95_latency_s", 20),))


@pytest.mark.parametrize(("extra", "message"), [
    ("[load]\ninputs_per_task = 5000\n",
     "load.inputs_per_task: \"inputs_per_task\" must be <= the first study's respondents "
     "(got inputs_per_task=5000, respondents=100)"),
    ("[load]\ntasks = 5\nspeed = 3\n", f"load: unknown field(s): speed (known: {LOAD_KEYS})"),
    ("[load]\ntasks = \"five\"\n", "load.tasks: must be an integer (got str 'five')"),
    ("[load.thresholds]\nfailure_rate = true\n", "load.thresholds.failure_rate: must be a number (got True)"),
    ("[load]\ntasks = 5\n[bench]\nruns = 2\n",
     "top level: unknown field(s): bench (known: chain, fhe, market, nodes, population, run, studies)"),
    ("[load\n", "not valid TOML: "),
    ("[load]\ntasks = 1000001\n", 'load.tasks: "tasks" must be <= 1000000 (got tasks=1000001)'),
    ("[load]\nramp_s = 0x" + "f" * 400 + "\n",
     "load.ramp_s: must be a number a float can hold (got an integer of 1600 bits)"),
])
def test_invalid_load_scenario_files_name_file_field_and_value(scenario_file: Callable[[str], Path], extra: str,
                                                               message: str) -> None:
    """A load scenario file with a bad [load] table, or one too big for its study, names the file and the field."""
    path = scenario_file(extra)
    with pytest.raises(ScenarioError) as caught:
        load_load_scenario(path)
    assert str(caught.value).startswith(f"{path}: {message}")


SMALL = {
    "chain": {"fund_wei": "2.02 ether"},
    "nodes": [{"count": 3}],
    "studies": [{"id": "s", "questions": [{"text": "q", "kind": "choice", "options": ["a", "b"]}]}],
}
COUNTS = {**SMALL, "studies": [{"id": "s", "questions": [
    {"text": "q", "kind": "number", "max_value": 100_000, "programs": ["mean@1"]}]}]}


@pytest.mark.parametrize(("document", "config", "message"), [
    (SMALL, LoadConfig(tasks=100, clients=1), "chain.fund_wei: must pay client 0's escrow of 100 tasks x replication 3 "
     "x 10000000000000000 wei = 3000000000000000000 wei and 20000000000000000 wei of gas (got 2020000000000000000)"),
    (SMALL, LoadConfig(tasks=100, clients=4), None),  # 25 tasks a client: 0.75 ether each
    (SMALL, LoadConfig(tasks=66, clients=1), None),  # 1.98 ether of escrow, and 0.02 of gas
    (SMALL, LoadConfig(tasks=67, clients=1), "chain.fund_wei: must pay client 0's escrow of 67 tasks x replication 3 "
     "x 10000000000000000 wei = 2010000000000000000 wei and 20000000000000000 wei of gas (got 2020000000000000000)"),
    (COUNTS, LoadConfig(inputs_per_task=50), "studies[0].questions[0].max_value: mean@1 over 50 answers a task "
     "reaches 5000000 in a result slot, past the plaintext bound 3670016 of fhe.preset 'bfv-2048', where sums wrap "
     "(got max_value=100000, load.inputs_per_task=50)"),
    (COUNTS, LoadConfig(inputs_per_task=20), None),  # 2,000,000 fits, though a run's 100 answers a task would not
])
def test_a_load_test_checks_the_tasks_it_plans(document: dict, config: LoadConfig, message: str | None) -> None:
    """A load test's own tasks are checked (each client's escrows, each task's sums), not those of a run."""
    scenario = parse_scenario(document, "load.toml", check_run=False)
    if message is None:
        check_plan(scenario, load_plan(scenario, config))
    else:
        with pytest.raises(ScenarioError) as caught:
            check_plan(scenario, load_plan(scenario, config))
        assert str(caught.value) == f"load.toml: {message}"


def test_a_run_of_the_same_file_checks_the_tasks_of_the_run() -> None:
    """The question a load test of 20 answers a task can sum is refused for a run, whose tasks take all 100."""
    with pytest.raises(ScenarioError, match=r"mean@1 over 100 answers a task reaches 10000000"):
        parse_scenario(COUNTS, "run.toml")
