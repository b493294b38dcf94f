"""The sweep end to end: run a small grid, write its CSV, JSON and HTML, and the `cipherquorum sweep` command."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from cipherquorum.cli import EXIT_BAD_INPUT, EXIT_OK, main
from cipherquorum.reports.sweep import render_text, write_sweep_report
from cipherquorum.study import parse_sweep, run_sweep

SMALL = {"sweep": {"replication": [1, 3], "byzantine_share": [0.0, 0.3], "byzantine_kind": ["colluding", "wrong"],
                   "nodes": 10, "trials": 60, "slash_ratios": [0, 5, 50]}}


@pytest.fixture(scope="module")
def small_sweep():
    """A 2 x 2 x 2 grid of 60 trials a point."""
    return run_sweep(parse_sweep(SMALL, "small.toml"))


def test_a_sweep_writes_a_csv_row_and_a_json_object_per_point_and_an_html_page(small_sweep, tmp_path: Path) -> None:
    """sweep.json and points.csv hold one entry per grid point; sweep.html draws its plots as inline SVG."""
    paths = write_sweep_report(small_sweep, tmp_path)
    assert [path.name for path in paths] == ["sweep.json", "points.csv", "sweep.html"]
    document = json.loads((tmp_path / "sweep.json").read_text())
    assert len(document["points"]) == 8 == document["summary"]["points"]
    point = document["points"][0]
    assert point["trials"] == 60 and set(point["theory"]) == {"correct", "wrong", "no_consensus"}
    assert point["economics"]["theory"]["client_cost_per_task_wei"] > 0
    with (tmp_path / "points.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 8 and rows[0]["label"] == point["label"]
    page = (tmp_path / "sweep.html").read_text()
    assert page.count("<svg") >= 2 * 5
    for title in ("P(wrong accepted): theory", "Cost against safety", "Cheater profit per task"):
        assert title in page


def test_the_text_summary_counts_trials_safety_and_agreement(small_sweep) -> None:
    """The summary names every point, the below-quorum trials and how many figures lie inside their interval."""
    text = render_text(small_sweep)
    assert all(result.point.label in text for result in small_sweep.points)
    assert f"{small_sweep.below_quorum_trials} trials had fewer byzantine replicas than the quorum; 0 of them" in text
    assert "Wilson 95% interval" in text


def test_the_sweep_command_runs_a_file_with_overrides(tmp_path: Path, capsys) -> None:
    """`cipherquorum sweep FILE --trials N --set KEY=VALUE` runs the overridden grid and writes its report."""
    sweep_file = tmp_path / "small.toml"
    sweep_file.write_text('[sweep]\nreplication = [1, 3, 5]\nbyzantine_share = [0.1]\nnodes = 8\n', encoding="utf-8")
    code = main(["sweep", str(sweep_file), "--trials", "20", "--set", "replication=[3]", "--quiet",
                 "--out", str(tmp_path / "out")])
    assert code == EXIT_OK
    document = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert [(p["replication"], p["trials"]) for p in document["points"]] == [(3, 20)]
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "message"), [
    (["--set", "trials=0"], "sweep.trials: must be >= 1"),
    (["--set", "replication"], "key=value"),
])
def test_the_sweep_command_refuses_what_it_cannot_run(tmp_path: Path, capsys, args, message) -> None:
    """An invalid override or a malformed one exits 2 with one line that says why."""
    sweep_file = tmp_path / "small.toml"
    sweep_file.write_text('[sweep]\nreplication = [3]\nnodes = 8\n', encoding="utf-8")
    assert main(["sweep", str(sweep_file), "--quiet", "--out", str(tmp_path / "out"), *args]) == EXIT_BAD_INPUT
    assert message in capsys.readouterr().err
