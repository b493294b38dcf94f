"""Each byzantine behaviour is caught by consensus on the real stack (Ray, py-evm, Pyfhel, files)."""
from __future__ import annotations

from pathlib import Path

EXPECTED_SLASH = {
    "wrong": {"dissent"},
    "colluding": {"dissent"},
    "lazy": {"no_reveal"},
    "crash": {"no_commit"},
    "slow": {"no_commit"},
}
SHORTER_WINDOWS = (("commit_window_s = 15", "commit_window_s = 8"), ("reveal_window_s = 10", "reveal_window_s = 5"),
                   ("time_limit_s = 15", "time_limit_s = 8"))
"""byzantine.toml's windows and what the test runs it with."""


def test_every_behaviour_is_caught_while_every_task_reaches_consensus(run_scenario, scenario_path,
                                                                     tmp_path: Path) -> None:
    """byzantine.toml, with its commit and reveal windows shortened (every replica takes milliseconds, so the
    silent nodes' deadlines pass sooner): tasks complete and verify; each byzantine node the matching drew is
    slashed for its own fault, and no other node is.

    Which nodes the seeded matching draws is the contract's pseudo-random choice: a byzantine node that drew no
    task has nothing to be caught at, so the checks of a behaviour hold for the nodes that had a task.
    """
    text = scenario_path("byzantine").read_text()
    for shipped, short in SHORTER_WINDOWS:
        assert shipped in text
        text = text.replace(shipped, short)
    scenario = tmp_path / "byzantine.toml"
    scenario.write_text(text)
    report = run_scenario(scenario)
    assert report.tasks and all(t.status == "completed" and t.verified for t in report.tasks)
    caught = set()
    for node in report.nodes:
        if node.behaviour == "honest" or node.assigned == 0:
            assert node.slashed_wei == 0, node
            continue
        caught.add(node.behaviour)
        assert node.slashed_wei > 0, node
        assert set(node.slash_reasons) == EXPECTED_SLASH[node.behaviour], node
    assert caught and caught <= set(EXPECTED_SLASH)
    assert all(not node.alive for node in report.nodes if node.behaviour == "crash" and node.assigned)
    lazy = [node for node in report.nodes if node.behaviour == "lazy" and node.assigned]
    assert all(any("BadSeal" in note for note in node.notes) for node in lazy)
    assert report.studies[0].verified


def test_no_consensus_is_reported_with_the_refund(run_scenario, scenario_path) -> None:
    """When no result reaches the quorum the task is reported as no_consensus and the client is refunded."""
    report = run_scenario(scenario_path("split"))
    assert report.tasks
    for task in report.tasks:
        assert task.status == "no_consensus" and not task.verified
        assert task.refund_wei == 3 * 10**16
    assert all(node.slashed_wei == 0 for node in report.nodes)
    assert "no consensus, client refunded" in report.render_text()


def test_same_seed_gives_the_same_report(run_scenario, scenario_path) -> None:
    """Two runs of one scenario agree on everything but timings and ciphertext hashes.

    FHE encryption draws fresh randomness inside SEAL (Pyfhel cannot seed it), so ciphertexts and the hashes
    of results differ between runs; assignments, votes, verdicts, payments and decrypted results do not. The
    number of blocks follows timing too: a node sends in one transaction whatever commits or reveals are ready,
    so a task's timeline agrees on its events and their nodes, not on their blocks.
    """
    first, second = (_comparable(run_scenario(scenario_path("same_seed"))) for _ in range(2))
    assert first == second
    assert first["tasks"] and all(t["verified"] for t in first["tasks"])


def _comparable(report) -> dict:
    data = report.to_json_dict()
    data.pop("timings_s")
    data["chain"].pop("blocks")
    for task in data["tasks"]:
        task.pop("latency_s")
        task.pop("result_hash")
        for vote in task["votes"]:
            vote.pop("result_hash")
        task["timeline"] = sorted((entry["event"], entry["node"]) for entry in task["timeline"])  # blocks vary
    for node in data["nodes"]:
        node.pop("notes")
    return data
