"""Measurements of a run that vary from one run of a seed to the next, kept apart from its RunReport."""
from __future__ import annotations

from dataclasses import dataclass

from cipherquorum.chain.market import TxSummary
from cipherquorum.timeline import PhaseSpan, ProcessUsage


@dataclass(frozen=True)
class TaskMetrics:
    """One task as its client saw it: which client created it, its manifest, its state and its latency."""

    task_id: int
    client: int
    manifest_ref: str
    state: str
    latency_s: float


@dataclass(frozen=True)
class RunMetrics:
    """What a run measured about itself.

    ``tasks_s`` runs from the first task creation to the last verified result (the actors are up by then);
    ``transactions`` are those mined from the first task creation on; ``spans`` are the roles' phase timings
    and ``usage`` each role's CPU and memory at the end of the run.
    """

    tasks_s: float
    first_block: int
    tasks: tuple[TaskMetrics, ...]
    transactions: tuple[TxSummary, ...]
    spans: tuple[PhaseSpan, ...] = ()
    usage: tuple[ProcessUsage, ...] = ()

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


__all__ = ["RunMetrics", "TaskMetrics"]
