"""The bench's two ceilings: the FHE pass runs every replica's program, the chain replay sends the run's votes."""
from __future__ import annotations

import pytest

from cipherquorum.exceptions import ValidationError
from cipherquorum.fhe import KeyNeeds, SecretKeyOwner
from cipherquorum.nodes.driver.fhe_pass import load_jobs, measure_fhe
from cipherquorum.nodes.driver.replay import ReplayTask, ReplicaVote, replay_chain
from cipherquorum.nodes.driver.stack import data_folder
from cipherquorum.storage import MemoryBlobStore
from cipherquorum.wire import TaskManifest, encode


def _stored_task(store: MemoryBlobStore, owner: SecretKeyOwner, program: str, inputs: int, params: dict) -> str:
    bundle_ref = store.put(owner.bundle.to_bytes())
    refs = store.put_many([owner.encrypt([1, 0, 0]).to_bytes() for _ in range(inputs)])
    manifest = TaskManifest(program=program, preset="bfv-2048", key_bundle_ref=bundle_ref, input_refs=tuple(refs),
                            params=params, time_limit_s=30.0, client="0x" + "11" * 20, label="unit")
    return store.put(encode(manifest))


@pytest.fixture(scope="module")
def owner() -> SecretKeyOwner:
    """A bfv-2048 key owner for the FHE pass."""
    return SecretKeyOwner.generate("bfv-2048", KeyNeeds())


def test_fhe_pass_runs_every_replica_of_every_task(owner) -> None:
    """Each task's program runs once per replica on the stored inputs, and CPU time is counted."""
    store = MemoryBlobStore()
    tasks = [(_stored_task(store, owner, "histogram@1", 6, {"bins": 3}), 3),
             (_stored_task(store, owner, "sum@1", 4, {"width": 3}), 2)]
    jobs = load_jobs(store, tasks)
    assert [len(job.inputs) for job in jobs] == [6, 4]
    cost = measure_fhe(store, jobs)
    assert (cost.runs, cost.inputs) == (5, 3 * 6 + 2 * 4)
    assert cost.cpu_s > 0 and set(cost.per_program_cpu_s) == {"histogram@1", "sum@1"}


def test_fhe_pass_refuses_a_workload_that_does_not_run(owner) -> None:
    """A program that fails on its inputs makes the pass fail rather than time the wrong work."""
    store = MemoryBlobStore()
    jobs = load_jobs(store, [(_stored_task(store, owner, "histogram@1", 2, {"bins": 0}), 1)])
    with pytest.raises(ValidationError, match="did not succeed"):
        measure_fhe(store, jobs)


def test_chain_replay_sends_the_votes_and_finalizes_after_a_silence(small_scenario) -> None:
    """The replay sends as the roles do: the client creates its tasks in one transaction, each node commits, then
    reveals, all of its tasks in one; a replica that never reveals leaves its task to the client's finalize."""
    honest = (ReplicaVote(True, True, 0),) * 3
    silent = (ReplicaVote(True, True, 0), ReplicaVote(True, True, 0), ReplicaVote(True, False, 0))
    cost = replay_chain(small_scenario, [ReplayTask(0, "histogram@1", honest), ReplayTask(0, "histogram@1", honest),
                                         ReplayTask(0, "histogram@1", silent)])
    assert cost.by_function == {"createTasks": 1, "commitMany": 3, "revealMany": 3, "finalize": 1}
    assert cost.transactions == 8 and cost.settled == 3 and cost.chain_s > 0 and cost.gas_used > 0


def test_chain_replay_needs_one_vote_per_replica(small_scenario) -> None:
    """A task with fewer votes than the replication is refused before anything starts."""
    with pytest.raises(ValidationError, match="one vote per replica"):
        replay_chain(small_scenario, [ReplayTask(0, "histogram@1", (ReplicaVote(True, True),))])


def test_a_named_data_folder_is_kept_and_a_temporary_one_is_removed_even_after_an_error(tmp_path, monkeypatch) -> None:
    """bench and load run in ``data_folder``: the user's folder stays; the one made for the run does not."""
    named = tmp_path / "mine"
    with data_folder(named, "cq-test-") as folder:
        assert folder == named
        (folder / "blob").parent.mkdir(parents=True)
        (folder / "blob").write_bytes(b"x")
    assert (named / "blob").read_bytes() == b"x"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    with data_folder(None, "cq-test-") as folder:
        assert folder.parent == scratch and folder.name.startswith("cq-test-")
        (folder / "blob").write_bytes(b"x")
    assert not list(scratch.iterdir())
    with pytest.raises(RuntimeError), data_folder(None, "cq-test-") as folder:
        (folder / "blob").write_bytes(b"x")
        raise RuntimeError("the run failed")
    assert not list(scratch.iterdir())
