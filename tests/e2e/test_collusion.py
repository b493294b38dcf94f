"""Two colluders at the quorum win against one honest node: the proof holds, and the dissent is flagged."""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from cipherquorum.cli import EXIT_FLAGGED, main
from cipherquorum.reports.run import Verdict

COLLUSION = {
    "run": {"name": "collusion", "seed": "collusion-1"},
    "market": {"replication": 3, "quorum": 2, "commit_window_s": 60, "reveal_window_s": 30, "time_limit_s": 30},
    "fhe": {"preset": "bfv-2048"},
    "population": {"respondents": 6, "shards": 1},
    "nodes": [{"count": 2, "behaviour": "colluding", "capacity": 4}, {"count": 1, "capacity": 4}],
    "studies": [{"id": "tally", "questions": [
        {"text": "How many?", "kind": "number", "min_value": 0, "max_value": 9, "programs": ["sum@1"]}]}],
}


@pytest.mark.slow
def test_a_colluding_quorum_is_flagged_in_the_report_the_json_and_by_verify(
        run_on_devnet: Callable[[dict], Any], tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """With r=3, q=2 and two colluders, the wrong result wins; every place a client looks names the dissenter."""
    run = run_on_devnet(COLLUSION)
    (task,) = run.report.tasks
    honest = next(n.address for n in run.report.nodes if n.behaviour == "honest")
    assert task.status == "completed" and not task.verified  # the colluders' result decrypts to a wrong value
    assert [v.node for v in task.votes if v.verdict is Verdict.DISSENT] == [honest]
    assert task.dissent == (honest,)
    assert json.loads(json.dumps(run.report.to_json_dict(), default=str))["tasks"][0]["dissent"] == [honest]
    assert "consensus with dissent" in run.report.render_text()
    capsys.readouterr()
    assert main(run.verify_args(task.id)) == EXIT_FLAGGED
    out = capsys.readouterr().out
    assert re.search(rf"^dissent +FLAG +1 of 3 revealed another result: {honest}$", out, re.M)
    assert "verified" in out and "flagged: dissent" in out
