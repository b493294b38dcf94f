"""The load and bench commands as a user runs them: bad options exit 2 at once, thresholds set the exit code."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]


def _cli(*args: str, timeout_s: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cipherquorum.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout_s, env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.mark.parametrize("args, message", [
    (["load", "scenarios/load.toml", "--threshold", "p42=1"], "NAME among"),
    (["load", "scenarios/missing.toml"], "no such scenario file"),
    (["load", "scenarios/load.toml", "--concurrency", "0"], "--concurrency: must be an integer >= 1"),
    (["load", "scenarios/load.toml", "--concurrency", "2", "--rate", "1"], "not allowed with argument"),
    (["load", "scenarios/load.toml", "--ramp", "-3"], "--ramp: must be a number"),
    (["bench", "scenarios/quickstart.toml", "--max-overhead", "-1"], "--max-overhead: must be a number > 0"),
    (["bench", "scenarios/missing.toml"], "no such scenario file"),
    (["bench", "scenarios/quickstart.toml", "--replays", "0"], "--replays: must be an integer >= 1"),
])
def test_bad_options_exit_2_before_anything_starts(args, message) -> None:
    """A bad option or file is refused with exit code 2 and a message naming it, before Ray starts."""
    done = _cli(*args, timeout_s=60)
    assert done.returncode == 2, done.stderr[-2000:]
    assert message in done.stderr


@pytest.mark.slow
def test_load_writes_its_reports_and_a_crossed_threshold_exits_99(tmp_path: Path) -> None:
    """A small load test completes every task, writes its five report files, and exits 99 past its threshold."""
    out = tmp_path / "load"
    done = _cli("load", "scenarios/load.toml", "--tasks", "4", "--concurrency", "2", "--ramp", "0", "--out", str(out),
                "--threshold", "p95_latency_s=0.001", "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 99, done.stderr[-3000:]
    assert "threshold p95_latency_s <= 0.001" in done.stdout and "CROSSED" in done.stdout
    assert sorted(p.name for p in out.iterdir()) == ["load.json", "phases.csv", "report.html", "tasks.csv",
                                                     "timeline.csv"]
    report = json.loads((out / "load.json").read_text())
    assert report["completed"] == 4 and report["failure_rate"] == 0 and report["passed"] is False
    assert report["transactions"]["per_task"] <= 7 and report["phases"]["compute"]["count"] == 12
    assert report["transactions"]["ceiling"]["tasks"] == 4 and report["transactions"]["ceiling"]["tasks_per_s"] > 0
    assert "released" in done.stderr  # live stats were shown
    assert any((tmp_path / "data").rglob("index.sqlite3"))  # a storage directory the user named is kept


@pytest.mark.slow
def test_bench_reports_the_overhead_of_a_small_scenario(tmp_path: Path) -> None:
    """The bench runs a scenario three ways and writes the JSON with the ratio and its parts; the temporary
    storage directory it made for the run is gone after."""
    scenario = (REPO / "scenarios" / "quickstart.toml").read_text()
    scenario = scenario.replace("respondents = 200", "respondents = 40").replace("inputs_per_task = 50",
                                                                                  "inputs_per_task = 20")
    (tmp_path / "small.toml").write_text(scenario)
    temporary = Path(tempfile.gettempdir())
    before = set(temporary.glob("cq-bench-*"))
    done = _cli("bench", str(tmp_path / "small.toml"), "--json", str(tmp_path / "bench.json"), "--max-overhead",
                "1000", "--replays", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    assert set(temporary.glob("cq-bench-*")) <= before
    report = json.loads((tmp_path / "bench.json").read_text())
    assert report["tasks"] == 4 and report["verified"] is True and report["txs_per_task"] <= 7.0
    assert report["overhead_ratio"] == pytest.approx(report["e2e_s"] / report["ideal_s"], rel=1e-3)
    assert 0 < report["chain_transactions"] <= report["e2e_transactions"]  # the replay batches all it can
    assert report["fhe_runs"] == 12 and report["fhe_cpu_s"] > 0
    assert {"create", "match", "fetch", "compute", "commit", "reveal", "finalize", "download", "decrypt"} <= set(
        report["phases"])
    assert report["phases"]["commit"]["count"] == 12 and report["e2e_chain_rpc"]["eth_sendRawTransaction"]
    replays = report["chain_replays_s"]
    assert len(replays) == 2 and report["chain_s"] == pytest.approx(max(replays), abs=1e-4)  # the upper median
    assert "the median of 2 replays" in done.stdout
    assert report["replay_chain_rpc"]["eth_sendRawTransaction"]["cpu_s"] > 0
