"""The one renderer of the HTML pages (load, run, sweep): inline SVG charts (no plotting library), tables, pages."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

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

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{HEIGHT}" '
             f'viewBox="0 0 {width:.0f} {HEIGHT}" role="img">',
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
    """An SVG chart of horizontal bars: for each label, one bar per (name, values) group; the legend is one row
    under the title, so no bar runs into it."""
    row_h = 8 * max(1, len(groups)) + 8
    top_bars = 48
    height = top_bars + 10 + row_h * len(labels)
    label_w = 10 + CHAR_W * max((len(label) for label in labels), default=8)
    high = max((v for _, values in groups for v in values), default=1.0) or 1.0
    inner_w = WIDTH - label_w - 50
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" role="img">',
             f'<text x="{WIDTH / 2}" y="16" text-anchor="middle" font-weight="bold">{escape(title)}</text>']
    legend_x = label_w
    for index, (name, _) in enumerate(groups):
        color = COLORS[index % len(COLORS)]
        parts.append(f'<rect x="{legend_x:.1f}" y="26" width="10" height="7" fill="{color}"/>')
        parts.append(f'<text x="{legend_x + 13:.1f}" y="33" font-size="11" fill="{color}">{escape(name)}</text>')
        legend_x += 24 + CHAR_W * len(name)
    for row, label in enumerate(labels):
        top = top_bars + row * row_h
        parts.append(f'<text x="{label_w - 6:.1f}" y="{top + row_h / 2 + 2}" text-anchor="end" font-size="11">'
                     f'{escape(label)}</text>')
        for index, (name, values) in enumerate(groups):
            value = values[row]
            width = inner_w * value / high
            color = COLORS[index % len(COLORS)]
            parts.append(f'<rect x="{label_w:.1f}" y="{top + 8 * index}" width="{width:.1f}" height="7" '
                         f'fill="{color}"><title>{escape(name)} {number(value)} {unit}</title></rect>')
            parts.append(f'<text x="{label_w + width + 3:.1f}" y="{top + 8 * index + 7}" font-size="9">'
                         f'{value:.3g}</text>')
    parts.append("</svg>")
    return "".join(parts)


Mark = tuple[float, str, str]
"""One event on a timeline row: where (x), its kind (which sets its colour and the legend) and its tooltip."""


def timeline_chart(title: str, rows: Sequence[tuple[str, Sequence[Mark]]], x_label: str,
                   kinds: Sequence[str]) -> str:
    """An SVG timeline: one row per label, each event a marker at its x, coloured by its kind (``kinds`` in
    legend order); a thin line joins a row's first and last event. Marks at one x are stacked side by side."""
    row_h = 18
    label_w = 10 + CHAR_W * max((len(label) for label, _ in rows), default=6)
    legend_rows = 1 + int(sum(30 + CHAR_W * len(kind) for kind in kinds) // (WIDTH - label_w))
    top = 30 + 14 * legend_rows
    height = top + row_h * len(rows) + 34
    xs = [x for _, marks in rows for x, _, _ in marks]
    x_low, x_high = min(xs, default=0.0), max(xs, default=1.0)
    x_high = x_high if x_high > x_low else x_low + 1.0
    stacked = max((sum(1 for x2, _, _ in marks if x2 == x) for _, marks in rows for x, _, _ in marks), default=1)
    right = WIDTH - 16 - 7 * (stacked - 1)  # marks at one x go side by side, so the last x needs room
    inner_w = right - label_w - 12

    def px(x: float) -> float:
        return label_w + 6 + inner_w * (x - x_low) / (x_high - x_low)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" role="img">',
             f'<text x="{WIDTH / 2}" y="16" text-anchor="middle" font-weight="bold">{escape(title)}</text>']
    legend_x, legend_y = label_w, 30
    palette = (*COLORS, "#000000", "#aec7e8", "#ffbb78", "#98df8a")
    colour = {kind: palette[index % len(palette)] for index, kind in enumerate(kinds)}
    for kind in kinds:
        if legend_x + 30 + CHAR_W * len(kind) > WIDTH:
            legend_x, legend_y = label_w, legend_y + 14
        parts.append(f'<circle cx="{legend_x + 4:.1f}" cy="{legend_y - 4}" r="4" fill="{colour[kind]}"/>')
        parts.append(f'<text x="{legend_x + 11:.1f}" y="{legend_y}" font-size="11">{escape(kind)}</text>')
        legend_x += 30 + CHAR_W * len(kind)
    bottom = top + row_h * len(rows)
    for tick in _ticks(x_low, x_high):
        parts.append(f'<line x1="{px(tick):.1f}" y1="{top - 4}" x2="{px(tick):.1f}" y2="{bottom}" stroke="#eee"/>')
        parts.append(f'<text x="{px(tick):.1f}" y="{bottom + 14}" text-anchor="middle" font-size="10">'
                     f'{tick:.4g}</text>')
    parts.append(f'<text x="{(label_w + right) / 2:.1f}" y="{height - 6}" text-anchor="middle" font-size="11">'
                 f'{escape(x_label)}</text>')
    for row, (label, marks) in enumerate(rows):
        y = top + row * row_h + row_h / 2
        parts.append(f'<text x="{label_w - 6:.1f}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
                     f'{escape(label)}</text>')
        if marks:
            first, last = min(x for x, _, _ in marks), max(x for x, _, _ in marks)
            parts.append(f'<line x1="{px(first):.1f}" y1="{y:.1f}" x2="{px(last):.1f}" y2="{y:.1f}" '
                         'stroke="#bbb"/>')
        seen: dict[float, int] = {}
        for x, kind, tip in marks:
            offset = seen.get(x, 0)
            seen[x] = offset + 1
            parts.append(f'<circle cx="{px(x) + 7 * offset:.1f}" cy="{y:.1f}" r="4" '
                         f'fill="{colour.get(kind, "#444")}"><title>{escape(tip)}</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


def number(value: Any) -> str:
    """A figure as a person reads it: ints with thousands separators, floats to 3 significant digits (no
    exponent below a million), anything else as text."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value == 0 or 1e-3 <= abs(value) < 1e6:
        digits = max(0, 2 - math.floor(math.log10(abs(value)))) if value else 0
        return f"{value:,.{digits}f}"
    return f"{value:.3g}"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], *, classes: Sequence[str] = ()) -> str:
    """An HTML table; numbers are formatted with ``number`` and right-aligned, text left-aligned. ``classes``
    gives each row a CSS class ("ok", "bad"), when set."""
    head = "".join(f"<th>{escape(str(cell))}</th>" for cell in header)
    body = []
    for index, row in enumerate(rows):
        css = f' class="{classes[index]}"' if index < len(classes) and classes[index] else ""
        cells = "".join(f'<td class="num">{escape(number(cell))}</td>' if _is_number(cell)
                        else f"<td>{escape(str(cell))}</td>" for cell in row)
        body.append(f"<tr{css}>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def key_values(pairs: Mapping[str, Any]) -> str:
    """A two-column table of settings, one per row (nested mappings as "key.sub"), instead of a printed dict."""
    rows: list[tuple[str, Any]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        else:
            rows.append((prefix, ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else value))

    walk("", pairs)
    return table(["setting", "value"], rows)


def page(title: str, body: str) -> str:
    """A self-contained HTML page: ``body`` under the page's style, its charts scaled to the page's width."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>
body{{font-family:sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#222}}
table{{border-collapse:collapse;margin:8px 0 18px}}
td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left;vertical-align:top}}
td.num{{text-align:right;font-variant-numeric:tabular-nums}}
th{{background:#f4f4f4}}
tr.ok td{{background:#eefaee}} tr.bad td{{background:#fdecec}} tr.note td{{background:#fff8e6}}
svg{{display:block;margin:8px 0 18px;width:100%;height:auto}}
.small{{display:flex;flex-wrap:wrap;gap:8px}} .small svg{{width:calc(50% - 8px);min-width:320px}}
code{{font-size:12px;word-break:break-all}}
</style></head><body>
{body}
</body></html>
"""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


__all__ = ["bar_chart", "key_values", "line_chart", "number", "page", "table", "timeline_chart"]
