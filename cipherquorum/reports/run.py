"""The report of a run: per task, per node and per study, as text for people and JSON for programs."""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

from cipherquorum.types import TaskEnd, TextEnum

ETHER_WEI = 10**18


class Verdict(TextEnum):
    """How an assigned node's vote on a task ended."""

    AGREED = "agreed"
    """It revealed the result that won."""
    DISSENT = "dissent"
    """It revealed another result than the one that won."""
    REVEALED = "revealed"
    """It revealed, and no result won (no consensus)."""
    NO_REVEAL = "no-reveal"
    NO_COMMIT = "no-commit"

    @classmethod
    def of_vote(cls, committed: bool, revealed: bool, agreed: bool, consensus: bool) -> Verdict:
        """The verdict on a vote: ``agreed`` says its revealed result is the winning one."""
        if not committed:
            return cls.NO_COMMIT
        if not revealed:
            return cls.NO_REVEAL
        if not consensus:
            return cls.REVEALED
        return cls.AGREED if agreed else cls.DISSENT


@dataclass(frozen=True)
class VoteReport:
    """One assigned node's part in a task: what it committed and revealed, and how that ended."""

    node: str
    behaviour: str
    committed: bool
    revealed: bool
    result_hash: str
    status: str
    verdict: Verdict


TIMELINE_EVENTS = ("TaskCreated", "TaskQueued", "TaskMatched", "Committed", "AllCommitted", "Revealed",
                   "TaskCompleted", "TaskFailed", "Rewarded", "Slashed", "Refunded")
"""The TaskMarket events a task's timeline shows, in the order of its life."""


@dataclass(frozen=True)
class TimelineEntry:
    """One event of a task's life on chain: which, in which block, and whose."""

    event: str
    block: int
    node: str = ""
    """The node the event is about (Committed, Revealed, Rewarded, Slashed), "" otherwise."""
    detail: str = ""
    """What else the event says: a slash's reason, an amount, a revealed hash."""


@dataclass(frozen=True)
class ProofCheck:
    """One verdict of a third party's check of a task's proof (``cipherquorum verify``)."""

    name: str
    ok: bool
    detail: str
    advisory: bool = False


@dataclass(frozen=True)
class TaskReport:
    """One task: who was assigned, how they voted, what won, and whether the result checks out."""

    id: int
    label: str
    program: str
    status: TaskEnd
    exec_status: str
    """The agreed execution status's name ("" without consensus)."""
    result_hash: str
    verified: bool
    proof_verified: bool
    assigned: tuple[str, ...]
    votes: tuple[VoteReport, ...]
    refund_wei: int
    result: Any
    reference: Any
    latency_s: float
    detail: str = ""
    dissent: tuple[str, ...] = ()
    """The nodes that revealed another result than the one that won (consensus reached against them)."""
    timeline: tuple[TimelineEntry, ...] = ()
    """The task's events on chain, in order (empty when the chain was gone at the end)."""
    third_party: tuple[ProofCheck, ...] = ()
    """The proof as an outsider checked it from the chain and storage alone (when the run was asked to)."""


@dataclass(frozen=True)
class NodeReport:
    """One compute node: its behaviour and what the market paid or took from it."""

    index: int
    address: str
    behaviour: str
    assigned: int
    """The tasks of the run it was matched to, the workflows' included."""
    rewarded_wei: int
    slashed_wei: int
    slash_reasons: tuple[str, ...]
    alive: bool
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class StudyReport:
    """One study question: the result combined over its tasks, beside the plaintext reference."""

    study_id: str
    question: str
    program: str
    respondents: int
    result: Any
    reference: Any
    verified: bool


@dataclass(frozen=True)
class RoleFault:
    """A role whose process died during the run: ``role`` is its actor name ("clients", "storage", "node-2"),
    ``cause`` one line a person reads ("the client pool's process died while the tasks ran")."""

    role: str
    cause: str


@dataclass(frozen=True)
class WorkflowSection:
    """What one of the seeds' workflows (a scenario section such as ``[psi]``) reports.

    ``ok`` is True only when every result equals its plaintext reference; ``data`` is the JSON part (plain
    values only); ``text`` is appended to the text report as it is (tables from ``text_table``).
    """

    name: str
    ok: bool
    data: dict[str, Any] = field(default_factory=dict)
    text: str = ""


@dataclass(frozen=True)
class RunReport:
    """Everything a run produced, in the order a reader wants it.

    ``fault`` is the role whose death ended the run early (None when the run went to its end); ``survived``
    the roles that died while the run went on (a compute node the market slashed, a storage that restarted).
    ``interrupted`` is for Ctrl-C alone.
    """

    scenario: str
    seed: str
    tasks: tuple[TaskReport, ...]
    nodes: tuple[NodeReport, ...]
    studies: tuple[StudyReport, ...]
    chain: dict[str, Any] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    actors: int = 0
    interrupted: bool = False
    fault: RoleFault | None = None
    survived: tuple[RoleFault, ...] = ()
    workflows: tuple[WorkflowSection, ...] = ()

    @property
    def all_verified(self) -> bool:
        """True when every study task completed and its decrypted result equals the plaintext reference, and
        every workflow's results equal theirs (a run with neither has verified nothing, so it is False)."""
        if not self.tasks and not self.workflows:
            return False
        return (all(t.status is TaskEnd.COMPLETED and t.verified for t in self.tasks)
                and all(section.ok for section in self.workflows))

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict; ``timings_s`` is the only part that differs between runs of one seed."""
        return asdict(self)

    def write_json(self, path: str | Path) -> Path:
        """Write the JSON report (creating folders) and return its path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.to_json_dict(), indent=2, sort_keys=True, default=str) + "\n")
        return target

    def render_text(self) -> str:
        """The report as aligned plain-text tables."""
        lines = [f"cipherquorum report: {self.scenario} (seed {self.seed!r})"
                 + ("  [INTERRUPTED: partial]" if self.interrupted else "")
                 + (f"  [FAULT: {self.fault.cause}]" if self.fault else ""), ""]
        if self.fault:
            lines += [f"fault: {self.fault.cause}; the run ended early, and this report holds what was known then",
                      ""]
        lines += text_table("Tasks", ["task", "label", "program", "status", "exec", "result hash", "verified",
                                    "latency"], [
            [str(t.id), t.label, t.program, t.status, t.exec_status or "-", _short(t.result_hash),
             "yes" if t.verified else "NO", f"{t.latency_s:.1f}s"] for t in self.tasks])
        vote_rows = []
        for t in self.tasks:
            for v in t.votes:
                vote_rows.append([str(t.id), _short(v.node), v.behaviour, _short(v.result_hash) or "-",
                                  v.status or "-", v.verdict])
        lines += text_table("Votes", ["task", "node", "behaviour", "revealed hash", "status", "verdict"], vote_rows)
        lines += text_table("Nodes", ["node", "address", "behaviour", "tasks", "rewarded", "slashed", "why"], [
            [str(n.index), _short(n.address), n.behaviour + ("" if n.alive else " (dead)"), str(n.assigned),
             _ether(n.rewarded_wei), _ether(n.slashed_wei), ", ".join(sorted(set(n.slash_reasons))) or "-"]
            for n in self.nodes])
        lines += text_table("Results (decrypted by the client, beside the plaintext reference)",
                          ["study", "question", "program", "n", "decrypted result", "reference", "match"], [
            [s.study_id, s.question, s.program, str(s.respondents), _value(s.result), _value(s.reference),
             "yes" if s.verified else "NO"] for s in self.studies])
        for n in self.nodes:
            for note in n.notes:
                lines.append(f"node {n.index} ({n.behaviour}): {note}")
        refunds = [t for t in self.tasks if t.status is TaskEnd.NO_CONSENSUS]
        for t in refunds:
            lines.append(f"task {t.id}: no consensus, client refunded {_ether(t.refund_wei)}")
        dissented: dict[tuple[str, ...], list[str]] = {}
        for t in self.tasks:
            if t.dissent:
                dissented.setdefault(t.dissent, []).append(str(t.id))
        for nodes, ids in dissented.items():
            lines.append(f"task{'s' if len(ids) > 1 else ''} {', '.join(ids)}: consensus with dissent: "
                         f"{', '.join(_short(n) for n in nodes)} revealed another result "
                         "(a colluding quorum would look the same)")
        for workflow in self.workflows:
            lines += [workflow.text.rstrip("\n"), f"{workflow.name}: "
                      + ("every result equals its plaintext reference" if workflow.ok
                         else "NOT every result equals its plaintext reference"), ""]
        for survived in self.survived:
            lines.append(f"survived: {survived.cause}")
        if self.chain:
            lines.append("chain: " + ", ".join(f"{k}={v}" for k, v in self.chain.items()))
        if self.timings_s:
            lines.append("timings: " + ", ".join(f"{k}={v:.1f}s" for k, v in self.timings_s.items()))
        lines.append(f"actors: {self.actors}")
        verdict = ("all tasks completed and verified" if self.all_verified
                   else "NOT all tasks completed and verified")
        lines.append(f"verdict: {verdict}")
        return "\n".join(lines) + "\n"


def text_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """The lines of an aligned plain-text table under ``title`` ("TITLE: none" when there are no rows), and a
    blank line."""
    if not rows:
        return [f"{title}: none", ""]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [title, fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*row) for row in rows]
    return out + [""]


def _short(value: str) -> str:
    return f"{value[:10]}..{value[-4:]}" if len(value) > 18 else value


def _ether(wei: int) -> str:
    return f"{wei / ETHER_WEI:.4g} ETH" if wei else "0"


def _value(value: Any) -> str:
    if is_dataclass(value) and not isinstance(value, type):
        return _value(asdict(value))
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return str(value)


__all__ = ["TIMELINE_EVENTS", "NodeReport", "ProofCheck", "RoleFault", "RunReport", "StudyReport", "TaskReport",
           "TimelineEntry", "VoteReport", "WorkflowSection", "text_table"]
