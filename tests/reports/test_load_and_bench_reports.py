"""Load and bench reports: phases from spans, thresholds, the files a load test writes, and the overhead ratio."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cipherquorum.exceptions import ValidationError
from cipherquorum.measurement.phases import phase_durations, task_timings
from cipherquorum.measurement.spans import Phase, PhaseSpan, ProcessUsage
from cipherquorum.reports.bench import BenchReport, check_max_overhead
from cipherquorum.reports.load import ChainTx, LoadMeasurements, LoadTask, build_load_report, write_load_report
from cipherquorum.settings.load import LoadConfig, Threshold


def _span(phase: str, task_id: int, start: float, end: float, role: str = "node-0") -> PhaseSpan:
    return PhaseSpan(Phase(phase), task_id, role, start, end)


def test_match_and_finalize_are_derived_from_marks() -> None:
    """match runs from createTask mined to each replica's assignment mark; finalize from the last close to settled."""
    spans = [_span("create", 1, 10.0, 10.5, "clients"),
             _span("assigned", 1, 10.7, 10.7), _span("assigned", 1, 10.9, 10.9),
             _span("commit", 1, 11.0, 11.2), _span("reveal", 1, 11.5, 11.8), _span("reveal", 1, 11.6, 12.0),
             _span("settled", 1, 12.3, 12.3, "clients"), _span("decrypt", 1, 12.4, 12.5, "clients"),
             _span("create", 2, 20.0, 20.1, "clients"), _span("finalize_tx", 2, 30.0, 30.4, "clients"),
             _span("settled", 2, 30.5, 30.5, "clients")]
    durations = phase_durations(spans)
    assert durations["match"] == pytest.approx([0.2, 0.4])
    assert durations["finalize"] == pytest.approx([0.3, 0.1])
    assert durations["commit"] == pytest.approx([0.2]) and "fetch" not in durations
    timings = task_timings(spans)
    assert timings[1].latency_s == pytest.approx(2.5) and timings[2].latency_s == pytest.approx(10.5)


def _measurements(tmp_failures: int = 0) -> LoadMeasurements:
    tasks = [LoadTask(i, i + 1, i % 2, 100.0 + i, 101.0 + i * 1.5, "completed") for i in range(10)]
    tasks += [LoadTask(10 + i, 11 + i, 0, 110.0, 112.0, "no_consensus", "no_consensus") for i in range(tmp_failures)]
    tasks.append(LoadTask(99, 0, 1, 111.0, 0.0, "released", "unfinished"))
    usage = [ProcessUsage(role, 100.0 + 2 * k, 1.0 * k, (100 + k) * 2**20, (120 + k) * 2**20)
             for k in range(4) for role in ("chain", "node-0")]
    spans = [_span("compute", t.task_id, t.released_s + 0.2, t.released_s + 0.3) for t in tasks[:10]]
    return LoadMeasurements(
        scenario="unit", program="sum@1", config=LoadConfig(tasks=len(tasks), concurrency=4,
                                                            thresholds=(Threshold("p95_latency_s", 60),)),
        started_s=100.0, ended_s=130.0, tasks=tuple(tasks), spans=tuple(spans), usage=tuple(usage),
        transactions=(ChainTx(5, "createTask", 300_000, True), ChainTx(6, "commit", 70_000, True),
                      ChainTx(7, "reveal", 90_000, False)),
        chain_rpc={"eth_call": (10, 0.05)}, startup_s={"ray_start": 3.0})


def test_load_report_counts_failures_and_checks_thresholds() -> None:
    """Failures and unfinished tasks count against the failure rate; crossed thresholds make the report fail."""
    measured = _measurements(tmp_failures=2)
    report = build_load_report(measured)
    assert (report.tasks, report.completed, report.failed, report.unfinished) == (13, 10, 2, 1)
    assert report.failure_rate == pytest.approx(3 / 13, abs=1e-4)
    assert report.errors == {"no_consensus": 2, "unfinished": 1}
    assert report.passed and report.latency_s["count"] == 10
    assert report.transactions["by_function"]["reveal"]["reverted"] == 1
    assert report.resources["roles"]["chain"]["cpu_s"] == 3.0
    strict = build_load_report(measured, [Threshold("failure_rate", 0.1), Threshold("min_throughput_per_s", 0.1)])
    assert [t.passed for t in strict.thresholds] == [False, True] and not strict.passed
    assert "CROSSED" in strict.render_text()


def test_load_report_shows_the_chains_rate_beside_its_replay_ceiling() -> None:
    """Transactions per second of the test, and the tasks and transactions per second of its replay on a fresh
    chain; a replay that could not run says why instead."""
    from dataclasses import replace

    from cipherquorum.reports.load import ChainCeiling

    measured = replace(_measurements(), chain_ceiling=ChainCeiling("devnet", tasks=11, transactions=5, chain_s=2.0))
    report = build_load_report(measured)
    assert report.transactions["per_s"] == pytest.approx(3 / report.duration_s, abs=1e-3)
    assert report.transactions["ceiling"]["tasks_per_s"] == 5.5
    assert report.transactions["ceiling"]["transactions_per_s"] == 2.5
    assert "replayed on a fresh devnet with nothing else to wait for: 5.50 tasks/s, 2.5 transactions/s" in (
        report.render_text())
    failed = build_load_report(replace(measured, chain_ceiling=ChainCeiling("devnet", error="it broke")))
    assert "no replay ceiling: it broke" in failed.render_text()


def test_load_report_files_are_written(tmp_path: Path) -> None:
    """A load report writes JSON, three CSV files and an HTML page whose SVG plots are well-formed."""
    measured = _measurements()
    report = build_load_report(measured)
    paths = write_load_report(report, measured, tmp_path / "out")
    assert sorted(p.name for p in paths) == ["load.json", "phases.csv", "report.html", "tasks.csv", "timeline.csv"]
    data = json.loads((tmp_path / "out" / "load.json").read_text())
    assert data["passed"] is True and data["latency_s"]["p95_s"] > 0 and data["phases"]["compute"]["count"] == 10
    assert len((tmp_path / "out" / "tasks.csv").read_text().splitlines()) == 1 + len(measured.tasks)
    html = (tmp_path / "out" / "report.html").read_text()
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    assert len(svgs) == 5
    for svg in svgs:
        ET.fromstring(svg)


def _bench(**changes) -> BenchReport:
    values = dict(scenario="unit", tasks=8, verified=True, cores=2, e2e_s=3.0, fhe_cpu_s=1.0, fhe_wall_s=1.0,
                  fhe_runs=24, fhe_key_load_s=0.01, chain_s=2.0, chain_transactions=56, e2e_transactions=56,
                  transactions_by_function={"createTask": 8, "commit": 24, "reveal": 24}, gas_per_task=9e5)
    values.update(changes)
    return BenchReport(**values)


@pytest.mark.parametrize("changes, ideal, bound, ratio", [
    ({}, 2.0, "chain", 1.5), ({"fhe_cpu_s": 8.0}, 4.0, "fhe", 0.75), ({"cores": 1, "fhe_cpu_s": 2.5}, 2.5, "fhe", 1.2),
])
def test_overhead_ratio_is_e2e_over_the_slower_resource(changes, ideal, bound, ratio) -> None:
    """ideal = max(FHE CPU / cores, chain); the ratio divides e2e by it, and names which one bounds."""
    report = _bench(**changes)
    assert (report.ideal_s, report.bound, report.overhead_ratio) == (pytest.approx(ideal), bound, pytest.approx(ratio))


def test_the_bench_names_its_replays_when_there_are_several() -> None:
    """The chain line says how many replays its median is of, and their range; one replay says nothing more."""
    several = _bench(chain_replays_s=(1.8, 2.0, 2.6)).render_text()
    assert "the median of 3 replays (1.800-2.600 s)" in several
    assert "replays" not in _bench(chain_replays_s=(2.0,)).render_text()
    assert _bench(chain_replays_s=(1.8, 2.0, 2.6)).to_json_dict()["chain_replays_s"] == [1.8, 2.0, 2.6]


def test_bench_json_has_the_agreed_keys_and_the_limit_sets_failure() -> None:
    """The JSON carries overhead_ratio, fhe_cpu_s, chain_s, e2e_s and txs_per_task; a limit below the ratio fails."""
    data = _bench().to_json_dict()
    assert {"overhead_ratio", "fhe_cpu_s", "chain_s", "e2e_s", "txs_per_task"} <= set(data)
    assert data["txs_per_task"] == 7.0
    assert check_max_overhead(_bench(), 1.5) == [] and check_max_overhead(_bench(), None) == []
    assert check_max_overhead(_bench(), 1.2)
    with pytest.raises(ValidationError, match="max_overhead"):
        check_max_overhead(_bench(), 0)
