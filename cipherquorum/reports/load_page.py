"""The load report as one self-contained HTML page, drawn by the shared renderer (``reports.html``)."""
from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from cipherquorum.reports.html import bar_chart, key_values, line_chart, number, page, table

if TYPE_CHECKING:
    from cipherquorum.reports.load import LoadReport


def render_load_html(report: LoadReport) -> str:
    """The whole report as an HTML page: summary, thresholds, plots, phases, errors, chain and resources."""
    line = report.timeline
    bucket_s = line["bucket_s"]
    times = [bucket_s * (i + 1) for i in range(len(line["completed"]))]
    throughput = line_chart(f"Throughput per {bucket_s:g} s bucket, and tasks in flight", [
        ("completed/s", times, [c / bucket_s for c in line["completed"]]),
        ("failed/s", times, [f / bucket_s for f in line["failed"]]),
        ("in flight", times, [float(n) for n in line["in_flight"]])], "seconds into the test", "tasks")
    points = line["latency_points"]
    latency = line_chart("Task latency by completion time", [
        ("latency", [p[0] for p in points], [p[1] for p in points])], "seconds into the test", "seconds", dots=True)
    names = list(report.phases)
    phases = bar_chart("Phase latency", names, [
        (q, [report.phases[n][f"{q}_s"] for n in names]) for q in ("p50", "p95", "p99")], "s")
    samples = report.resources.get("samples", [])
    start = samples[0]["at_s"] if samples else 0.0
    cpu = line_chart("CPU of all roles (100% = one core)", [
        ("CPU %", [s["at_s"] - start for s in samples], [s["cpu_percent"] for s in samples])],
        "seconds (samples)", "percent")
    memory = line_chart("Resident memory of all roles", [
        ("MiB", [s["at_s"] - start for s in samples], [s["rss_bytes"] / 2**20 for s in samples])],
        "seconds (samples)", "MiB")
    lat = report.latency_s
    summary = table(["tasks", "completed", "failed", "unfinished", "failure rate", "duration s", "tasks/s",
                     "p50 s", "p95 s", "p99 s", "max s"],
                    [[report.tasks, report.completed, report.failed, report.unfinished, f"{report.failure_rate:.2%}",
                      report.duration_s, report.throughput_per_s, lat["p50_s"], lat["p95_s"], lat["p99_s"],
                      lat["max_s"]]])
    thresholds = table(["threshold", "value", "verdict"],
                       [[t.rule, t.value, "ok" if t.passed else "CROSSED"] for t in report.thresholds],
                       classes=["ok" if t.passed else "bad" for t in report.thresholds])
    phase_rows = [[n, s["count"], s["mean_s"], s["p50_s"], s["p95_s"], s["p99_s"], s["max_s"], s["total_s"]]
                  for n, s in report.phases.items()]
    tx = report.transactions
    tx_rows = [[name, info["count"], info["gas_used"], info["reverted"]] for name, info in tx["by_function"].items()]
    rpc_rows = [[method, info["calls"], info["busy_s"]] for method, info in report.chain_rpc.items()]
    role_rows = [[role, info["cpu_s"], info["max_rss_bytes"] / 2**20]
                 for role, info in report.resources.get("roles", {}).items()]
    chain = (table(["JSON-RPC method", "calls", "busy s"], rpc_rows) if rpc_rows else
             "<p>Not measured: the chain is not one this run started and instruments (an external rpc_url), or it "
             "served no request during the test.</p>")
    verdict = "PASSED" if report.passed else "THRESHOLDS CROSSED"
    body = f"""<h1>Load test: {escape(report.scenario)} ({escape(report.program)})</h1>
<p><b>{verdict}</b>{' (interrupted: partial)' if report.interrupted else ''}.</p>
{summary}
<h2>Configuration</h2>{key_values(report.config)}
<h2>Thresholds</h2>{thresholds if report.thresholds else '<p>none set</p>'}
<h2>Throughput and latency over time</h2>{throughput}{latency}
<h2>Phases</h2><p>Each phase's latency (what it measures is in the README).</p>{phases}
{table(["phase", "count", "mean s", "p50 s", "p95 s", "p99 s", "max s", "total s"], phase_rows)}
<h2>Errors</h2>{table(["reason", "tasks"], list(report.errors.items())) if report.errors else '<p>none</p>'}
<h2>Transactions and gas</h2><p>{number(tx['total'])} transactions, {number(tx['per_task'])} per task; gas
{number(tx['gas_used'])}, {number(tx['gas_per_task'])} per task.</p>
{table(["function", "transactions", "gas used", "reverted"], tx_rows)}
<h2>Chain</h2><p>What the chain served during the test (seconds it was held per method).</p>{chain}
<h2>CPU and memory</h2>{cpu}{memory}{table(["role", "CPU s", "peak RSS MiB"], role_rows)}
<h2>Start-up</h2><p>Not in the figures above.</p>{key_values({f"{k} s": v for k, v in report.startup_s.items()})}"""
    return page(f"cipherquorum load: {report.scenario}", body)


__all__ = ["render_load_html"]
