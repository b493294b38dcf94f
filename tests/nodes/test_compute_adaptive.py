"""A compute node seated by an adaptive task's extension takes the task like a fresh assignment: it computes,
commits and reveals, pricing its reveal at the task's full replication and maximum, and the task completes.

The nodes are the plain role class, driven step by step in this process against a real devnet, real FHE keys
and the real sum@1 program; only the blob store is in memory.
"""
from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from cipherquorum.chain import TaskMarket, derive_account
from cipherquorum.devnet import Devnet
from cipherquorum.fhe import SecretKeyOwner, program_id
from cipherquorum.nodes.compute import ComputeNode, ComputeNodeConfig
from cipherquorum.protocol import TaskParams
from cipherquorum.storage import MemoryBlobStore
from cipherquorum.types import TaskState, blob_id_to_bytes32
from cipherquorum.wire import TaskManifest, encode

SEED = "compute-adaptive"
ETHER = 10**18


@pytest.fixture(scope="module")
def chain() -> Iterator[tuple[Devnet, TaskMarket]]:
    """A devnet with a deployed market and funded node and client accounts."""
    with Devnet(seed=SEED) as devnet:
        deployer = derive_account(SEED, "deployer", 0)
        devnet.fund_many([deployer.address, *(derive_account(SEED, "node", i).address for i in range(3)),
                          derive_account(SEED, "client", 0).address], 100 * ETHER)
        yield devnet, TaskMarket.deploy(devnet.url, deployer, min_stake_wei=ETHER, slash_wei=ETHER // 2,
                                        exit_cooldown_s=1)


@pytest.mark.slow
def test_a_node_added_by_an_extension_computes_and_completes_the_task(
    chain: tuple[Devnet, TaskMarket], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """r_min=2, q=2, r_max=3 on an honest and a wrong node: they disagree, the contract adds the third (honest)
    node, which computes sum@1, commits and reveals; the task completes with the two honest nodes, the wrong
    one is slashed, and the added node's reveal was priced at replication 3, maximum 3."""
    devnet, market = chain
    priced: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = []
    gas_limit = TaskMarket.gas_limit

    def recorded(self: TaskMarket, function: str, replications: Sequence[int] = (), **kwargs: Any) -> int:
        priced.append((function, tuple(replications), tuple(kwargs.get("max_replications", ()))))
        return gas_limit(self, function, replications, **kwargs)

    monkeypatch.setattr(TaskMarket, "gas_limit", recorded)
    store = MemoryBlobStore()
    keys = SecretKeyOwner.generate("bfv-2048")
    bundle_ref = store.put(keys.bundle.to_bytes())
    inputs = tuple(store.put(keys.encrypt([i]).to_bytes()) for i in range(3))
    manifest_ref = store.put(encode(TaskManifest(
        program="sum@1", preset="bfv-2048", key_bundle_ref=bundle_ref, input_refs=inputs, params={},
        time_limit_s=10.0, client="client", label="adaptive test")))
    start = market.block_number()

    def node(index: int, behaviour: str) -> ComputeNode:
        return ComputeNode(ComputeNodeConfig(
            index=index, behaviour=behaviour, seed=SEED, rpc_url=devnet.url, market_address=market.address,
            stake_wei=2 * ETHER, capacity=4, price_wei=1, start_block=start), store)

    first = [node(0, "honest"), node(1, "wrong")]
    for replica in first:
        replica.register()
    client = market.with_account(derive_account(SEED, "client", 0))
    task_id, _ = client.create_adaptive_task(TaskParams(
        program_id=program_id("sum@1"), manifest_ref=blob_id_to_bytes32(manifest_ref), replication=2, quorum=2,
        commit_window_s=60, reveal_window_s=60, time_limit_s=30, reward_per_node_wei=10**15), 3)
    added = node(2, "honest")  # registered after the match, so only the extension can seat it
    added.register()
    nodes = [*first, added]
    for _ in range(150):  # steps paced as the node's loop paces them
        for replica in nodes:
            replica.step()
        if market.task(task_id).state is not TaskState.ACTIVE:
            break
        time.sleep(0.05)
    assert market.task(task_id).state is TaskState.COMPLETED, [n.status().notes for n in nodes]
    extended = market.events(start, names=("TaskExtended",), task_id=task_id)
    assert [tuple(event.args["added"]) for event in extended] == [(added.address,)]
    assert set(market.proof(task_id).agreeing) == {first[0].address, added.address}
    slashed = market.events(start, names=("Slashed",), task_id=task_id)
    assert [event.args["node"] for event in slashed] == [first[1].address]
    assert added.status().assigned == 1 and added.status().revealed == 1
    assert ("reveal", (3,), (3,)) in priced
