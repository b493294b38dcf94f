"""Load-test settings: the ``[load]`` table of a scenario file, and the thresholds that set the exit code."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from cipherquorum.exceptions import ValidationError
from cipherquorum.settings.scenario import PlannedTasks, Scenario, check_plan, parse_scenario
from cipherquorum.settings.toml import TableReader, field_error, read_toml_file

THRESHOLDS: dict[str, str] = {
    "p50_latency_s": "max",
    "p95_latency_s": "max",
    "p99_latency_s": "max",
    "failure_rate": "max",
    "min_throughput_per_s": "min",
}
"""Thresholds a load test can set, and whether each is an upper ("max") or a lower ("min") bound."""

MAX_LOAD_TASKS = 1_000_000
"""Most tasks a load test runs: it plans every task, inputs and reference, before the first one starts."""


class LoadViolation(ValidationError):
    """Load settings that break a rule; ``field`` names the setting (as TermsViolation does for task terms)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Threshold:
    """One pass/fail rule on a load test's result, such as p95_latency_s <= 30.

    Raises LoadViolation (naming the threshold) for an unknown name or a limit out of its range.
    """

    name: str
    limit: float

    def __post_init__(self) -> None:
        if self.name not in THRESHOLDS:
            raise LoadViolation(self.name, f"unknown threshold {self.name!r} (known: {', '.join(THRESHOLDS)})")
        if not math.isfinite(self.limit) or self.limit < 0:
            raise LoadViolation(self.name, f'threshold "{self.name}" must be a finite number >= 0 '
                                f"(got {self.limit})")
        if self.name == "failure_rate" and self.limit > 1:
            raise LoadViolation(self.name, f'threshold "failure_rate" is a fraction in [0, 1] (got {self.limit})')

    @property
    def bound(self) -> str:
        """"max" when the measured value must not exceed the limit, "min" when it must not fall below it."""
        return THRESHOLDS[self.name]

    def passes(self, value: float) -> bool:
        """Whether ``value`` keeps to this threshold."""
        return value <= self.limit if self.bound == "max" else value >= self.limit

    def describe(self) -> str:
        """The rule as a person writes it: ``p95_latency_s <= 30``."""
        return f"{self.name} {'<=' if self.bound == 'max' else '>='} {self.limit:g}"


@dataclass(frozen=True)
class LoadConfig:
    """How a load test drives the market.

    Either ``concurrency`` (a closed model: at most that many tasks in flight) or ``arrival_rate_per_s`` (an
    open model: tasks started per second whatever is in flight) is set. Both ramp up linearly from zero over
    ``ramp_s``. ``clients`` logical clients, each with its own account and keys, share the tasks. Every task
    aggregates ``inputs_per_task`` answers to the first question of the scenario's first study, with that
    question's first program.
    """

    tasks: int = 60
    concurrency: int = 12
    arrival_rate_per_s: float = 0.0
    ramp_s: float = 5.0
    clients: int = 3
    inputs_per_task: int = 20
    live_interval_s: float = 1.0
    sample_interval_s: float = 2.0
    timeout_s: float = 600.0
    thresholds: tuple[Threshold, ...] = field(default_factory=tuple)
    replay: bool = True
    """After the test, replay its tasks on a fresh chain of the same kind for the chain's ceiling."""

    def __post_init__(self) -> None:
        """Raise LoadViolation naming the setting and its value if one breaks its rule."""
        _check(self.tasks >= 1, "tasks", "must be >= 1", self.tasks)
        _check(self.tasks <= MAX_LOAD_TASKS, "tasks", f"must be <= {MAX_LOAD_TASKS}", self.tasks)
        if (self.concurrency > 0) == (self.arrival_rate_per_s > 0):
            raise LoadViolation("concurrency", 'set exactly one of "concurrency" and "arrival_rate_per_s" '
                                f"(got concurrency={self.concurrency}, arrival_rate_per_s={self.arrival_rate_per_s})")
        _check(self.concurrency >= 0, "concurrency", "must be >= 0", self.concurrency)
        _check(self.arrival_rate_per_s >= 0 and math.isfinite(self.arrival_rate_per_s), "arrival_rate_per_s",
               "must be a finite number >= 0", self.arrival_rate_per_s)
        _check(self.ramp_s >= 0 and math.isfinite(self.ramp_s), "ramp_s", "must be a finite number >= 0",
               self.ramp_s)
        _check(1 <= self.clients <= 64, "clients", "must be in 1..64", self.clients)
        _check(self.inputs_per_task >= 1, "inputs_per_task", "must be >= 1", self.inputs_per_task)
        for name in ("live_interval_s", "sample_interval_s", "timeout_s"):
            value = getattr(self, name)
            _check(value > 0 and math.isfinite(value), name, "must be a finite number > 0", value)

    @property
    def open_model(self) -> bool:
        """True when tasks arrive at a rate rather than keeping a number in flight."""
        return self.arrival_rate_per_s > 0

    def allowed_in_flight(self, elapsed_s: float) -> int:
        """The closed model's limit on tasks in flight ``elapsed_s`` into the test (at least 1)."""
        share = 1.0 if self.ramp_s <= 0 else min(1.0, elapsed_s / self.ramp_s)
        return max(1, math.ceil(self.concurrency * share))

    def arrivals_by(self, elapsed_s: float) -> int:
        """How many tasks the open model has started ``elapsed_s`` into the test (the rate ramps up linearly)."""
        t = max(0.0, elapsed_s)
        rate = self.arrival_rate_per_s
        if self.ramp_s > 0 and t < self.ramp_s:
            started = rate * t * t / (2 * self.ramp_s)
        else:
            started = rate * (self.ramp_s / 2 + t - self.ramp_s) if self.ramp_s > 0 else rate * t
        return min(self.tasks, 1 + math.floor(started))


def _check(ok: bool, name: str, rule: str, value: object) -> None:
    if not ok:
        raise LoadViolation(name, f'"{name}" {rule} (got {name}={value})')


def parse_threshold(text: str) -> Threshold:
    """Parse ``NAME=LIMIT`` (e.g. ``p95_latency_s=30``); raises ValidationError naming the known thresholds."""
    name, sep, limit = text.partition("=")
    name = name.strip()
    if not sep or name not in THRESHOLDS:
        raise ValidationError(f"a threshold is NAME=LIMIT with NAME among {', '.join(THRESHOLDS)} (got {text!r})")
    try:
        value = float(limit)
    except ValueError:
        raise ValidationError(f"threshold {name} needs a number (got {limit.strip()!r})") from None
    return Threshold(name, value)


def parse_load_table(table: object, source: str) -> LoadConfig:
    """Build a LoadConfig from a ``[load]`` table; raises ScenarioError naming the file, the field and the value."""
    reader = TableReader(source, "load", table)
    default_concurrency = 0 if reader.has("arrival_rate_per_s") else LoadConfig.concurrency  # a rate: open model
    try:
        config = LoadConfig(
            tasks=reader.integer("tasks", LoadConfig.tasks),
            concurrency=reader.integer("concurrency", default_concurrency),
            arrival_rate_per_s=reader.number("arrival_rate_per_s", LoadConfig.arrival_rate_per_s),
            ramp_s=reader.number("ramp_s", LoadConfig.ramp_s),
            clients=reader.integer("clients", LoadConfig.clients),
            inputs_per_task=reader.integer("inputs_per_task", LoadConfig.inputs_per_task),
            live_interval_s=reader.number("live_interval_s", LoadConfig.live_interval_s),
            sample_interval_s=reader.number("sample_interval_s", LoadConfig.sample_interval_s),
            timeout_s=reader.number("timeout_s", LoadConfig.timeout_s),
            thresholds=reader.section("thresholds", _read_thresholds),
            replay=reader.boolean("replay", LoadConfig.replay),
        )
    except LoadViolation as exc:
        reader.finish()  # a misspelt key explains a broken rule better than the rule does
        raise reader.error(str(exc), exc.field) from None
    reader.finish()
    return config


def _read_thresholds(reader: TableReader) -> tuple[Threshold, ...]:
    thresholds = []
    for name in THRESHOLDS:
        if reader.has(name):
            limit = reader.number(name)
            try:
                thresholds.append(Threshold(name, limit))
            except LoadViolation as exc:
                raise reader.error(str(exc), name) from None
    return tuple(thresholds)


def load_load_scenario(path: str | Path) -> tuple[Scenario, LoadConfig]:
    """Read a scenario file and its optional ``[load]`` table (LoadConfig's defaults without one).

    Raises ScenarioError naming the file, the field and the value. (A file with a ``[load]`` table is a load
    scenario only: ``cipherquorum run`` refuses the unknown table.)
    """
    document, source = read_toml_file(path)
    config = parse_load_table(document.pop("load", {}), source)
    scenario = parse_scenario(document, source, check_run=False)
    limit = scenario.respondents_of(scenario.studies[0])
    if config.inputs_per_task > limit:
        raise field_error(source, "load.inputs_per_task", f'"inputs_per_task" must be <= the first study\'s '
                          f"respondents (got inputs_per_task={config.inputs_per_task}, respondents={limit})")
    check_plan(scenario, load_plan(scenario, config))
    return scenario, config


def load_plan(scenario: Scenario, config: LoadConfig) -> list[PlannedTasks]:
    """The tasks a load test creates: ``config.tasks`` in turn over its clients, each over inputs_per_task
    answers to the first question of the first study, with that question's first program."""
    program = scenario.studies[0].questions[0].programs[0]
    return [PlannedTasks(client, 0, 0, program, config.inputs_per_task,
                         (config.tasks - client + config.clients - 1) // config.clients, "load.inputs_per_task")
            for client in range(config.clients)]


__all__ = [
    "MAX_LOAD_TASKS",
    "THRESHOLDS",
    "LoadConfig",
    "LoadViolation",
    "Threshold",
    "load_load_scenario",
    "load_plan",
    "parse_load_table",
    "parse_threshold",
]
