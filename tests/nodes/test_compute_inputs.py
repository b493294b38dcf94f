"""A compute node turns every kind of bad task input into the execution status that replicas agree on.

The node is the plain role class, driven step by step in this process against a real devnet and a real
FHE key set; only the blob store is in memory, because where blobs live is beside the point here.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from cipherquorum.chain import TaskMarket, derive_account
from cipherquorum.devnet import Devnet
from cipherquorum.fhe import SecretKeyOwner, program_id
from cipherquorum.nodes.compute import ComputeNode, ComputeNodeConfig
from cipherquorum.protocol import TaskParams
from cipherquorum.storage import MemoryBlobStore
from cipherquorum.types import BlobId, ExecStatus, TaskState, blob_id_to_bytes32
from cipherquorum.wire import TaskManifest, encode

SEED = "compute-inputs"
ETHER = 10**18


@pytest.fixture(scope="module")
def chain() -> Iterator[tuple[Devnet, TaskMarket]]:
    """A devnet with a deployed market and funded node and client accounts."""
    with Devnet(seed=SEED) as devnet:
        deployer = derive_account(SEED, "deployer", 0)
        devnet.fund_many([deployer.address, derive_account(SEED, "node", 0).address,
                          derive_account(SEED, "client", 0).address], 100 * ETHER)
        market = TaskMarket.deploy(devnet.url, deployer, min_stake_wei=ETHER, slash_wei=ETHER // 2,
                                   exit_cooldown_s=1)
        yield devnet, market


@pytest.fixture(scope="module")
def keys() -> SecretKeyOwner:
    """A client's FHE key set on the smallest preset."""
    return SecretKeyOwner.generate("bfv-2048")


@pytest.fixture
def store() -> MemoryBlobStore:
    """The blob store the node and the client share."""
    return MemoryBlobStore()


def _manifest(keys: SecretKeyOwner, bundle_ref: BlobId, inputs: list[BlobId], program: str = "sum@1") -> bytes:
    return encode(TaskManifest(program=program, preset="bfv-2048", key_bundle_ref=bundle_ref,
                               input_refs=tuple(inputs), params={}, time_limit_s=10.0, client="client",
                               label="input test"))


CASES: dict[str, Callable] = {}


def case(name: str) -> Callable[[Callable], Callable]:
    def register(build: Callable) -> Callable:
        CASES[name] = build
        return build

    return register


@case("valid")
def _valid(store, keys, bundle_ref):
    inputs = [store.put(keys.encrypt([i]).to_bytes()) for i in range(3)]
    return "sum@1", store.put(_manifest(keys, bundle_ref, inputs)), ExecStatus.SUCCESS


@case("manifest missing")
def _manifest_missing(store, keys, bundle_ref):
    return "sum@1", BlobId("ab" * 32), ExecStatus.INPUT_UNAVAILABLE


@case("manifest garbage")
def _manifest_garbage(store, keys, bundle_ref):
    return "sum@1", store.put(b"\x93not a manifest"), ExecStatus.INPUT_INVALID


@case("input missing")
def _input_missing(store, keys, bundle_ref):
    return "sum@1", store.put(_manifest(keys, bundle_ref, [BlobId("cd" * 32)])), ExecStatus.INPUT_UNAVAILABLE


@case("input corrupted")
def _input_corrupted(store, keys, bundle_ref):
    good = store.put(keys.encrypt([1]).to_bytes())
    store._blobs[good] = b"flipped bits"  # corrupt it behind the store's back
    return "sum@1", store.put(_manifest(keys, bundle_ref, [good])), ExecStatus.INPUT_CHECKSUM_ERROR


@case("input not a ciphertext")
def _input_garbage(store, keys, bundle_ref):
    junk = store.put(b"\x00" * 100)
    return "sum@1", store.put(_manifest(keys, bundle_ref, [junk])), ExecStatus.INPUT_INVALID


@case("input under other keys")
def _input_foreign(store, keys, bundle_ref):
    foreign = store.put(SecretKeyOwner.generate("bfv-8192").encrypt([1]).to_bytes())
    return "sum@1", store.put(_manifest(keys, bundle_ref, [foreign])), ExecStatus.INPUT_INVALID


@case("program unknown")
def _program_unknown(store, keys, bundle_ref):
    inputs = [store.put(keys.encrypt([1]).to_bytes())]
    return "nosuch@9", store.put(_manifest(keys, bundle_ref, inputs, "nosuch@9")), ExecStatus.PROGRAM_UNKNOWN


@case("manifest names another program")
def _program_mismatch(store, keys, bundle_ref):
    inputs = [store.put(keys.encrypt([1]).to_bytes())]
    return "mean@1", store.put(_manifest(keys, bundle_ref, inputs, "sum@1")), ExecStatus.PROGRAM_UNKNOWN


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_becomes_the_agreed_status(name: str, chain, keys: SecretKeyOwner,
                                             store: MemoryBlobStore) -> None:
    """The node commits and reveals the status the table names, and the task completes with it."""
    devnet, market = chain
    bundle_ref = store.put(keys.bundle.to_bytes())
    program, manifest_ref, expected = CASES[name](store, keys, bundle_ref)
    node = ComputeNode(ComputeNodeConfig(
        index=0, behaviour="honest", seed=SEED, rpc_url=devnet.url, market_address=market.address,
        stake_wei=2 * ETHER, capacity=64, price_wei=1, start_block=market.block_number()), store)
    node.register()
    client = market.with_account(derive_account(SEED, "client", 0))
    task_id, _ = client.create_task(TaskParams(
        program_id=program_id(program), manifest_ref=blob_id_to_bytes32(manifest_ref), replication=1, quorum=1,
        commit_window_s=60, reveal_window_s=60, time_limit_s=30, reward_per_node_wei=10**15))
    for _ in range(50):  # steps paced as the node's loop paces them (a lone commit or reveal waits GATHER_S)
        node.step()
        if market.task(task_id).state is not TaskState.ACTIVE:
            break
        time.sleep(0.05)
    assert market.task(task_id).state is TaskState.COMPLETED, node.status().notes
    assert market.proof(task_id).status is expected
