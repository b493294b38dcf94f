"""What the chain shows of each task for the report: its timeline of events, and its proof as an outsider checks it."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from cipherquorum.chain import ChainEvent, TaskMarket
from cipherquorum.reports.run import TIMELINE_EVENTS, ProofCheck, TimelineEntry
from cipherquorum.storage import BlobStore
from cipherquorum.types import SlashReason, TaskId
from cipherquorum.verify import verify_task

ETHER_WEI = 10**18


def task_timeline(task_id: TaskId, events: Iterable[ChainEvent]) -> tuple[TimelineEntry, ...]:
    """The events of task ``task_id`` among ``events`` (in chain order) that TIMELINE_EVENTS names."""
    entries = []
    for event in events:
        if event.name not in TIMELINE_EVENTS or event.args.get("taskId") != task_id:
            continue
        args = event.args
        node = str(args.get("node", ""))
        entries.append(TimelineEntry(event.name, event.block_number, node, _detail(event)))
    return tuple(entries)


def _detail(event: ChainEvent) -> str:
    """What an event says beyond its name and node, in words."""
    args = event.args
    if event.name == "Slashed":
        return f"{SlashReason(args['reason']).name.lower()}, {args['amountWei'] / ETHER_WEI:.4g} ETH"
    if event.name in ("Rewarded", "Refunded"):
        return f"{args['amountWei'] / ETHER_WEI:.4g} ETH"
    if event.name == "Revealed":
        return "0x" + bytes(args["resultHash"]).hex()
    if event.name == "TaskMatched":
        return f"{len(args['nodes'])} nodes, commit by {args['commitDeadline']}, reveal by {args['revealDeadline']}"
    if event.name == "TaskCompleted":
        return f"{len(args['winners'])} winners, result 0x{bytes(args['resultHash']).hex()}"
    return ""


def third_party_checks(market: TaskMarket, store: BlobStore, task_ids: Sequence[TaskId],
                       from_block: int) -> dict[TaskId, tuple[ProofCheck, ...]]:
    """Each task's proof checked as ``cipherquorum verify`` checks it, from the chain and storage alone.

    Raises ChainUnavailable if the chain stops answering.
    """
    return {task_id: tuple(ProofCheck(c.name, c.ok, c.detail, c.advisory)
                           for c in verify_task(market, store, task_id, from_block))
            for task_id in task_ids}


__all__ = ["task_timeline", "third_party_checks"]
