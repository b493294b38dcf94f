"""The load report as one self-contained HTML page, its plots drawn as inline SVG (no plotting library)."""
from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cipherquorum.reports.load import LoadReport

WIDTH, HEIGHT, PAD = 640, 220, 44
COLORS = ("#1f77b4", "#2ca02c", "#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
          "#17becf")
"""Ten colours (matplotlib's tab10); past ten lines, a line also gets a dash pattern of its own."""
DASHES = ("", "6,3", "2,2", "8,3,2,3")
CHAR_W = 6.5
"""About how wide one character of the 11 px labels is, to make room for tick labels and legends."""

Series = tuple[str, Sequence[float], Sequence[float]]


def _ticks(low: float, high: float, count: int = 4) -> list[float]:
    step = (high - low) / count if high > low else 1.0
    return [low + step * i for i in range(count + 1)]


def _style(index: int) -> tuple[str, str]:
    """The colour and dash pattern of the ``index``-th line: every line of a chart is told apart."""
    dash = DASHES[(index // len(COLORS)) % len(DASHES)]
    return COLORS[index % len(COLORS)], (f' stroke-dasharray="{dash}"' if dash else "")


def line_chart(title: str, series: Sequence[Series], x_label: str, y_label: str, *, dots: bool = False) -> str:
    """An SVG chart of one or more (name, xs, ys) series sharing both axes; ``dots`` draws points, not lines.

    The axes span the data, zero included (so negative values show below a zero line); the left margin fits
    the tick labels beside the y label, and the chart widens to fit its legend.
    """
    xs = [x for _, sx, _ in series for x in sx]
    ys = [y for _, _, sy in series for y in sy]
    x_low, x_high = min(0.0, min(xs, default=0.0)), max(0.0, max(xs, default=1.0))
    y_low, y_high = min(0.0, min(ys, default=0.0)), max(0.0, max(ys, default=1.0))
    x_high = x_high if x_high > x_low else x_low + 1.0
    span = (y_high - y_low) or 1.0
    y_low, y_high = (y_low - 0.1 * span if y_low < 0 else 0.0), y_high + 0.1 * span
    y_ticks = _ticks(y_low, y_high)
    left = 26 + CHAR_W * max(len(f"{tick:.3g}") for tick in y_ticks)  # the rotated y label takes x 6..18
    legend_w = max(float(PAD), 18 + CHAR_W * max((len(name) for name, _, _ in series), default=0))
    width = WIDTH - PAD + legend_w
    right = width - legend_w
    inner_w, inner_h = right - left, HEIGHT - 2 * PAD

    def px(x: float) -> float:
        return left + inner_w * (x - x_low) / (x_high - x_low)

    def py(y: float) -> float:
        return HEIGHT - PAD - inner_h * (y - y_low) / (y_high - y_low)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{HEIGHT}" role="img">',
             f'<text x="{width / 2:.1f}" y="16" text-anchor="middle" font-weight="bold">{escape(title)}</text>',
             f'<line x1="{left:.1f}" y1="{HEIGHT - PAD}" x2="{right:.1f}" y2="{HEIGHT - PAD}" stroke="#444"/>',
             f'<line x1="{left:.1f}" y1="{PAD}" x2="{left:.1f}" y2="{HEIGHT - PAD}" stroke="#444"/>']
    for tick in y_ticks:
        parts.append(f'<text x="{left - 4:.1f}" y="{py(tick) + 4:.1f}" text-anchor="end" font-size="10">'
                     f'{tick:.3g}</text>')
        parts.append(f'<line x1="{left:.1f}" y1="{py(tick):.1f}" x2="{right:.1f}" y2="{py(tick):.1f}" '
                     'stroke="#eee"/>')
    if y_low < 0:
        parts.append(f'<line x1="{left:.1f}" y1="{py(0):.1f}" x2="{right:.1f}" y2="{py(0):.1f}" stroke="#888"/>')
    for tick in _ticks(x_low, x_high):
        parts.append(f'<text x="{px(tick):.1f}" y="{HEIGHT - PAD + 14}" text-anchor="middle" '
                     f'font-size="10">{tick:.3g}</text>')
    middle = (left + right) / 2
    parts.append(f'<text x="{middle:.1f}" y="{HEIGHT - 6}" text-anchor="middle" font-size="11">'
                 f'{escape(x_label)}</text>')
    parts.append(f'<text x="12" y="{HEIGHT / 2}" text-anchor="middle" font-size="11" '
                 f'transform="rotate(-90 12 {HEIGHT / 2})">{escape(y_label)}</text>')
    for index, (name, sx, sy) in enumerate(series):
        color, dash = _style(index)
        points = [(px(x), py(y)) for x, y in zip(sx, sy)]
        if dots:
            parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}"/>' for x, y in points]
        elif points:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2"{dash} points="{path}"/>')
        parts.append(f'<line x1="{right + 4:.1f}" y1="{PAD + 14 * index - 4}" x2="{right + 4 + 6:.1f}" '
                     f'y2="{PAD + 14 * index - 4}" stroke="{color}" stroke-width="2"{dash}/>')
        parts.append(f'<text x="{right + 13:.1f}" y="{PAD + 14 * index}" font-size="11" fill="{color}">'
                     f'{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(title: str, labels: Sequence[str], groups: Sequence[tuple[str, Sequence[float]]], unit: str) -> str:
    """An SVG chart of horizontal bars: for each label, one bar per (name, values) group."""
    row_h = 8 * max(1, len(groups)) + 8
    height = 40 + row_h * len(labels)
    label_w = 110
    high = max((v for _, values in groups for v in values), default=1.0) or 1.0
    inner_w = WIDTH - label_w - 70
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img">',
             f'<text x="{WIDTH / 2}" y="16" text-anchor="middle" font-weight="bold">{escape(title)}</text>']
    for row, label in enumerate(labels):
        top = 30 + row * row_h
        parts.append(f'<text x="{label_w - 6}" y="{top + row_h / 2 + 2}" text-anchor="end" font-size="11">'
                     f'{escape(label)}</text>')
        for index, (name, values) in enumerate(groups):
            value = values[row]
            width = inner_w * value / high
            color = COLORS[index % len(COLORS)]
            parts.append(f'<rect x="{label_w}" y="{top + 8 * index}" width="{width:.1f}" height="7" '
                         f'fill="{color}"><title>{escape(name)} {value:.4g} {unit}</title></rect>')
            parts.append(f'<text x="{label_w + width + 3:.1f}" y="{top + 8 * index + 7}" font-size="9">'
                         f'{value:.3g}</text>')
    for index, (name, _) in enumerate(groups):
        parts.append(f'<text x="{WIDTH - 60}" y="{30 + 14 * index}" font-size="11" '
                     f'fill="{COLORS[index % len(COLORS)]}">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(str(cell))}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


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
    summary = _table(["tasks", "completed", "failed", "unfinished", "failure rate", "duration s", "tasks/s",
                      "p50 s", "p95 s", "p99 s", "max s"],
                     [[report.tasks, report.completed, report.failed, report.unfinished, f"{report.failure_rate:.2%}",
                       report.duration_s, report.throughput_per_s, lat["p50_s"], lat["p95_s"], lat["p99_s"],
                       lat["max_s"]]])
    thresholds = _table(["threshold", "value", "verdict"],
                        [[t.rule, f"{t.value:.4g}", "ok" if t.passed else "CROSSED"] for t in report.thresholds])
    phase_rows = [[n, s["count"], s["mean_s"], s["p50_s"], s["p95_s"], s["p99_s"], s["max_s"], s["total_s"]]
                  for n, s in report.phases.items()]
    tx = report.transactions
    tx_rows = [[name, info["count"], info["gas_used"], info["reverted"]] for name, info in tx["by_function"].items()]
    rpc_rows = [[method, info["calls"], info["busy_s"]] for method, info in report.chain_rpc.items()]
    role_rows = [[role, info["cpu_s"], round(info["max_rss_bytes"] / 2**20, 1)]
                 for role, info in report.resources.get("roles", {}).items()]
    verdict = "PASSED" if report.passed else "THRESHOLDS CROSSED"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>cipherquorum load: {escape(report.scenario)}</title>
<style>body{{font-family:sans-serif;margin:24px;max-width:1000px}}table{{border-collapse:collapse;margin:8px 0 18px}}
td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:right}}th{{background:#f4f4f4}}
svg{{display:block;margin:8px 0 18px}}</style></head><body>
<h1>Load test: {escape(report.scenario)} ({escape(report.program)})</h1>
<p><b>{verdict}</b>{' (interrupted: partial)' if report.interrupted else ''}. Config: {escape(str(report.config))}</p>
{summary}
<h2>Thresholds</h2>{thresholds if report.thresholds else '<p>none set</p>'}
<h2>Throughput and latency over time</h2>{throughput}{latency}
<h2>Phases</h2><p>Each phase's latency (what it measures is in the README).</p>{phases}
{_table(["phase", "count", "mean s", "p50 s", "p95 s", "p99 s", "max s", "total s"], phase_rows)}
<h2>Errors</h2>{_table(["reason", "tasks"], list(report.errors.items())) if report.errors else '<p>none</p>'}
<h2>Transactions and gas</h2><p>{tx['total']} transactions, {tx['per_task']} per task; gas {tx['gas_used']:,},
{tx['gas_per_task']:,} per task.</p>{_table(["function", "transactions", "gas used", "reverted"], tx_rows)}
<h2>Chain</h2><p>What the embedded devnet served during the test (seconds it was held per method).</p>
{_table(["JSON-RPC method", "calls", "busy s"], rpc_rows)}
<h2>CPU and memory</h2>{cpu}{memory}{_table(["role", "CPU s", "peak RSS MiB"], role_rows)}
<p>Start-up, not in the figures above: {escape(str(report.startup_s))}</p>
</body></html>
"""


__all__ = ["bar_chart", "line_chart", "render_load_html"]
