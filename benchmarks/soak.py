"""Soak: a long load test on the embedded chain; each role's memory growth and the latency drift, from one run.

    .venv/bin/python benchmarks/soak.py                      # 1,000 tasks at 24 in flight on scenarios/load.toml
    .venv/bin/python benchmarks/soak.py --tasks 300 --out reports/soak

Writes the load report (load.json, CSVs, report.html) and soak.json under --out. Memory: each role's peak RSS,
and its growth per 100 completed tasks (the least-squares slope of its RSS samples against the tasks completed
by then, after the first tenth of the tasks, once caches and pools have filled). Latency: the median latency of
the first 100 tasks released beside the last 100, and the drift between them.
"""
from __future__ import annotations

import argparse
import bisect
import json
import statistics
import sys
from dataclasses import replace
from pathlib import Path

from cipherquorum.measurement.phases import phase_durations
from cipherquorum.measurement.spans import ProcessUsage
from cipherquorum.nodes.driver.loadgen import LoadRun
from cipherquorum.reports.load import LoadMeasurements, LoadTask, build_load_report, write_load_report
from cipherquorum.settings.load import load_load_scenario

MIB = 2**20
WINDOW = 100
"""Tasks at each end of the run whose latencies are compared."""
WARM_UP_SHARE = 0.1
"""The share of the tasks completed before a role's memory growth is measured."""


def growth_per_100_tasks(samples: list[tuple[int, int]]) -> float:
    """The least-squares slope of RSS bytes against completed tasks, times 100 (0 with fewer than 3 samples)."""
    if len(samples) < 3 or len({done for done, _ in samples}) < 2:
        return 0.0
    mean_x = statistics.fmean(done for done, _ in samples)
    mean_y = statistics.fmean(rss for _, rss in samples)
    cov = sum((done - mean_x) * (rss - mean_y) for done, rss in samples)
    var = sum((done - mean_x) ** 2 for done, _ in samples)
    return 100 * cov / var


def role_memory(usage: tuple[ProcessUsage, ...], tasks: tuple[LoadTask, ...]) -> dict[str, dict[str, float]]:
    """Each role's peak RSS and its RSS growth per 100 completed tasks after the warm-up."""
    done_at = sorted(t.done_s for t in tasks if t.done_s and not t.failure)
    warm_up = int(len(done_at) * WARM_UP_SHARE)
    by_role: dict[str, list[ProcessUsage]] = {}
    for sample in usage:
        by_role.setdefault(sample.role, []).append(sample)
    memory = {}
    for role, samples in sorted(by_role.items()):
        points = [(bisect.bisect_right(done_at, s.at_s), s.rss_bytes) for s in samples]
        measured = [(done, rss) for done, rss in points if done >= warm_up]
        memory[role] = {
            "peak_rss_mib": round(max(s.max_rss_bytes for s in samples) / MIB, 1),
            "first_rss_mib": round(samples[0].rss_bytes / MIB, 1),
            "last_rss_mib": round(samples[-1].rss_bytes / MIB, 1),
            "growth_mib_per_100_tasks": round(growth_per_100_tasks(measured) / MIB, 2),
            "samples": len(samples),
        }
    return memory


def latency_drift(tasks: tuple[LoadTask, ...]) -> dict[str, float]:
    """The median latency of the first and the last WINDOW tasks released (completed ones), and their drift."""
    completed = sorted((t for t in tasks if t.done_s and not t.failure), key=lambda t: t.index)
    if len(completed) < 2 * WINDOW:
        return {}
    first = statistics.median(t.latency_s for t in completed[:WINDOW])
    last = statistics.median(t.latency_s for t in completed[-WINDOW:])
    return {"first_100_p50_s": round(first, 3), "last_100_p50_s": round(last, 3),
            "drift": round(last / first - 1, 4)}


def phase_drift(measured: LoadMeasurements) -> dict[str, dict[str, float]]:
    """Each phase's median over the first and the last WINDOW tasks released: where a latency drift sits."""
    completed = sorted((t for t in measured.tasks if t.done_s and not t.failure), key=lambda t: t.index)
    if len(completed) < 2 * WINDOW:
        return {}
    ends = {"first_100_p50_s": {t.task_id for t in completed[:WINDOW]},
            "last_100_p50_s": {t.task_id for t in completed[-WINDOW:]}}
    drift: dict[str, dict[str, float]] = {}
    for end, ids in ends.items():
        durations = phase_durations(span for span in measured.spans if span.task_id in ids)
        for phase, values in durations.items():
            drift.setdefault(phase.value, {})[end] = round(statistics.median(values), 4)
    return drift


def soak_summary(measured: LoadMeasurements) -> dict[str, object]:
    """The soak's figures: tasks, throughput, per-role memory and the latency drift."""
    done = [t for t in measured.tasks if t.done_s and not t.failure]
    duration_s = measured.ended_s - measured.started_s
    return {"tasks": len(measured.tasks), "completed": len(done), "failed": sum(1 for t in measured.tasks if t.failure),
            "duration_s": round(duration_s, 1), "throughput_per_s": round(len(done) / duration_s, 3),
            "latency": latency_drift(measured.tasks), "phases": phase_drift(measured),
            "memory": role_memory(measured.usage, measured.tasks)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="scenarios/load.toml")
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=24)
    parser.add_argument("--out", default="reports/soak")
    parser.add_argument("--replay", action="store_true", help="also replay the tasks for the chain's ceiling")
    args = parser.parse_args(argv)
    scenario, config = load_load_scenario(args.scenario)
    config = replace(config, tasks=args.tasks, concurrency=args.concurrency, arrival_rate_per_s=0.0,
                     timeout_s=max(config.timeout_s, 4 * args.tasks), replay=args.replay)
    measured = LoadRun(scenario, config).run()
    write_load_report(build_load_report(measured), measured, args.out)
    summary = soak_summary(measured)
    out = Path(args.out) / "soak.json"
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    print(f"written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
