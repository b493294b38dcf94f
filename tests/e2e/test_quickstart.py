"""The quickstart, run from the command line as a user would, proves execution by consensus on real FHE work."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path


def test_quickstart_completes_verifies_and_slashes_only_the_byzantine_node(
    cli, scenario_path, tmp_path: Path
) -> None:
    """Every quickstart task completes and verifies; the byzantine node is slashed and no honest node is."""
    report_path = tmp_path / "quickstart.json"
    done = cli("run", str(scenario_path("quickstart")), "--report-json", str(report_path),
               "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 0, done.stderr[-3000:]
    for heading in ("Tasks", "Votes", "Nodes", "Results", "verdict: all tasks completed and verified"):
        assert heading in done.stdout
    assert "Token authentication" not in done.stderr  # on, and not announced on every run
    report = json.loads(report_path.read_text())
    assert len(report["tasks"]) == 8
    for task in report["tasks"]:
        assert task["status"] == "completed" and task["verified"] is True, task
        assert task["result_hash"].startswith("0x") and len(task["result_hash"]) == 66
        assert task["id"] >= 1
    byzantine = [n for n in report["nodes"] if n["behaviour"] != "honest"]
    honest = [n for n in report["nodes"] if n["behaviour"] == "honest"]
    assert len(byzantine) == 1 and len(honest) >= 4
    assert all(n["slashed_wei"] > 0 for n in byzantine)
    assert all(n["slashed_wei"] == 0 and n["rewarded_wei"] > 0 for n in honest)
    assert {"address", "behaviour", "rewarded_wei", "slashed_wei"} <= set(report["nodes"][0])
    assert report["chain"]["contract_balance_wei"] == report["chain"]["liabilities_wei"]
    studies = {s["program"]: s for s in report["studies"]}
    assert studies["histogram@1"]["verified"] and studies["mean@1"]["verified"]
    assert sum(studies["histogram@1"]["result"]) == 200


def test_broken_scenario_fails_before_anything_starts(cli, scenario_path, tmp_path: Path) -> None:
    """A scenario with a bad field exits with code 2 and an error naming the file, the field and the value."""
    broken = tmp_path / "broken.toml"
    text = scenario_path("quickstart").read_text().replace("quorum = 2", "quorum = 7")
    broken.write_text(text)
    done = cli("run", str(broken), timeout_s=60)
    assert done.returncode == 2
    assert "broken.toml" in done.stderr and "market.quorum" in done.stderr and "quorum=7" in done.stderr
    assert "Tasks" not in done.stdout


def test_unknown_command_line_arguments_are_rejected(cli) -> None:
    """Misspelled options get argparse's usage error and exit code 2."""
    done = cli("run", "scenarios/quickstart.toml", "--reprot-json", "x.json", timeout_s=60)
    assert done.returncode == 2 and "unrecognized arguments: --reprot-json" in done.stderr


def test_ctrl_c_stops_cleanly_and_prints_the_partial_report(scenario_path, tmp_path: Path) -> None:
    """SIGINT during a run shuts it down, prints the report of what finished, writes the JSON and exits 130."""
    report_path = tmp_path / "stall.json"
    command = [sys.executable, "-m", "cipherquorum.cli", "run", str(scenario_path("stall")),
               "--report-json", str(report_path), "--data-dir", str(tmp_path / "data")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if "commits" in line and " 0 commits" not in line:
                break
        process.send_signal(signal.SIGINT)
        stdout, _ = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130
    assert "[INTERRUPTED: partial]" in stdout and "Nodes" in stdout
    report = json.loads(report_path.read_text())
    assert report["interrupted"] is True
    assert all(task["status"] != "completed" for task in report["tasks"])
