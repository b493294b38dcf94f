"""Load-test settings: the ``[load]`` table of a scenario file, and the thresholds that set the exit code."""
from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cipherquorum.exceptions import ScenarioError, ValidationError
from cipherquorum.settings.scenario import Scenario, parse_scenario

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

THRESHOLDS: dict[str, str] = {
    "p50_latency_s": "max",
    "p95_latency_s": "max",
    "p99_latency_s": "max",
    "failure_rate": "max",
    "min_throughput_per_s": "min",
}
"""Thresholds a load test can set, and whether each is an upper ("max") or a lower ("min") bound."""


@dataclass(frozen=True)
class Threshold:
    """One pass/fail rule on a load test's result, such as p95_latency_s <= 30."""

    name: str
    limit: float

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

    def __post_init__(self) -> None:
        _check(self.tasks >= 1, "tasks", "must be >= 1", self.tasks)
        _check((self.concurrency > 0) != (self.arrival_rate_per_s > 0), "concurrency",
               "set exactly one of concurrency and arrival_rate_per_s",
               f"concurrency={self.concurrency}, arrival_rate_per_s={self.arrival_rate_per_s}")
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


def _check(ok: bool, name: str, rule: str, value: Any) -> None:
    if not ok:
        raise ValidationError(f'load "{name}" {rule} (got {value})')


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
    if not math.isfinite(value) or value < 0:
        raise ValidationError(f"threshold {name} must be a finite number >= 0 (got {value})")
    if name == "failure_rate" and value > 1:
        raise ValidationError(f"threshold failure_rate is a fraction in [0, 1] (got {value})")
    return Threshold(name, value)


_LOAD_KEYS = {"tasks": int, "concurrency": int, "arrival_rate_per_s": (int, float), "ramp_s": (int, float),
              "clients": int, "inputs_per_task": int, "live_interval_s": (int, float),
              "sample_interval_s": (int, float), "timeout_s": (int, float)}


def parse_load_table(table: Mapping[str, Any], source: str) -> LoadConfig:
    """Build a LoadConfig from a ``[load]`` table; raises ScenarioError naming the file, the field and the value."""
    if not isinstance(table, Mapping):
        raise ScenarioError(f"{source}: load: must be a table (got {table!r})")
    unknown = sorted(set(table) - set(_LOAD_KEYS) - {"thresholds"})
    if unknown:
        raise ScenarioError(f"{source}: load: unknown field(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for key, kind in _LOAD_KEYS.items():
        if key in table:
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, kind):
                raise ScenarioError(f"{source}: load.{key}: must be a number (got {value!r})")
            values[key] = value
    if "arrival_rate_per_s" in values and "concurrency" not in values:
        values["concurrency"] = 0  # a rate in the file means the open model
    thresholds = table.get("thresholds", {})
    if not isinstance(thresholds, Mapping):
        raise ScenarioError(f"{source}: load.thresholds: must be a table (got {thresholds!r})")
    try:
        values["thresholds"] = tuple(parse_threshold(f"{name}={limit}") for name, limit in thresholds.items())
        return LoadConfig(**values)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: {exc}") from None


def load_load_scenario(path: str | Path) -> tuple[Scenario, LoadConfig]:
    """Read a scenario file and its optional ``[load]`` table (LoadConfig's defaults without one).

    Raises ScenarioError naming the file, the field and the value. (A file with a ``[load]`` table is a load
    scenario only: ``cipherquorum run`` refuses the unknown table.)
    """
    source = str(path)
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{source}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{source}: cannot read scenario file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    document = dict(document)
    config = parse_load_table(document.pop("load", {}), source)
    scenario = parse_scenario(document, source)
    study = scenario.studies[0]
    limit = study.respondents or scenario.population.respondents
    if config.inputs_per_task > limit:
        raise ScenarioError(f"{source}: load.inputs_per_task: must be <= the study's respondents={limit} "
                            f"(got {config.inputs_per_task})")
    return scenario, config


__all__ = ["THRESHOLDS", "LoadConfig", "Threshold", "load_load_scenario", "parse_load_table", "parse_threshold"]
