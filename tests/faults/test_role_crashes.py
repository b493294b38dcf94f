"""kill -9 of each role during a run: the run ends in bounded time with an exit code and a report naming the fault.

A storage crash is recovered (the storage restarts on its data directory and every caller retries); a compute
node crash is survived (the market slashes the node); a crash of the client pool, the chain or a respondent
shard while it answers ends the run with EXIT_ROLE_DIED, a one-line cause and the report of what is known.
"""
from __future__ import annotations

import pytest

from cipherquorum.cli import EXIT_OK, EXIT_ROLE_DIED
from cipherquorum.nodes.driver.stack import MAX_BLOB_BYTES
from cipherquorum.nodes.storage_host import open_blob_store

pytestmark = pytest.mark.slow

TASKS = 3
"""Tasks of tests/faults/scenarios/market.toml: 24 answers, 8 per task."""


def test_a_storage_crash_is_recovered_with_every_task_verified_and_no_node_slashed(run_with_fault) -> None:
    """After kill -9 of the storage, it restarts on its data directory, every task verifies and nobody is slashed."""
    run = run_with_fault("market", "storage", "tasks started")
    assert run.code == EXIT_OK, run.stderr[-3000:]
    report = run.report
    assert len(report["tasks"]) == TASKS
    assert all(t["status"] == "completed" and t["verified"] for t in report["tasks"]), report["tasks"]
    assert all(n["slashed_wei"] == 0 and n["rewarded_wei"] > 0 for n in report["nodes"]), report["nodes"]
    assert report["fault"] is None and not report["interrupted"]
    assert [f["role"] for f in report["survived"]] == ["storage"]
    assert "restarted" in report["survived"][0]["cause"] and "storage" in run.stdout
    blobs = open_blob_store(run.data_dir, MAX_BLOB_BYTES)
    assert all(blobs.get(blob_id) for blob_id in blobs.ids())  # every acknowledged blob still hashes to its id


def test_a_storage_crash_while_the_population_answers_is_recovered(run_with_fault) -> None:
    """After kill -9 of the storage while the respondents upload their answers, every answer lands and verifies."""
    run = run_with_fault("answering", "storage", "answering")
    assert run.code == EXIT_OK, run.stderr[-3000:]
    report = run.report
    assert report["tasks"] and all(t["status"] == "completed" and t["verified"] for t in report["tasks"])
    assert report["studies"][0]["verified"] and report["studies"][0]["respondents"] == 1536
    assert [f["role"] for f in report["survived"]] == ["storage"]


def test_a_compute_node_crash_is_survived_and_the_market_slashes_the_node(run_with_fault) -> None:
    """After kill -9 of a compute node the run goes on: the two live nodes form each quorum, the dead one is slashed.

    The node dies once the tasks are created and before it may send, so it has committed to none of them.
    """
    run = run_with_fault("market", "node", "before release")
    assert run.code == EXIT_OK, run.stderr[-3000:]
    report = run.report
    assert all(t["status"] == "completed" and t["verified"] for t in report["tasks"]), report["tasks"]
    (dead,) = [n for n in report["nodes"] if not n["alive"]]
    assert dead["slashed_wei"] > 0
    assert all(n["slashed_wei"] == 0 for n in report["nodes"] if n["alive"])
    assert report["fault"] is None
    assert [f["role"] for f in report["survived"]] == [f"node-{dead['index']}"]


def test_a_client_pool_crash_ends_the_run_with_its_code_its_cause_and_the_tasks_on_chain(run_with_fault) -> None:
    """After kill -9 of the client pool the run exits EXIT_ROLE_DIED, says the pool died, and reports its tasks."""
    run = run_with_fault("market", "clients", "tasks started")
    assert run.code == EXIT_ROLE_DIED, run.stderr[-3000:]
    assert "the client pool's process died" in run.stderr
    report = run.report
    assert report["fault"]["role"] == "clients" and not report["interrupted"]
    assert "the client pool's process died" in report["fault"]["cause"]
    assert "INTERRUPTED" not in run.stdout and "FAULT" in run.stdout
    assert len(report["tasks"]) == TASKS
    assert all(len(t["assigned"]) == 3 for t in report["tasks"])  # votes read from the chain, which still runs
    assert report["chain"]["contract_balance_wei"] == report["chain"]["liabilities_wei"]


def test_a_chain_crash_ends_the_run_with_its_code_and_what_is_known_without_the_chain(run_with_fault) -> None:
    """After kill -9 of the embedded chain the run exits EXIT_ROLE_DIED, says the chain died, and lists its tasks."""
    run = run_with_fault("market", "chain", "tasks started")
    assert run.code == EXIT_ROLE_DIED, run.stderr[-3000:]
    assert "the chain's process died" in run.stderr
    report = run.report
    assert report["fault"]["role"] == "chain"
    assert [t["id"] for t in report["tasks"]] == list(range(1, TASKS + 1))
    assert len(report["nodes"]) == 3


def test_a_respondent_shard_crash_while_answering_ends_the_run_with_its_code(run_with_fault) -> None:
    """After kill -9 of a respondent shard while it answers, the run exits EXIT_ROLE_DIED naming the shard."""
    run = run_with_fault("answering", "shard", "answering")
    assert run.code == EXIT_ROLE_DIED, run.stderr[-3000:]
    assert "respondent shard 0's process died" in run.stderr
    report = run.report
    assert report["fault"]["role"] == "population-0" and report["tasks"] == []
    assert "respondent shard 0's process died" in run.stdout
