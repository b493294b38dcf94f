"""Measurements of a run that vary from one run of a seed to the next, kept apart from its RunReport."""
from __future__ import annotations

from dataclasses import dataclass, field

from cipherquorum.chain import TxSummary
from cipherquorum.devnet import RpcMethodStats
from cipherquorum.measurement.spans import PhaseSpan, ProcessUsage
from cipherquorum.types import TaskEnd


@dataclass(frozen=True)
class TaskMetrics:
    """One task as its client saw it: which client created it, its manifest, its state and its latency."""

    task_id: int
    client: int
    manifest_ref: str
    state: TaskEnd
    latency_s: float


@dataclass(frozen=True)
class RunMetrics:
    """What a run measured about itself.

    ``tasks_s`` runs from the first task creation to the last verified result (the actors are up by then);
    ``transactions`` are those mined from the first task creation on; ``chain_rpc`` is what the embedded
    devnet served over the same time, per JSON-RPC method (empty on an external chain); ``spans`` are the
    roles' phase timings and ``usage`` each role's CPU and memory at the end of the run.
    """

    tasks_s: float
    first_block: int
    tasks: tuple[TaskMetrics, ...]
    transactions: tuple[TxSummary, ...]
    chain_rpc: dict[str, RpcMethodStats] = field(default_factory=dict)
    spans: tuple[PhaseSpan, ...] = ()
    usage: tuple[ProcessUsage, ...] = ()

    @property
    def chain_busy_s(self) -> float:
        """Seconds the embedded chain was busy serving requests during the tasks."""
        return sum(stats.busy_s for stats in self.chain_rpc.values())

    def transactions_by_function(self) -> dict[str, int]:
        """How many transactions called each TaskMarket function ("" for other transactions)."""
        counts: dict[str, int] = {}
        for tx in self.transactions:
            counts[tx.function] = counts.get(tx.function, 0) + 1
        return counts

    @property
    def gas_used(self) -> int:
        """Gas used by every transaction from the first task creation on."""
        return sum(tx.gas_used for tx in self.transactions)


def rpc_delta(before: dict[str, RpcMethodStats], after: dict[str, RpcMethodStats]) -> dict[str, RpcMethodStats]:
    """What the chain served between two ``rpc_stats`` snapshots, busiest method first."""
    delta = {}
    for method, stats in after.items():
        old = before.get(method, RpcMethodStats(0, 0.0))
        if stats.calls > old.calls:
            delta[method] = RpcMethodStats(stats.calls - old.calls, stats.busy_s - old.busy_s, stats.cpu_s - old.cpu_s)
    return dict(sorted(delta.items(), key=lambda item: -item[1].busy_s))


__all__ = ["RunMetrics", "TaskMetrics", "rpc_delta"]
