"""A compute node waits for a restarting storage only as long as its commit deadline leaves room to commit.

The node is the plain role class, driven step by step against a devnet of this module's own (its block time
is the wall clock, as the node's deadlines assume); the store is in memory and says it is restarting until a
set time, as a RemoteBlobStore does while its actor restarts.
"""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from cipherquorum.chain import TaskMarket, derive_account
from cipherquorum.devnet import Devnet
from cipherquorum.exceptions import StorageRestarting
from cipherquorum.fhe import SecretKeyOwner, program_id
from cipherquorum.nodes.compute import COMPUTE_ROOM_S, ComputeNode, ComputeNodeConfig
from cipherquorum.protocol import TaskParams
from cipherquorum.storage import MemoryBlobStore
from cipherquorum.types import BlobId, ExecStatus, TaskState, blob_id_to_bytes32
from cipherquorum.wire import TaskManifest, encode

pytestmark = pytest.mark.slow

SEED = "compute-storage-deadlines"
ETHER = 10**18


class RestartingStore(MemoryBlobStore):
    """An in-memory store whose every call raises StorageRestarting until wall-clock ``back_s``."""

    def __init__(self) -> None:
        super().__init__()
        self.back_s = 0.0
        self.refused = 0

    def _restarting(self) -> None:
        if time.time() < self.back_s:
            self.refused += 1
            raise StorageRestarting("storage.get_many: the storage's process died and is restarting")

    def get(self, blob_id: BlobId) -> bytes:
        self._restarting()
        return super().get(blob_id)

    def put(self, data: bytes) -> BlobId:
        self._restarting()
        return super().put(data)


@pytest.fixture
def market() -> Iterator[TaskMarket]:
    """A devnet of its own with a deployed market and funded node and client accounts (the only node
    registered is the test's, so the task is matched to it)."""
    with Devnet(seed=SEED) as devnet:
        deployer = derive_account(SEED, "deployer", 0)
        devnet.fund_many([deployer.address, derive_account(SEED, "node", 0).address,
                          derive_account(SEED, "client", 0).address], 100 * ETHER)
        yield TaskMarket.deploy(devnet.url, deployer, min_stake_wei=ETHER, slash_wei=ETHER // 2, exit_cooldown_s=1)


@pytest.mark.parametrize(("case", "commit_window_s", "down_for_s", "expected"), [
    ("back within the room to compute", 12, 2.0, ExecStatus.SUCCESS),
    ("back only after the room to compute", 8, 8 - COMPUTE_ROOM_S + 2.0, ExecStatus.INPUT_UNAVAILABLE),
])
def test_a_node_waits_for_a_restarting_storage_until_its_commit_deadline_leaves_no_room(
        case: str, commit_window_s: int, down_for_s: float, expected: ExecStatus, market: TaskMarket) -> None:
    """Inputs back in time are computed on; inputs not back by then are committed as INPUT_UNAVAILABLE in time."""
    keys = SecretKeyOwner.generate("bfv-2048")
    store = RestartingStore()
    bundle_ref = store.put(keys.bundle.to_bytes())
    inputs = [store.put(keys.encrypt([i]).to_bytes()) for i in range(3)]
    manifest_ref = store.put(encode(TaskManifest(
        program="sum@1", preset="bfv-2048", key_bundle_ref=bundle_ref, input_refs=tuple(inputs), params={},
        time_limit_s=5.0, client="client", label=case)))
    node = ComputeNode(ComputeNodeConfig(
        index=0, behaviour="honest", seed=SEED, rpc_url=market.rpc_url, market_address=market.address,
        stake_wei=2 * ETHER, capacity=4, price_wei=1, start_block=market.block_number()), store)
    node.register()
    client = market.with_account(derive_account(SEED, "client", 0))
    store.back_s = time.time() + down_for_s
    task_id, _ = client.create_task(TaskParams(
        program_id=program_id("sum@1"), manifest_ref=blob_id_to_bytes32(manifest_ref), replication=1, quorum=1,
        commit_window_s=commit_window_s, reveal_window_s=10, time_limit_s=5, reward_per_node_wei=10**15))
    deadline_s = time.time() + commit_window_s + 10 + 5
    while market.task(task_id).state is TaskState.ACTIVE and time.time() < deadline_s:
        node.step()
        time.sleep(0.1)
    assert market.task(task_id).state is TaskState.COMPLETED, node.status().notes
    assert market.proof(task_id).status is expected
    assert store.refused > 0  # the node did meet the restarting storage
    assert node.status().committed == 1
