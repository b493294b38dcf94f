"""The run page: every task's life on chain, its votes and verdicts, the slashes, and each proof as a third party
checks it; rendered by a real headless browser."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from cipherquorum.reports.html import number
from cipherquorum.reports.run_page import KINDS, render_run_html

SVG = "{http://www.w3.org/2000/svg}"
WITH_A_CHEATER = {
    "run": {"name": "run-page", "seed": "run-page-1"},
    "market": {"replication": 3, "quorum": 2, "commit_window_s": 60, "reveal_window_s": 30, "time_limit_s": 30},
    "fhe": {"preset": "bfv-2048"},
    "population": {"respondents": 3, "shards": 1},
    "nodes": [{"count": 2, "capacity": 4}, {"count": 1, "capacity": 4, "behaviour": "wrong"}],
    "studies": [{"id": "page", "inputs_per_task": 1, "questions": [
        {"text": "How many?", "kind": "number", "min_value": 0, "max_value": 9, "programs": ["sum@1"]}]}],
}


@pytest.mark.parametrize("value, shown", [
    (3, "3"), (1234567, "1,234,567"), (0.123456, "0.123"), (12.3456, "12.3"), (1234.5678, "1,235"),
    (0.0, "0"), (-0.5, "-0.500"), (2.5e-5, "2.5e-05"), (3.2e9, "3.2e+09"), ("text", "text"), (True, "True"),
])
def test_figures_are_shown_to_three_significant_digits(value: object, shown: str) -> None:
    """Pages show floats to 3 significant digits and ints with separators, never four decimals."""
    assert number(value) == shown


@pytest.fixture(scope="module")
def page_run(run_on_devnet: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A real run with a wrong node, its proofs checked as a third party would, and its page written."""
    ran = run_on_devnet(WITH_A_CHEATER, check_proofs=True)
    path = tmp_path_factory.mktemp("page") / "run.html"
    path.write_text(render_run_html(ran.report), encoding="utf-8")
    return ran.report, path


@pytest.mark.slow
def test_the_page_draws_every_event_of_every_task_and_names_the_slashed_cheater(page_run) -> None:
    """Each task's timeline has one marker per chain event (created, matched, each commit and reveal, finalized,
    payments); the wrong node's slashes are listed with their reason; its votes are marked dissent."""
    report, path = page_run
    html = path.read_text()
    svg = ET.fromstring(re.search(r"<svg[^>]*>.*?Each task.*?</svg>", html, re.S).group(0))
    markers = [c for c in svg.iter(f"{SVG}circle") if c.find(f"{SVG}title") is not None]
    assert len(markers) == sum(len(task.timeline) for task in report.tasks)
    for task in report.tasks:
        events = [entry.event for entry in task.timeline]
        assert events[:2] == ["TaskCreated", "TaskMatched"]
        assert events.count("Committed") == events.count("Revealed") == 3
        assert "TaskCompleted" in events
        assert f"<h2>Task {task.id}: " in html
    wrong = next(n.address for n in report.nodes if n.behaviour == "wrong")
    slashes = re.search(r"<h2>Slashes</h2>(.*?)<h2>", html, re.S).group(1)
    assert slashes.count(wrong) == len(report.tasks) and "dissent" in slashes
    assert set(KINDS.values()) <= {unescape(t.text or "") for t in svg.iter(f"{SVG}text")}


@pytest.mark.slow
def test_every_proof_holds_as_a_third_party_checks_it_from_chain_and_storage(page_run) -> None:
    """The run checked each completed task's proof as `cipherquorum verify` does, batched reveals included, and
    the page shows every check holding."""
    report, path = page_run
    assert report.tasks and all(task.third_party for task in report.tasks)
    assert all(check.ok for task in report.tasks for check in task.third_party if not check.advisory)
    assert path.read_text().count("<td>holds</td>") == len(report.tasks)


@pytest.mark.slow
def test_a_headless_browser_renders_the_page_within_its_width(page_run, tmp_path: Path) -> None:
    """Chromium, headless, lays the page out: its DOM holds the timeline's legend and every table, no chart is
    wider than the page, and a screenshot is taken (kept beside the page for people to look at)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no Chromium: install it (Debian: apt-get install chromium) to render the run page")
    _, path = page_run
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1200,2000"]
    script = ("<script>document.title = JSON.stringify([...document.querySelectorAll('svg')]"
              ".map(s => [s.getBoundingClientRect().right, document.body.getBoundingClientRect().right]))</script>")
    probe = tmp_path / "probe.html"
    probe.write_text(path.read_text().replace("</body>", script + "</body>"))
    dom = subprocess.run([*flags, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120).stdout
    widths = json.loads(unescape(re.search(r"<title>(.*?)</title>", dom, re.S).group(1)))
    assert widths and all(right <= page_right + 1 for right, page_right in widths)
    assert "finalized: consensus" in dom and dom.count("<table>") >= 4
    shot = path.with_suffix(".png")
    subprocess.run([*flags, f"--screenshot={shot}", path.as_uri()], capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20_000
