"""A compute node started with its sends held fetches and computes its assignments, but sends nothing until it
is released (a run creates its tasks meanwhile, and the matching stays a function of the seed alone).

The node is the plain role class with its own loop thread, against a real devnet and a real FHE key set; the
blob store is in memory, because where blobs live is beside the point here.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from cipherquorum.chain import TaskMarket, derive_account
from cipherquorum.devnet import Devnet
from cipherquorum.fhe import SecretKeyOwner, program_id
from cipherquorum.measurement.spans import Phase
from cipherquorum.nodes.compute import ComputeNode, ComputeNodeConfig
from cipherquorum.protocol import TaskParams
from cipherquorum.storage import MemoryBlobStore
from cipherquorum.types import ExecStatus, TaskState, blob_id_to_bytes32
from cipherquorum.wire import TaskManifest, encode

SEED = "compute-held"
ETHER = 10**18


@pytest.fixture
def market() -> Iterator[TaskMarket]:
    with Devnet(seed=SEED) as devnet:
        deployer = derive_account(SEED, "deployer", 0)
        devnet.fund_many([deployer.address, derive_account(SEED, "node", 0).address,
                          derive_account(SEED, "client", 0).address], 100 * ETHER)
        yield TaskMarket.deploy(devnet.url, deployer, min_stake_wei=ETHER, slash_wei=ETHER // 2, exit_cooldown_s=1)


def _wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    deadline_s = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline_s, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_held_node_computes_but_sends_nothing_until_it_is_released(market: TaskMarket) -> None:
    keys = SecretKeyOwner.generate("bfv-2048")
    store = MemoryBlobStore()
    inputs = [store.put(keys.encrypt([i]).to_bytes()) for i in range(3)]
    manifest_ref = store.put(encode(TaskManifest(
        program="sum@1", preset="bfv-2048", key_bundle_ref=store.put(keys.bundle.to_bytes()),
        input_refs=tuple(inputs), params={}, time_limit_s=5.0, client="client", label="held")))
    node = ComputeNode(ComputeNodeConfig(
        index=0, behaviour="honest", seed=SEED, rpc_url=market.rpc_url, market_address=market.address,
        stake_wei=2 * ETHER, capacity=4, price_wei=1, start_block=market.block_number(), poll_interval_s=0.05), store)
    node.register()
    node.start(send=False)
    try:
        client = market.with_account(derive_account(SEED, "client", 0))
        task_id, _ = client.create_task(TaskParams(
            program_id=program_id("sum@1"), manifest_ref=blob_id_to_bytes32(manifest_ref), replication=1, quorum=1,
            commit_window_s=60, reveal_window_s=30, time_limit_s=5, reward_per_node_wei=10**15))
        created_block = market.block_number()
        _wait_for(lambda: any(span.phase is Phase.COMPUTE for span in node.spans()[0]), "the node to compute")
        time.sleep(0.3)  # several more polling steps
        assert market.block_number() == created_block  # nothing sent (the devnet mines one block per transaction)
        assert node.status().committed == 0
        assert market.task(task_id).state is TaskState.ACTIVE
        node.release()
        _wait_for(lambda: market.task(task_id).state is TaskState.COMPLETED, "the task to complete")
    finally:
        node.stop()
    assert market.proof(task_id).status is ExecStatus.SUCCESS
    assert node.status().committed == node.status().revealed == 1
