"""Start a market's roles for a scenario: chain, contract, storage, staked compute nodes, respondents and clients."""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cipherquorum.chain import TaskMarket, derive_account
from cipherquorum.exceptions import CipherQuorumError
from cipherquorum.nodes.chain_host import ChainHandle
from cipherquorum.nodes.client import ClientConfig, ClientPoolHandle
from cipherquorum.nodes.compute import ComputeNodeConfig, ComputeNodeHandle
from cipherquorum.nodes.hosting import PendingCall, RayRuntime, RoleHandle, SpanSource
from cipherquorum.nodes.population import RespondentShardHandle, ShardAnswers
from cipherquorum.nodes.storage_host import RemoteBlobStore
from cipherquorum.settings.scenario import Scenario, Study
from cipherquorum.types import BlobId

MAX_BLOB_BYTES = 64 * 2**20


@dataclass(frozen=True)
class MarketStack:
    """The running roles of one market. ``chain`` is None on an external chain; ``start_block`` is the block
    the contract was deployed in (nodes read events from there on)."""

    market: TaskMarket
    rpc_url: str
    chain: ChainHandle | None
    store: RemoteBlobStore
    nodes: tuple[ComputeNodeHandle, ...]
    shards: tuple[RespondentShardHandle, ...]
    clients: ClientPoolHandle
    start_block: int

    @property
    def roles(self) -> list[RoleHandle]:
        """Every started role, the embedded chain among them when there is one."""
        chain: list[RoleHandle] = [self.chain] if self.chain is not None else []
        return [self.clients, self.store, *self.nodes, *self.shards, *chain]

    @property
    def span_sources(self) -> list[SpanSource]:
        """The roles that time phases of a task (the shards hand their spans back with their answers)."""
        return [self.clients, *self.nodes]


def stop_handles(handles: Sequence[RoleHandle]) -> None:
    """Stop started roles in reverse order; a role that is already gone does not stop the others."""
    for handle in reversed(handles):
        try:
            handle.shutdown()
        except CipherQuorumError:
            pass


def answer_study(shards: Sequence[RespondentShardHandle], study: Study, key_bundle_ref: BlobId,
                 respondents: int) -> list[ShardAnswers]:
    """Have the first ``respondents`` of the population answer ``study`` under the client's key bundle, every
    shard at once; return each shard's answers in shard order."""
    calls: list[PendingCall[ShardAnswers]] = []
    remaining = respondents
    for shard in shards:
        take = min(shard.count, remaining)
        remaining -= take
        if take:
            calls.append(shard.submit_answer(study, key_bundle_ref, take))
    return [call.result() for call in calls]


@contextmanager
def running_market(scenario: Scenario, data_dir: Path, *, ray_address: str, clients: int,
                   lap: Callable[[str], None] = lambda name: None) -> Iterator[MarketStack]:
    """Start Ray (``lap("ray_start")``) and every role of ``scenario``; on leaving, stop them all and Ray.

    Raises NodeError if Ray or a role cannot be started, and ChainError if the chain cannot be reached.
    """
    runtime = RayRuntime(ray_address)
    runtime.start()
    lap("ray_start")
    handles: list[RoleHandle] = []
    try:
        yield start_stack(scenario, data_dir, clustered=runtime.clustered, handles=handles, clients=clients, lap=lap)
    finally:
        stop_handles(handles)
        runtime.shutdown()


def start_stack(scenario: Scenario, data_dir: Path, *, clustered: bool, handles: list[RoleHandle], clients: int,
                lap: Callable[[str], None] = lambda name: None) -> MarketStack:
    """Start every role of ``scenario`` with ``clients`` logical clients and register the nodes; return them.

    Each started role is appended to ``handles`` at once, so the caller can stop what did start if a later
    step fails. ``lap("chain")`` and ``lap("actors")`` mark the two stages. Raises NodeError and ChainError.
    """
    seed = scenario.run.seed
    rpc_url = scenario.chain.rpc_url
    chain = None
    if scenario.chain.embedded:
        chain = ChainHandle(seed=seed, clustered=clustered)
        handles.append(chain)
        rpc_url = chain.url
    deployer = derive_account(seed, "deployer", 0)
    if chain is not None:
        accounts = [deployer.address]
        accounts += [derive_account(seed, "node", i).address for i in range(scenario.node_count)]
        accounts += [derive_account(seed, "client", i).address for i in range(clients)]
        chain.fund(accounts, scenario.chain.fund_wei)
    market = TaskMarket.deploy(rpc_url, deployer, min_stake_wei=scenario.chain.min_stake_wei,
                               slash_wei=scenario.chain.slash_wei, exit_cooldown_s=scenario.chain.exit_cooldown_s)
    start_block = market.block_number()
    lap("chain")

    store = RemoteBlobStore(str(data_dir.resolve()), MAX_BLOB_BYTES, clustered=clustered)
    handles.append(store)
    nodes = _start_nodes(scenario, rpc_url, market.address, start_block, store, clustered, handles)
    shards = _start_shards(scenario, store, clustered, handles)
    pool = ClientPoolHandle(ClientConfig(seed, rpc_url, market.address, scenario.market, scenario.fhe.preset),
                            store, clients=clients)
    handles.append(pool)
    lap("actors")
    return MarketStack(market, rpc_url, chain, store, tuple(nodes), tuple(shards), pool, start_block)


def _start_nodes(scenario: Scenario, rpc_url: str, market_address: str, start_block: int, store: RemoteBlobStore,
                 clustered: bool, handles: list[RoleHandle]) -> list[ComputeNodeHandle]:
    nodes = []
    index = 0
    for group in scenario.nodes:
        for _ in range(group.count):
            config = ComputeNodeConfig(index=index, behaviour=group.behaviour, seed=scenario.run.seed,
                                       rpc_url=rpc_url, market_address=market_address, stake_wei=group.stake_wei,
                                       capacity=group.capacity, price_wei=group.price_wei, start_block=start_block)
            nodes.append(ComputeNodeHandle(config, store, clustered=clustered))
            index += 1
    handles.extend(nodes)
    for node in nodes:  # one after another: the contract's node list, and so matching, follows the index
        node.submit_register().result()
    return nodes


def _start_shards(scenario: Scenario, store: RemoteBlobStore, clustered: bool,
                  handles: list[RoleHandle]) -> list[RespondentShardHandle]:
    population = scenario.population
    shards = []
    per_shard = math.ceil(population.respondents / population.shards)
    for shard in range(population.shards):
        first = shard * per_shard
        count = max(0, min(per_shard, population.respondents - first))
        if count:
            shards.append(RespondentShardHandle(scenario.run.seed, shard, first, count, store, clustered=clustered))
    handles.extend(shards)
    return shards


__all__ = ["MAX_BLOB_BYTES", "MarketStack", "start_stack"]
