"""Gas limits from a table measured per TaskMarket function: a transaction is sent without being run first.

Sending through eth_estimateGas runs every transaction twice (or, with py-evm's bisection, about twelve times).
The table below holds what each function costs on the embedded devnet (solc 0.8.28, optimizer 200 runs,
Prague), measured with eth_estimateGas over node counts and replications, the per-node and per-replica terms
fitted to those measurements. A limit is the table's cost times ``GAS_MARGIN``; gas a transaction does not use
is refunded, so a limit above the cost is free, and one below it is an out-of-gas revert
(``tests/chain/test_gas_table.py`` checks every function's limit against eth_estimateGas over node counts,
replications and batch sizes).

What a call costs depends on the task's replication ``r``, and, where the call may match tasks, on the number
of registered nodes ``n`` (matching scans every node) and on the replication of the queued tasks it may match
(finalizing a task, registering and adding stake each try to match up to ``AUTO_MATCH_TASKS`` queued tasks).
The last reveal (or a finalize) of an adaptive task without a quorum may extend it instead of settling: that
scans every node too, and is priced at the task's maximum replication.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cipherquorum.protocol import MAX_REPLICATION

GAS_MARGIN = 1.25
"""Every limit is the table's cost times this margin (matching draws differ from one block to the next)."""
AUTO_MATCH_TASKS = 2
"""Queued tasks the contract tries to match after a finalize, a registration or added stake (its constant)."""
MAX_NODES = 256
"""Most nodes the contract registers at once (its constant): the most any matching scans."""
MAX_BATCH_GAS = 6_000_000
"""The most gas a batch asks for; the roles send fewer items per transaction rather than more (an account's gas
reserve, settings.scenario.TX_GAS_RESERVE_WEI, pays this limit at the devnet's fee cap). At 3M the quickstart's
eight tasks of replication 3 took two createTasks, and a node seated on seven of them two reveals; `cipherquorum
load scenarios/load.toml --tasks 120 --concurrency 24` took 2.17-2.36 transactions per task at 6M against
2.46-2.62 at 3M (benchmarks/OVERHEADS.md, seventh pass). A block holds 30M gas on the devnet, anvil and hardhat."""


@dataclass(frozen=True)
class Linear:
    """A cost of ``base + per_replica * r + per_node * n + per_replica_node * r * n`` gas."""

    base: int
    per_replica: int = 0
    per_node: int = 0
    per_replica_node: int = 0

    def at(self, replication: int, nodes: int) -> int:
        """The cost for a task of ``replication`` with ``nodes`` registered."""
        return (self.base + self.per_replica * replication + self.per_node * nodes
                + self.per_replica_node * replication * nodes)


@dataclass(frozen=True)
class GasCosts:
    """What each TaskMarket function costs, as measured with eth_estimateGas (``tests/chain/test_gas_table.py``
    checks the limits against it)."""

    deploy: int
    register: int
    add_stake: int
    request_exit: int
    exit: int
    withdraw: int
    create_task: Linear
    """Creating one task, matched at once (its own matching included)."""
    commit: Linear
    reveal: Linear
    """A reveal that does not finalize."""
    finalize: Linear
    """What the task's settlement adds (to the last reveal, or to a finalize call), queued matches aside."""
    match: Linear
    """Matching one queued task."""
    match_pending: int
    batch: int
    """What a batch call adds to the sum of its items (its loop, the arrays' calldata)."""
    batch_item: int
    """What each item of a batch adds to the single call's cost (the self-call, its calldata)."""
    create_adaptive: int = 0
    """What createAdaptiveTask adds to createTask's cost at the same (minimum) replication."""
    extend: Linear = Linear(0)
    """An extension of an adaptive task, in place of its settlement, at its maximum replication (the tally, the
    scan of the nodes without the seated ones, the draws and the new ballots)."""


DEVNET_COSTS = GasCosts(
    deploy=3_900_000,
    register=190_000,
    add_stake=40_000,
    request_exit=55_000,
    exit=80_000,
    withdraw=60_000,
    create_task=Linear(base=216_000, per_replica=29_200, per_node=5_000, per_replica_node=51),
    commit=Linear(base=63_000, per_replica=2_600),
    reveal=Linear(base=88_000, per_replica=2_600),
    finalize=Linear(base=100_000, per_replica=45_000),
    match=Linear(base=30_000, per_replica=29_200, per_node=5_000, per_replica_node=51),
    match_pending=30_000,
    batch=25_000,
    batch_item=12_000,
    create_adaptive=30_000,
    extend=Linear(base=20_000, per_replica=25_000, per_node=5_000, per_replica_node=60),
)


class GasTable:
    """Gas limits for the TaskMarket's functions from measured costs, with ``GAS_MARGIN``.

    ``nodes`` bounds the registered nodes. ``queued_tasks`` bounds the queued tasks a call may match (None:
    unknown, so every finalization, registration or added stake is priced with AUTO_MATCH_TASKS matches), and
    ``queued_replication`` their replication. The caller caps a limit at the block gas limit.
    """

    def __init__(self, costs: GasCosts = DEVNET_COSTS, margin: float = GAS_MARGIN) -> None:
        self._costs = costs
        self._margin = margin

    def limit(self, function: str, replications: Sequence[int] = (), *, nodes: int = MAX_NODES,
              queued_tasks: int | None = None, queued_replication: int = MAX_REPLICATION,
              max_replications: Sequence[int] = ()) -> int:
        """The gas limit for one call of ``function``; ``replications`` has one entry per task it touches
        (one for createTask, createAdaptiveTask, commit, reveal and finalize; one per item for the batch calls;
        one per task to match for matchPending). A reveal is priced as if it finalized its task, or, for a task
        whose entry in ``max_replications`` (aligned with ``replications``; empty: none is adaptive) is above
        its replication, as if it extended it, whichever costs more."""
        c = self._costs
        nodes = min(max(nodes, 0), MAX_NODES)
        tasks = tuple(replications) or (MAX_REPLICATION,)
        fixed = {"deploy": c.deploy, "requestExit": c.request_exit, "exit": c.exit, "withdraw": c.withdraw,
                 "register": c.register, "addStake": c.add_stake}
        per_task = {"createTask": c.create_task, "createAdaptiveTask": c.create_task, "commit": c.commit,
                    "reveal": c.reveal, "finalize": c.finalize}
        batches = {"createTasks": "createTask", "commitMany": "commit", "revealMany": "reveal"}
        single = batches.get(function, function)
        if function == "matchPending":
            cost, matching = c.match_pending, len(replications)
        elif function in fixed:
            cost, matching = fixed[function], AUTO_MATCH_TASKS if function in ("register", "addStake") else 0
        elif single in per_task:
            cost = sum(per_task[single].at(r, nodes) for r in tasks)
            if single == "createAdaptiveTask":
                cost += c.create_adaptive
            if single == "reveal":  # priced as the last reveal: the settlement too
                cost += sum(c.finalize.at(r, nodes) for r in tasks)
            if single in ("reveal", "finalize"):  # an extension in place of a settlement costs more
                cost += sum(max(0, c.extend.at(top, nodes) - c.finalize.at(r, nodes))
                            for r, top in zip(tasks, max_replications) if top > r)
            matching = AUTO_MATCH_TASKS * len(tasks) if single in ("reveal", "finalize") else 0
            if function in batches:
                cost += c.batch + c.batch_item * len(tasks)
        else:
            raise KeyError(f"the gas table has no TaskMarket function {function!r}")
        if queued_tasks is not None:
            matching = min(matching, queued_tasks)
        return int((cost + matching * c.match.at(queued_replication, nodes)) * self._margin)


class FixedGas(GasTable):
    """Every call gets the same limit (a measurement sends with the block gas limit and reads the gas used)."""

    def __init__(self, gas: int) -> None:
        super().__init__()
        self._gas = gas

    def limit(self, function: str, replications: Sequence[int] = (), *, nodes: int = MAX_NODES,
              queued_tasks: int | None = None, queued_replication: int = MAX_REPLICATION,
              max_replications: Sequence[int] = ()) -> int:
        return self._gas


__all__ = ["DEVNET_COSTS", "GAS_MARGIN", "MAX_BATCH_GAS", "FixedGas", "GasCosts", "GasTable", "Linear"]
