"""A run as one HTML page for demonstrations: how each task's proof of execution formed, and how to check it."""
from __future__ import annotations

from html import escape

from cipherquorum.reports.html import key_values, page, table, timeline_chart
from cipherquorum.reports.run import RunReport, TaskReport, Verdict

MAX_TASKS_SHOWN = 40
"""Tasks drawn on the timeline and given a section of their own; the tables above cover every task."""

KINDS = {
    "TaskCreated": "created", "TaskQueued": "queued", "TaskMatched": "matched", "Committed": "commit",
    "AllCommitted": "all committed", "Revealed": "reveal", "TaskCompleted": "finalized: consensus",
    "TaskFailed": "finalized: no consensus", "Rewarded": "rewarded", "Slashed": "slashed", "Refunded": "refunded",
}
"""Each timeline event's name on the page, in the order of a task's life (the legend's order)."""


def render_run_html(report: RunReport) -> str:
    """The run page: the verdict, every task's timeline, votes and verdicts, slashes and reasons, and each proof
    as a third party checked it (when the run was asked to check them)."""
    shown = report.tasks[:MAX_TASKS_SHOWN]
    rows = [(f"task {t.id}", [(float(e.block), KINDS.get(e.event, e.event),
                               f"block {e.block}: {KINDS.get(e.event, e.event)}" + (f" by {e.node}" if e.node else "")
                               + (f" ({e.detail})" if e.detail else "")) for e in t.timeline]) for t in shown]
    timeline = (timeline_chart("Each task's life on chain, by block", rows, "block", list(KINDS.values()))
                if any(marks for _, marks in rows) else "<p>No timeline: the chain was gone when the run ended.</p>")
    verdict = "all tasks completed and verified" if report.all_verified else "NOT all tasks completed and verified"
    more = (f"<p>The timeline and the sections below show the first {MAX_TASKS_SHOWN} of {len(report.tasks)} "
            "tasks; the tables cover them all.</p>" if len(report.tasks) > MAX_TASKS_SHOWN else "")
    body = f"""<h1>Run: {escape(report.scenario)}</h1>
<p>Seed {escape(report.seed)!r}. <b>{escape(verdict)}</b>{' (interrupted: partial)' if report.interrupted else ''}
{f' (fault: {escape(report.fault.cause)})' if report.fault else ''}.</p>
<p>How a proof of execution forms: the contract matches a task to staked nodes; each runs the FHE program and
commits a seal of its result hash; once all have committed (or the commit window closes) each reveals the hash;
the pair (result hash, status) with the most reveals wins if it reaches the quorum. The agreeing nodes are paid,
the others slashed, and the winners, hash and block are the proof anyone can check.</p>
{_tasks_table(report)}
<h2>Timeline</h2>{more}{timeline}
<h2>Slashes</h2>{_slashes(report)}
<h2>Nodes</h2>{table(["node", "address", "behaviour", "tasks", "rewarded ETH", "slashed ETH", "why"], [
        [n.index, n.address, n.behaviour + ("" if n.alive else " (dead)"), n.assigned, n.rewarded_wei / 10**18,
         n.slashed_wei / 10**18, ", ".join(sorted(set(n.slash_reasons))) or "-"] for n in report.nodes])}
<h2>Chain</h2>{key_values(report.chain) if report.chain else '<p>The chain was gone when the run ended.</p>'}
{''.join(_task_section(report, t) for t in shown)}
{''.join(f'<h2>Workflow: {escape(w.name)}</h2><pre>{escape(w.text)}</pre>' for w in report.workflows)}"""
    return page(f"cipherquorum run: {report.scenario}", body)


def _tasks_table(report: RunReport) -> str:
    rows = [[t.id, t.label, t.program, str(t.status), t.exec_status or "-", _short(t.result_hash),
             sum(v.verdict is Verdict.AGREED for v in t.votes), len(t.votes), "yes" if t.proof_verified else "NO",
             _third_party_verdict(t), "yes" if t.verified else "NO"] for t in report.tasks]
    return "<h2>Tasks</h2>" + table(
        ["task", "label", "program", "status", "exec", "result hash", "agreed", "replicas", "client's proof check",
         "third party's check", "result = reference"], rows,
        classes=["ok" if t.verified else "bad" for t in report.tasks])


def _third_party_verdict(task: TaskReport) -> str:
    if not task.third_party:
        return "not checked"
    failed = [c.name for c in task.third_party if not c.ok and not c.advisory]
    return "holds" if not failed else "FAILS: " + ", ".join(failed)


def _slashes(report: RunReport) -> str:
    rows = [[t.id, entry.node, entry.detail, entry.block] for t in report.tasks for entry in t.timeline
            if entry.event == "Slashed"]
    if not rows:
        return "<p>No node was slashed.</p>"
    return table(["task", "node", "reason, amount", "block"], rows, classes=["bad"] * len(rows))


def _task_section(report: RunReport, task: TaskReport) -> str:
    votes = table(["node", "behaviour", "committed", "revealed", "revealed hash", "status", "verdict"], [
        [v.node, v.behaviour, "yes" if v.committed else "no", "yes" if v.revealed else "no",
         _short(v.result_hash) or "-", v.status or "-", str(v.verdict)] for v in task.votes],
        classes=["ok" if v.verdict is Verdict.AGREED else "bad" for v in task.votes])
    events = table(["block", "event", "node", "detail"], [
        [e.block, KINDS.get(e.event, e.event), e.node or "-", e.detail or "-"] for e in task.timeline])
    if task.third_party:
        checks = table(["check", "holds", "detail"], [
            [c.name + (" (advisory)" if c.advisory else ""), "yes" if c.ok else "NO", c.detail]
            for c in task.third_party],
            classes=["ok" if c.ok else ("note" if c.advisory else "bad") for c in task.third_party])
    else:
        checks = "<p>Not checked by the run.</p>"
    deploy = report.chain.get("deploy_block", 0)
    command = (f"cipherquorum verify --rpc-url URL --market {report.chain.get('market_address', 'ADDRESS')} "
               f"--task {task.id} --data-dir DATA_DIR --from-block {deploy}")
    return f"""<h2>Task {task.id}: {escape(task.label)} ({escape(task.program)})</h2>
<p>{escape(str(task.status))}{', agreed status ' + escape(task.exec_status) if task.exec_status else ''};
result hash <code>{escape(task.result_hash or '-')}</code>.{' ' + escape(task.detail) if task.detail else ''}</p>
<h3>Votes</h3>{votes}<h3>On chain</h3>{events}
<h3>The proof, as a third party checks it from the chain and storage alone</h3>{checks}
<p>Check it again while the chain runs: <code>{escape(command)}</code></p>"""


def _short(value: str) -> str:
    return f"{value[:10]}..{value[-4:]}" if len(value) > 18 else value


__all__ = ["render_run_html"]
