"""PSI on the real stack: Ray roles, the py-evm chain, storage, replicated psi@1 tasks with one wrong node."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

TEST_SCENARIOS = Path(__file__).parent / "scenarios"


@pytest.mark.slow
def test_psi_runs_on_the_market_and_equals_the_plaintext_intersection(run_scenario) -> None:
    """The small PSI scenario: both rounds (unlabeled, labeled; each split in two tasks) find exactly the
    plaintext intersection and labels, every task's proof has a quorum, and the wrong node is slashed."""
    report = run_scenario(TEST_SCENARIOS / "psi_small.toml")
    (section,) = report.workflows
    assert section.name == "psi" and section.ok, section.data
    rounds = section.data["rounds"]
    assert [(r["labeled"], r["tasks"]) for r in rounds] == [(False, 2), (True, 2)]
    for r in rounds:
        assert r["expected"] > 0 and r["found"] == r["expected"]
        assert r["intersection"] == r["reference"]
        assert all(w >= 2 for w in r["winners"]) and all(b > 0 for b in r["proof_blocks"])
    assert set(rounds[1]["intersection"].values()) <= {"low", "lower-middle", "middle", "upper-middle", "high"}
    assert all(v is None for v in rounds[0]["intersection"].values())
    assert "Private set intersection" in report.render_text()
    wrong = [node for node in report.nodes if node.behaviour == "wrong"]
    assert wrong and all(node.slashed_wei > 0 for node in wrong)
    assert all(node.slashed_wei == 0 for node in report.nodes if node.behaviour == "honest")
    payload = json.loads(json.dumps(report.to_json_dict()))
    assert payload["workflows"][0]["data"]["rounds"][1]["labels_equal"] is True
