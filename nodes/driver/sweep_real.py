"""The sweep's real mode: a grid point's trials as tasks of a full market (Ray roles, the devnet, FHE, storage).

Trial t is task t, as in contract mode: the point's registry registers in order (each node a compute node whose
behaviour is the point's kind when it is byzantine), one client creates one task at a time and the next only once
the last is settled and every slashed node has added its loss back (``restake``). On a devnet seeded with the
point's seed this gives contract mode's assignments, and the nodes' real FHE results decide the outcomes.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from cipherquorum.chain import ChainEvent, TaskMarket, derive_account
from cipherquorum.chain.views import TxSummary
from cipherquorum.exceptions import NodeError, ValidationError
from cipherquorum.fhe import SecretKeyOwner, execute
from cipherquorum.nodes.client import TaskSpec
from cipherquorum.nodes.driver.stack import running_market
from cipherquorum.settings.scenario import (
    ChainConfig,
    FheConfig,
    MarketConfig,
    NodeGroup,
    PopulationConfig,
    RunConfig,
    Scenario,
)
from cipherquorum.study.contract import MarketSetup, PointTally, Trial
from cipherquorum.study.grid import GridPoint
from cipherquorum.study.sweep import TrialRunner
from cipherquorum.study.theory import Outcome
from cipherquorum.types import Address, TaskEnd, TaskId

MAX_REAL_NODES = 12
"""Most nodes a real-mode point starts (each is a Ray actor, a process of 100-200 MB)."""
PRESET = "bfv-2048"
PROGRAM = "sum@1"
INPUTS = (3, 1, 4, 1, 5)
"""What each trial's task sums (one ciphertext per value, under the driver's own key)."""
COMMIT_WINDOW_S, REVEAL_WINDOW_S, TIME_LIMIT_S = 60, 30, 30
RESTAKE_WAIT_S = 30.0
GAS_RESERVE_WEI = 10**19


def real_scenario(point: GridPoint, setup: MarketSetup) -> Scenario:
    """The market of ``point``: its registry's nodes in order, each restaking after a slash, one client.

    Raises ValidationError for a registry of more than MAX_REAL_NODES nodes.
    """
    registry = point.registry
    if registry.size > MAX_REAL_NODES:
        raise ValidationError(f"real mode starts one process per node, at most {MAX_REAL_NODES} "
                              f"(got a registry of {registry.size} nodes at {point.label}); use contract mode")
    groups = tuple(NodeGroup(count=1, behaviour=point.kind.value if bad else "honest", stake_wei=stake,
                             capacity=1, price_wei=0, restake=True)
                   for stake, bad in zip(registry.stakes_wei, registry.byzantine))
    fund_wei = max(registry.stakes_wei) * 2 + GAS_RESERVE_WEI
    escrow_wei = point.trials * point.replication * setup.prices.reward_per_node_wei
    return Scenario(
        run=RunConfig(name=f"sweep-real-{point.seed}", seed=setup.seed),
        chain=ChainConfig(min_stake_wei=setup.min_stake_wei, slash_wei=setup.prices.slash_wei,
                          fund_wei=max(fund_wei, escrow_wei + GAS_RESERVE_WEI)),
        market=MarketConfig(replication=point.replication, quorum=point.quorum,
                            reward_per_node_wei=setup.prices.reward_per_node_wei, commit_window_s=COMMIT_WINDOW_S,
                            reveal_window_s=REVEAL_WINDOW_S, time_limit_s=TIME_LIMIT_S),
        fhe=FheConfig(PRESET), population=PopulationConfig(respondents=1, shards=1), nodes=groups, studies=())


def real_trials(point: GridPoint, setup: MarketSetup, data_dir: Path,
                on_trial: Callable[[Trial], None] | None = None) -> PointTally:
    """Run ``point.trials`` trials of ``point`` on a full market started in ``data_dir`` and tally them.

    Raises ValidationError for a registry too large for real mode, NodeError if a trial does not settle or a
    slashed node does not restake in time, and the market's errors.
    """
    scenario = real_scenario(point, setup)
    registry = point.registry
    nodes = [Address(derive_account(setup.seed, "node", i).address) for i in range(registry.size)]
    byzantine = frozenset(node.lower() for node, bad in zip(nodes, registry.byzantine) if bad)
    escrow_wei = point.replication * setup.prices.reward_per_node_wei
    tally = PointTally(point.replication, point.quorum)
    started = time.perf_counter()
    with running_market(scenario, data_dir, ray_address="", clients=1) as stack:
        keys = SecretKeyOwner.generate(PRESET)
        store = stack.store
        bundle_ref = store.put(keys.bundle.to_bytes())
        inputs = [keys.encrypt([value]).to_bytes() for value in INPUTS]
        input_refs = tuple(store.put_many(inputs))
        honest_hash = bytes(execute(PROGRAM, keys.bundle, inputs, {}, TIME_LIMIT_S).result_hash)
        for started_node in [node.submit_start() for node in stack.nodes]:
            started_node.result()
        market = stack.market
        stack.clients.open_requester(0)
        for trial in range(point.trials):
            spec = TaskSpec(label=f"trial {trial + 1}", program=PROGRAM, input_refs=input_refs,
                            key_bundle_ref=bundle_ref, preset=PRESET)
            first_block = market.block_number() + 1
            (task_id,) = stack.clients.create_tasks(0, [spec])
            (outcome,) = [o for o in stack.clients.submit_await_tasks(0, COMMIT_WINDOW_S + REVEAL_WINDOW_S + 60)
                          .result() if o.task_id == task_id]
            if outcome.state is TaskEnd.UNFINISHED:
                raise NodeError(f"{point.label}: trial {trial + 1} (task {task_id}) did not settle in time")
            events = market.events(first_block, names=("TaskMatched", "Rewarded", "Slashed", "Refunded",
                                                       "TaskCompleted"), task_id=task_id)
            _await_restakes(market, nodes, registry.stakes_wei, point.label)
            gas = _gas_by_sender(market.transactions(first_block, market.block_number()))
            result = _trial(task_id, events, honest_hash, byzantine, gas)
            tally.add(result, frozenset(Address(n) for n in byzantine), escrow_wei)
            if on_trial is not None:
                on_trial(result)
    tally.seconds = time.perf_counter() - started
    return tally


def real_trials_in(folder: Path) -> TrialRunner:
    """The sweep's trial runner for real mode: each point's market keeps its data under ``folder``."""

    def run(point: GridPoint, setup: MarketSetup) -> PointTally:
        return real_trials(point, setup, folder / point.label.replace("/", "_"))

    return run


def _gas_by_sender(transactions: list[TxSummary]) -> dict[str, int]:
    """Gas each sender spent on creating, committing and revealing (not restaking), by lower-case address."""
    gas: dict[str, int] = {}
    for tx in transactions:
        if tx.function in ("createTask", "createTasks", "commit", "commitMany", "reveal", "revealMany"):
            gas[tx.sender.lower()] = gas.get(tx.sender.lower(), 0) + tx.gas_used
    return gas


def _trial(task_id: TaskId, events: list[ChainEvent], honest_hash: bytes, byzantine: frozenset[str],
           gas: dict[str, int]) -> Trial:
    """One settled task as a Trial (addresses in lower-case hex, as contract mode keeps them)."""
    assigned: tuple[Address, ...] = ()
    credited: dict[Address, int] = {}
    slashed: dict[Address, int] = {}
    refund = 0
    outcome = Outcome.NO_CONSENSUS
    for event in events:
        args = event.args
        if event.name == "TaskMatched":
            assigned = tuple(Address(node.lower()) for node in args["nodes"])
        elif event.name == "Rewarded":
            credited[Address(args["node"].lower())] = args["amountWei"]
        elif event.name == "Slashed":
            slashed[Address(args["node"].lower())] = args["amountWei"]
        elif event.name == "Refunded":
            refund = args["amountWei"]
        elif event.name == "TaskCompleted":
            outcome = Outcome.CORRECT if bytes(args["resultHash"]) == honest_hash else Outcome.WRONG
    others = sum(spent for sender, spent in gas.items() if sender not in assigned)  # the client's createTask
    return Trial(task_id, assigned, sum(node in byzantine for node in assigned), outcome, credited, slashed, refund,
                 others, {node: gas.get(node, 0) for node in assigned})


def _await_restakes(market: TaskMarket, nodes: list[Address], stakes_wei: tuple[int, ...], label: str) -> None:
    """Wait until every node's stake is back to its registered one; raises NodeError after RESTAKE_WAIT_S."""
    deadline_s = time.monotonic() + RESTAKE_WAIT_S
    while True:
        short = [node for node, stake in zip(nodes, stakes_wei) if market.node(node).stake_wei < stake]
        if not short:
            return
        if time.monotonic() > deadline_s:
            raise NodeError(f"{label}: nodes {', '.join(short)} did not restake within {RESTAKE_WAIT_S:g} s")
        time.sleep(0.05)


__all__ = ["MAX_REAL_NODES", "real_scenario", "real_trials", "real_trials_in"]
