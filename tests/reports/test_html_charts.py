"""The SVG line charts: every line told apart, legends and labels inside the picture, negative values drawn."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from cipherquorum.reports.html import CHAR_W, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def _parsed(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_twelve_lines_have_twelve_distinct_styles() -> None:
    """Past the ten colours, a line gets a dash pattern: no two of twelve lines look the same."""
    series = [(f"line {i}", [0.0, 1.0], [float(i), float(i + 1)]) for i in range(12)]
    root = _parsed(line_chart("t", series, "x", "y"))
    styles = {(p.get("stroke"), p.get("stroke-dasharray")) for p in root.iter(f"{SVG}polyline")}
    assert len(styles) == 12


def test_a_long_legend_widens_the_chart_instead_of_being_cut() -> None:
    """Each legend text ends inside the SVG's width, however long the series names are."""
    series = [("r=3 q=2, colluding, byzantine share by stake 0.30", [0.0, 1.0], [0.1, 0.2]),
              ("short", [0.0, 1.0], [0.3, 0.4])]
    root = _parsed(line_chart("t", series, "x", "y"))
    width = float(root.get("width", "0"))
    names = {name for name, _, _ in series}
    legends = [t for t in root.iter(f"{SVG}text") if t.text in names]
    assert len(legends) == 2
    assert all(float(t.get("x", "0")) + CHAR_W * len(t.text or "") <= width for t in legends)


def test_tick_labels_leave_room_for_the_y_label() -> None:
    """The widest y tick label ends to the right of the rotated y label's column."""
    svg = line_chart("t", [("s", [0.0, 1.0], [0.0, 123456.0])], "x", "a y label")
    root = _parsed(svg)
    ticks = [t for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    widest = max(len(t.text or "") for t in ticks)
    assert all(float(t.get("x", "0")) - CHAR_W * widest >= 18 for t in ticks)


def test_negative_values_are_drawn_inside_the_plot_with_a_zero_line() -> None:
    """A series that dips below zero stays between the axes, and the chart draws its zero line."""
    svg = line_chart("profit", [("cheater", [0.0, 1.0, 2.0], [-3.0, 1.0, 2.0])], "x", "ETH")
    root = _parsed(svg)
    points = next(root.iter(f"{SVG}polyline")).get("points", "")
    ys = [float(pair.split(",")[1]) for pair in points.split()]
    height = float(root.get("height", "0"))
    assert all(44 <= y <= height - 44 for y in ys)
    assert any(t.text and t.text.startswith("-") for t in root.iter(f"{SVG}text"))
    assert len(re.findall(r'stroke="#888"', svg)) == 1  # the zero line
