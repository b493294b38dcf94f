"""Start a market's roles for a scenario: chain, contract, storage, staked compute nodes, respondents and clients."""
from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cipherquorum.chain import TaskMarket, derive_account
from cipherquorum.chain.accounts import parse_private_key, run_addresses
from cipherquorum.chain.anvil import find_anvil
from cipherquorum.chain.funding import ExternalChain, Funder, FundingPlan, KeyFunder, NodeFunder
from cipherquorum.exceptions import ChainError, CipherQuorumError, ValidationError
from cipherquorum.nodes.chain_host import ChainHandle, ChainSpec
from cipherquorum.nodes.client import ClientConfig, ClientPoolHandle
from cipherquorum.nodes.compute import ComputeNodeConfig, ComputeNodeHandle
from cipherquorum.nodes.hosting import PendingCall, RayRuntime, RoleHandle, SpanSource
from cipherquorum.nodes.population import RespondentShardHandle, ShardAnswers
from cipherquorum.nodes.storage_host import RemoteBlobStore
from cipherquorum.settings.scenario import NODE_FUNDER, ChainConfig, ChainKind, Scenario, Study
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
def data_folder(data_dir: str | Path | None, prefix: str) -> Iterator[Path]:
    """``data_dir``, kept after; or, when it is None, a new temporary folder named ``prefix``..., removed on
    leaving."""
    if data_dir is not None:
        yield Path(data_dir)
        return
    with tempfile.TemporaryDirectory(prefix=prefix, ignore_cleanup_errors=True) as folder:
        yield Path(folder)


@contextmanager
def running_market(scenario: Scenario, data_dir: Path, *, ray_address: str, clients: int,
                   lap: Callable[[str], None] = lambda name: None) -> Iterator[MarketStack]:
    """Check the chain (``check_chain``), start Ray (``lap("ray_start")``) and every role of ``scenario``; on
    leaving, stop them all and Ray.

    Raises what ``check_chain`` raises before anything starts, NodeError if Ray or a role cannot be started,
    and ChainError if the chain cannot be reached.
    """
    runtime = RayRuntime(ray_address)
    funding = check_chain(scenario, clients, clustered=runtime.clustered)
    runtime.start()
    lap("ray_start")
    handles: list[RoleHandle] = []
    try:
        yield start_stack(scenario, data_dir, clustered=runtime.clustered, handles=handles, clients=clients, lap=lap,
                          funding=funding)
    finally:
        stop_handles(handles)
        runtime.shutdown()


def check_chain(scenario: Scenario, clients: int, *, clustered: bool,
                environ: Mapping[str, str] | None = None) -> FundingPlan | None:
    """Check, before any role starts, that the run's chain can be used; return what an external chain's funder
    will send (None when there is nothing to send: a chain the run starts, or no funder).

    Raises DependencyMissing when anvil is not installed (checked here for a local run; on a cluster the chain's
    own machine looks), ChainUnavailable when an external rpc_url does not answer, ChainError when its chain id is
    not chain.chain_id, the funder cannot pay for the run (both figures in the message) or, without a funder, an
    account of the run holds less than chain.fund_wei (the count and the first one named), and ValidationError
    for a funder key that is not one (never shown).
    """
    config = scenario.chain
    if config.kind is ChainKind.ANVIL and not clustered:
        find_anvil(config.anvil_path, environ)
    if config.kind is not ChainKind.EXTERNAL:
        return None
    external = ExternalChain(config.rpc_url, expected_chain_id=config.chain_id)
    external.check()
    funder = chain_funder(config, environ)
    addresses = run_addresses(scenario.run.seed, scenario.node_count, clients)
    if funder is not None:
        return external.plan_funding(funder, addresses, config.fund_wei)
    short = external.shortfalls(addresses, config.fund_wei)
    if short:
        first = short[0]
        raise ChainError(
            f"{len(short)} of the run's {len(addresses)} accounts on {config.rpc_url} hold less than chain.fund_wei="
            f"{config.fund_wei} (the first, {first.to}, lacks {first.amount_wei} wei), and the scenario names no "
            'funder: fund them, or set chain.funder = "node", chain.funder_key_env or chain.funder_key')
    return None


def chain_funder(config: ChainConfig, environ: Mapping[str, str] | None = None) -> Funder | None:
    """The funder ``config`` names (its key read from ``environ``, this process's environment by default), or None.

    Raises ValidationError for a key that is not one, or an environment variable that is not set (never showing
    the key).
    """
    environ = os.environ if environ is None else environ
    if config.funder == NODE_FUNDER:
        return NodeFunder()
    if config.funder_key:
        return KeyFunder(parse_private_key(config.funder_key, "chain.funder_key"), "chain.funder_key")
    if config.funder_key_env:
        name = config.funder_key_env
        if name not in environ:
            raise ValidationError(f'"chain.funder_key_env": the environment variable {name} is not set')
        return KeyFunder(parse_private_key(environ[name], f"${name}"), f"the key in ${name}")
    return None


def start_stack(scenario: Scenario, data_dir: Path, *, clustered: bool, handles: list[RoleHandle], clients: int,
                lap: Callable[[str], None] = lambda name: None, funding: FundingPlan | None = None) -> MarketStack:
    """Start every role of ``scenario`` with ``clients`` logical clients and register the nodes; return them.

    The chain comes first: one the run starts funds every account; on an external chain ``funding`` (from
    ``check_chain``), when given, is sent. Each started role is appended to ``handles`` at once, so the caller
    can stop what did start if a later step fails. ``lap("chain")`` and ``lap("actors")`` mark the two stages.
    Raises NodeError, ChainError, and DependencyMissing for a missing anvil.
    """
    seed = scenario.run.seed
    config = scenario.chain
    rpc_url = config.rpc_url
    chain = None
    addresses = run_addresses(seed, scenario.node_count, clients)
    if config.kind.managed:
        chain = ChainHandle(seed=seed, clustered=clustered,
                            spec=ChainSpec(config.kind, seed, config.anvil_path, config.chain_id))
        handles.append(chain)
        rpc_url = chain.url
        chain.fund(addresses, config.fund_wei)
    elif funding is not None:
        ExternalChain(rpc_url, expected_chain_id=config.chain_id).fund(funding)
    deployer = derive_account(seed, "deployer", 0)
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
                                       capacity=group.capacity, price_wei=group.price_wei, start_block=start_block,
                                       restake=group.restake)
            nodes.append(ComputeNodeHandle(config, store, clustered=clustered))
            index += 1
    handles.extend(nodes)
    for node in nodes:  # one after another: the contract's node list, and so matching, follows the index
        node.submit_register().result()
    return nodes


def _start_shards(scenario: Scenario, store: RemoteBlobStore, clustered: bool,
                  handles: list[RoleHandle]) -> list[RespondentShardHandle]:
    population = scenario.population
    shards: list[RespondentShardHandle] = []
    if not scenario.studies:  # a scenario of workflows alone: their roles host their own people
        return shards
    per_shard = math.ceil(population.respondents / population.shards)
    for shard in range(population.shards):
        first = shard * per_shard
        count = max(0, min(per_shard, population.respondents - first))
        if count:
            shards.append(RespondentShardHandle(scenario.run.seed, shard, first, count, store, clustered=clustered))
    handles.extend(shards)
    return shards


__all__ = ["MAX_BLOB_BYTES", "MarketStack", "chain_funder", "check_chain", "start_stack"]
