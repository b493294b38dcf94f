"""The report of a load test: latencies, phases, throughput over time, errors, transactions, gas, CPU, memory."""
from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cipherquorum.measurement.phases import phase_summaries, summaries_as_dict
from cipherquorum.measurement.spans import PhaseSpan, ProcessUsage
from cipherquorum.measurement.stats import bucket_counts, summarize
from cipherquorum.settings.load import LoadConfig, Threshold
from cipherquorum.types import TaskEnd, TextEnum


class LoadTaskState(TextEnum):
    """How far a task of a load test got: released by the driver, created on chain, then how it ended."""

    PLANNED = "planned"
    RELEASED = "released"
    CREATED = "created"
    CREATE_FAILED = "create_failed"
    COMPLETED = TaskEnd.COMPLETED.value
    NO_CONSENSUS = TaskEnd.NO_CONSENSUS.value
    UNFINISHED = TaskEnd.UNFINISHED.value


@dataclass(frozen=True)
class LoadTask:
    """One task of a load test: when the driver released it, when its verified result came, and how it ended.

    Times are unix seconds; ``done_s`` is 0 for a task that never finished. ``failure`` is "" for a task that
    completed with a verified result equal to the plaintext reference, else why it did not.
    """

    index: int
    task_id: int
    client: int
    released_s: float
    done_s: float
    state: LoadTaskState
    failure: str = ""

    @property
    def latency_s(self) -> float:
        """Seconds from release to the verified result (0 for an unfinished task)."""
        return self.done_s - self.released_s if self.done_s else 0.0


@dataclass(frozen=True)
class ChainTx:
    """One transaction mined during the load test (from the blocks, not from the roles)."""

    block_number: int
    function: str
    gas_used: int
    succeeded: bool


@dataclass(frozen=True)
class ChainCeiling:
    """The load's tasks replayed on a fresh chain of the same kind, with nothing but the chain to wait for (see
    ``nodes.driver.replay``): what it sent and how long the chain took, or why there is no replay."""

    chain: str
    tasks: int = 0
    transactions: int = 0
    chain_s: float = 0.0
    error: str = ""


@dataclass(frozen=True)
class LoadMeasurements:
    """Everything a load run measured, before it is summarized."""

    scenario: str
    program: str
    config: LoadConfig
    started_s: float
    ended_s: float
    tasks: tuple[LoadTask, ...]
    spans: tuple[PhaseSpan, ...]
    usage: tuple[ProcessUsage, ...]
    transactions: tuple[ChainTx, ...]
    chain_rpc: Mapping[str, tuple[int, float]]
    startup_s: Mapping[str, float]
    interrupted: bool = False
    chain_ceiling: ChainCeiling | None = None


@dataclass(frozen=True)
class ThresholdResult:
    """A threshold and the value it was checked against."""

    rule: str
    value: float
    passed: bool


@dataclass(frozen=True)
class LoadReport:
    """A load test summarized; ``passed`` is False when any threshold was crossed."""

    scenario: str
    program: str
    config: dict[str, Any]
    duration_s: float
    tasks: int
    completed: int
    failed: int
    unfinished: int
    failure_rate: float
    throughput_per_s: float
    latency_s: dict[str, float | int]
    phases: dict[str, dict[str, float | int]]
    errors: dict[str, int]
    transactions: dict[str, Any]
    chain_rpc: dict[str, dict[str, float | int]]
    resources: dict[str, Any]
    timeline: dict[str, Any]
    thresholds: tuple[ThresholdResult, ...]
    startup_s: dict[str, float] = field(default_factory=dict)
    interrupted: bool = False

    @property
    def passed(self) -> bool:
        """True when every threshold held."""
        return all(result.passed for result in self.thresholds)

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the whole report."""
        data = asdict(self)
        data["passed"] = self.passed
        return data

    def render_text(self) -> str:
        """The summary a person reads at the end of a load test."""
        lat = self.latency_s
        lines = [
            f"cipherquorum load: {self.scenario} ({self.program}, {self.tasks} tasks"
            + (", INTERRUPTED" if self.interrupted else "") + ")",
            f"  duration {self.duration_s:.1f} s, throughput {self.throughput_per_s:.2f} tasks/s, "
            f"{self.completed} completed, {self.failed} failed, {self.unfinished} unfinished "
            f"(failure rate {self.failure_rate:.1%})",
            f"  task latency p50 {lat['p50_s']:.2f} s, p95 {lat['p95_s']:.2f} s, p99 {lat['p99_s']:.2f} s, "
            f"max {lat['max_s']:.2f} s",
            "  phase            count     p50 s     p95 s     p99 s     max s",
        ]
        for name, summary in self.phases.items():
            lines.append(f"  {name:14} {summary['count']:7d} {summary['p50_s']:9.3f} {summary['p95_s']:9.3f} "
                         f"{summary['p99_s']:9.3f} {summary['max_s']:9.3f}")
        tx = self.transactions
        lines.append(f"  transactions {tx['total']} ({tx['per_task']:.2f} per task), gas {tx['gas_used']:,} "
                     f"({tx['gas_per_task']:,.0f} per task): "
                     + ", ".join(f"{name} {info['count']}" for name, info in tx["by_function"].items()))
        ceiling = tx.get("ceiling")
        line = f"  chain: {tx['per_s']:.1f} transactions/s for {self.throughput_per_s:.2f} tasks/s"
        if ceiling and not ceiling.get("error"):
            line += (f"; ceiling, the same tasks replayed on a fresh {ceiling['chain']} with nothing else to wait "
                     f"for: {ceiling['tasks_per_s']:.2f} tasks/s, {ceiling['transactions_per_s']:.1f} transactions/s "
                     f"({ceiling['transactions']} transactions in {ceiling['chain_s']:.1f} s)")
        elif ceiling:
            line += f"; no replay ceiling: {ceiling['error']}"
        lines.append(line)
        if self.errors:
            lines.append("  errors: " + ", ".join(f"{reason} x{count}" for reason, count in self.errors.items()))
        peak = self.resources.get("peak_total_rss_bytes", 0)
        lines.append(f"  CPU {self.resources.get('cpu_s_total', 0.0):.1f} s over all roles, peak memory "
                     f"{peak / 2**20:.0f} MiB (sum of the roles' resident memory)")
        for result in self.thresholds:
            lines.append(f"  threshold {result.rule}: {result.value:.4g} {'ok' if result.passed else 'CROSSED'}")
        return "\n".join(lines) + "\n"


def build_load_report(measured: LoadMeasurements, thresholds: Sequence[Threshold] = ()) -> LoadReport:
    """Summarize a load run; ``thresholds`` (the config's when empty) decide ``passed``."""
    tasks = measured.tasks
    done = [t for t in tasks if t.done_s]
    completed = [t for t in done if not t.failure]
    unfinished = [t for t in tasks if not t.done_s]
    failed = [t for t in tasks if t.failure and t.done_s]
    ends = [t.done_s for t in done]
    duration_s = max(1e-9, (max(ends) if ends else measured.ended_s) - measured.started_s)
    latency = summarize(t.latency_s for t in completed)
    errors: dict[str, int] = {}
    for task in tasks:
        if task.failure:
            errors[task.failure] = errors.get(task.failure, 0) + 1
    failure_rate = (len(tasks) - len(completed)) / len(tasks) if tasks else 0.0
    throughput = len(completed) / duration_s
    values = {"p50_latency_s": latency.p50_s, "p95_latency_s": latency.p95_s, "p99_latency_s": latency.p99_s,
              "failure_rate": failure_rate, "min_throughput_per_s": throughput}
    rules = tuple(thresholds) or measured.config.thresholds
    checked = tuple(ThresholdResult(rule.describe(), values[rule.name], rule.passes(values[rule.name]))
                    for rule in rules)
    return LoadReport(
        scenario=measured.scenario, program=measured.program, config=_config_dict(measured.config),
        duration_s=round(duration_s, 3), tasks=len(tasks), completed=len(completed), failed=len(failed),
        unfinished=len(unfinished), failure_rate=round(failure_rate, 4), throughput_per_s=round(throughput, 4),
        latency_s=latency.as_dict(), phases=summaries_as_dict(phase_summaries(measured.spans)), errors=errors,
        transactions=_transactions(measured.transactions, len(tasks), duration_s, measured.chain_ceiling),
        chain_rpc={method: {"calls": calls, "busy_s": round(busy_s, 4)}
                   for method, (calls, busy_s) in measured.chain_rpc.items()},
        resources=_resources(measured.usage), timeline=_timeline(measured, duration_s), thresholds=checked,
        startup_s={k: round(v, 3) for k, v in measured.startup_s.items()}, interrupted=measured.interrupted)


def _config_dict(config: LoadConfig) -> dict[str, Any]:
    data = asdict(config)
    data["thresholds"] = [rule.describe() for rule in config.thresholds]
    return data


def _transactions(transactions: Sequence[ChainTx], tasks: int, duration_s: float,
                  ceiling: ChainCeiling | None) -> dict[str, Any]:
    by_function: dict[str, dict[str, int]] = {}
    for tx in transactions:
        info = by_function.setdefault(tx.function or "other", {"count": 0, "gas_used": 0, "reverted": 0})
        info["count"] += 1
        info["gas_used"] += tx.gas_used
        info["reverted"] += 0 if tx.succeeded else 1
    gas_used = sum(tx.gas_used for tx in transactions)
    per = max(tasks, 1)
    summary: dict[str, Any] = {
        "total": len(transactions), "per_task": round(len(transactions) / per, 3),
        "per_s": round(len(transactions) / duration_s, 3), "gas_used": gas_used,
        "gas_per_task": round(gas_used / per, 1), "by_function": by_function,
    }
    if ceiling is not None:
        summary["ceiling"] = asdict(ceiling)
        if not ceiling.error:
            seconds = max(ceiling.chain_s, 1e-9)
            summary["ceiling"].update(transactions_per_s=round(ceiling.transactions / seconds, 3),
                                      tasks_per_s=round(ceiling.tasks / seconds, 3))
    return summary


def _resources(usage: Sequence[ProcessUsage]) -> dict[str, Any]:
    """Per role: CPU seconds used during the test and peak memory; totals over time from the samples."""
    by_role: dict[str, list[ProcessUsage]] = {}
    for sample in usage:
        by_role.setdefault(sample.role, []).append(sample)
    roles = {}
    for role, samples in sorted(by_role.items()):
        samples.sort(key=lambda s: s.at_s)
        roles[role] = {"cpu_s": round(samples[-1].cpu_s - samples[0].cpu_s, 3),
                       "max_rss_bytes": max(s.max_rss_bytes for s in samples),
                       "last_rss_bytes": samples[-1].rss_bytes}
    times = sorted({round(s.at_s, 1) for s in usage})
    series = []
    previous: dict[str, ProcessUsage] = {}
    for moment in _sample_rounds(by_role):
        cpu_percent = 0.0
        for role, sample in moment.items():
            before = previous.get(role)
            if before is not None and sample.at_s > before.at_s:
                cpu_percent += 100 * (sample.cpu_s - before.cpu_s) / (sample.at_s - before.at_s)
        series.append({"at_s": round(min(s.at_s for s in moment.values()), 3), "cpu_percent": round(cpu_percent, 1),
                       "rss_bytes": sum(s.rss_bytes for s in moment.values())})
        previous.update(moment)
    return {"roles": roles, "cpu_s_total": round(sum(r["cpu_s"] for r in roles.values()), 3),
            "peak_total_rss_bytes": max((p["rss_bytes"] for p in series), default=0),
            "samples": series[1:] if len(series) > 1 else series, "sample_count": len(times)}


def _sample_rounds(by_role: Mapping[str, Sequence[ProcessUsage]]) -> list[dict[str, ProcessUsage]]:
    """Group the samples into rounds: the k-th sample of every role belongs to round k."""
    rounds = max((len(samples) for samples in by_role.values()), default=0)
    return [{role: samples[k] for role, samples in by_role.items() if k < len(samples)} for k in range(rounds)]


def _timeline(measured: LoadMeasurements, duration_s: float) -> dict[str, Any]:
    """Created, completed and failed tasks per time bucket, and the tasks in flight at each bucket's end."""
    start = measured.started_s
    bucket_s = max(0.5, _nice_bucket(duration_s / 60))
    end = start + max(duration_s, bucket_s)
    tasks = measured.tasks
    completed = bucket_counts((t.done_s for t in tasks if t.done_s and not t.failure), start, end, bucket_s)
    failed = bucket_counts((t.done_s for t in tasks if t.done_s and t.failure), start, end, bucket_s)
    released = bucket_counts((t.released_s for t in tasks), start, end, bucket_s)
    in_flight, running = [], 0
    for r, c, f in zip(released, completed, failed):
        running += r - c - f
        in_flight.append(running)
    latencies = [[round(t.done_s - start, 3), round(t.latency_s, 3)] for t in tasks if t.done_s and not t.failure]
    return {"bucket_s": bucket_s, "released": released, "completed": completed, "failed": failed,
            "in_flight": in_flight, "latency_points": sorted(latencies)}


def _nice_bucket(seconds: float) -> float:
    """Round a bucket width up to 1, 2 or 5 times a power of ten."""
    if seconds <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(seconds))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= seconds)


def write_load_report(report: LoadReport, measured: LoadMeasurements, out_dir: str | Path) -> list[Path]:
    """Write load.json, tasks.csv, phases.csv, timeline.csv and report.html under ``out_dir``; return the paths."""
    from cipherquorum.reports.load_page import render_load_html

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / name for name in ("load.json", "tasks.csv", "phases.csv", "timeline.csv", "report.html")]
    paths[0].write_text(json.dumps(report.to_json_dict(), indent=2, sort_keys=True) + "\n")
    _write_csv(paths[1], ["index", "task_id", "client", "released_s", "done_s", "latency_s", "state", "failure"],
               [[t.index, t.task_id, t.client, f"{t.released_s:.3f}", f"{t.done_s:.3f}", f"{t.latency_s:.3f}",
                 t.state, t.failure] for t in measured.tasks])
    _write_csv(paths[2], ["phase", "count", "mean_s", "p50_s", "p95_s", "p99_s", "max_s", "total_s"],
               [[name, s["count"], s["mean_s"], s["p50_s"], s["p95_s"], s["p99_s"], s["max_s"], s["total_s"]]
                for name, s in report.phases.items()])
    line = report.timeline
    _write_csv(paths[3], ["start_s", "released", "completed", "failed", "in_flight"],
               [[round(i * line["bucket_s"], 3), r, c, f, n] for i, (r, c, f, n) in
                enumerate(zip(line["released"], line["completed"], line["failed"], line["in_flight"]))])
    paths[4].write_text(render_load_html(report))
    return paths


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)


__all__ = ["ChainCeiling", "ChainTx", "LoadMeasurements", "LoadReport", "LoadTask", "ThresholdResult",
           "build_load_report", "write_load_report"]
