"""The sweep report: a CSV row and a JSON object per grid point, a text summary, and an HTML page of SVG plots.

Adaptive points show their mean replicas per task (and theory's) beside P(wrong accepted), and "no theory" where
theory has none (their economics); each is compared with the fixed points of the same byzantine share and kind
at its r_min and r_max.
"""
from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from cipherquorum.reports.html import Series, line_chart, number, page, table
from cipherquorum.study.economics import Economics
from cipherquorum.study.sweep import PointResult, SweepResult
from cipherquorum.study.theory import Outcome

ETHER_WEI = 10**18
JUDGED = (Outcome.WRONG, Outcome.NO_CONSENSUS)
"""The outcomes whose theory is checked against each point's interval."""
CSV_FIELDS = (
    "label", "line", "replication", "quorum", "byzantine_kind", "byzantine_share", "share_by", "stakes", "seed",
    "nodes", "share_by_count", "share_by_stake", "trials", "theory_wrong", "simulated_wrong", "wilson_wrong_low",
    "wilson_wrong_high", "theory_no_consensus", "simulated_no_consensus", "wilson_no_consensus_low",
    "wilson_no_consensus_high", "agrees", "below_quorum_trials", "wrong_below_quorum", "client_gas_per_task",
    "theory_client_cost_wei", "measured_client_cost_wei", "theory_honest_profit_wei", "measured_honest_profit_wei",
    "theory_cheater_profit_wei", "measured_cheater_profit_wei", "break_even_slash_ratio", "trials_per_s",
    "max_replication", "mean_replicas", "theory_mean_replicas",
)
NO_THEORY = "no theory"


def _ratio_text(ratio: float | None) -> str:
    if ratio is None:
        return "-"
    return "never" if math.isinf(ratio) else f"{ratio:.3g}"


def _economics_json(economics: Economics | None) -> dict[str, Any] | None:
    if economics is None:
        return None
    ratio = economics.break_even_slash_ratio
    return {
        "client_cost_per_task_wei": economics.client_cost_per_task_wei,
        "honest_profit_per_task_wei": economics.honest_profit_per_task_wei,
        "cheater_profit_per_task_wei": economics.cheater_profit_per_task_wei,
        "break_even_slash_ratio": None if ratio is None or math.isinf(ratio) else ratio,
        "cheating_stops_paying": None if ratio is None else not math.isinf(ratio),
    }


def point_json(result: PointResult) -> dict[str, Any]:
    """One grid point as a JSON object: its coordinates, theory, counts, intervals and economics."""
    point = result.point
    return {
        "label": point.label, "line": point.line, "replication": point.replication, "quorum": point.quorum,
        "byzantine_kind": point.kind.value, "byzantine_share": point.byzantine_share, "share_by": point.share_by,
        "stakes": point.stakes, "seed": point.seed, "nodes": point.registry.size,
        "stakes_wei": list(point.registry.stakes_wei), "byzantine": list(point.registry.byzantine),
        "share_by_count": point.registry.share_by_count, "share_by_stake": point.registry.share_by_stake,
        "trials": result.trials, "max_replication": point.max_replication, "mean_replicas": result.mean_replicas,
        "theory_mean_replicas": result.theory_mean_replicas,
        "theory": None if result.theory is None else {outcome.value: result.theory.of(outcome) for outcome in Outcome},
        "simulated": {outcome.value: result.simulated(outcome) for outcome in Outcome},
        "counts": {outcome.value: result.counts.get(outcome, 0) for outcome in Outcome},
        "wilson_95": {outcome.value: [result.intervals[outcome].low, result.intervals[outcome].high]
                      for outcome in Outcome},
        "agrees": None if result.theory is None else {outcome.value: result.agrees(outcome) for outcome in JUDGED},
        "byzantine_odds": list(result.byzantine_odds), "byzantine_histogram": list(result.byzantine_histogram),
        "below_quorum_trials": result.below_quorum_trials, "wrong_below_quorum": result.wrong_below_quorum,
        "gas_per_task": {"client": result.gas.client, "honest_replica": result.gas.honest_replica,
                         "cheater_replica": result.gas.cheater_replica},
        "economics": {"theory": _economics_json(result.economics_theory),
                      "measured": _economics_json(result.economics_measured)},
        "cheater_profit_by_slash_ratio": [list(pair) for pair in result.cheater_profit_by_ratio],
        "seconds": result.seconds, "trials_per_s": result.trials_per_s,
    }


def summary_json(sweep: SweepResult) -> dict[str, Any]:
    """What holds across the sweep: trials, speed, the safety count and the points outside their interval."""
    disagreements = sweep.disagreements()
    return {
        "points": len(sweep.points), "trials": sweep.trials, "seconds": sweep.seconds,
        "trials_per_s": sweep.trials_per_s, "below_quorum_trials": sweep.below_quorum_trials,
        "wrong_below_quorum": sweep.wrong_below_quorum, "judged": sweep.judged_points * len(JUDGED),
        "outside_interval": [{"label": point.point.label, "outcome": outcome.value}
                             for point, outcome in disagreements],
    }


def sweep_json(sweep: SweepResult) -> dict[str, Any]:
    """The whole sweep as one JSON document: the configuration, the summary and every point."""
    config = sweep.config
    return {
        "source": config.source, "mode": config.mode,
        "prices": {"reward_per_node_wei": config.prices.reward_per_node_wei, "slash_wei": config.prices.slash_wei,
                   "gas_price_wei": config.prices.gas_price_wei, "slash_ratio": config.prices.slash_ratio},
        "min_stake_wei": config.min_stake_wei, "stake_wei": config.stake_wei,
        "summary": summary_json(sweep), "points": [point_json(point) for point in sweep.points],
        "adaptive_against_fixed": [
            {"adaptive": adaptive.point.label, "fixed": fixed.point.label,
             "adaptive_mean_replicas": adaptive.mean_replicas,
             "adaptive_theory_mean_replicas": adaptive.theory_mean_replicas, "fixed_replicas": fixed.mean_replicas,
             "adaptive_wrong": adaptive.simulated(Outcome.WRONG), "fixed_wrong": fixed.simulated(Outcome.WRONG),
             "adaptive_no_consensus": adaptive.simulated(Outcome.NO_CONSENSUS),
             "fixed_no_consensus": fixed.simulated(Outcome.NO_CONSENSUS)}
            for adaptive, fixed in adaptive_pairs(sweep)],
    }


def _coordinates(result: PointResult) -> tuple[Any, ...]:
    point = result.point
    return (point.kind, point.byzantine_share, point.share_by, point.stakes, point.seed, point.registry)


def adaptive_pairs(sweep: SweepResult) -> list[tuple[PointResult, PointResult]]:
    """Each adaptive point beside every fixed point of the same byzantine share, kind, stakes, seed and registry
    whose replication is the adaptive point's r_max or r_min."""
    fixed = [result for result in sweep.points if result.point.max_replication is None]
    pairs = []
    for adaptive in sweep.points:
        point = adaptive.point
        if point.max_replication is None:
            continue
        for other in fixed:
            if (_coordinates(other) == _coordinates(adaptive)
                    and other.point.replication in (point.replication, point.max_replication)):
                pairs.append((adaptive, other))
    return pairs


def csv_row(result: PointResult) -> dict[str, Any]:
    """One grid point as a flat CSV row (the columns of CSV_FIELDS); theory's columns are empty without theory."""
    point, theory, measured = result.point, result.economics_theory, result.economics_measured
    wrong, none = result.intervals[Outcome.WRONG], result.intervals[Outcome.NO_CONSENSUS]
    odds = result.theory
    return {
        "label": point.label, "line": point.line, "replication": point.replication, "quorum": point.quorum,
        "byzantine_kind": point.kind.value, "byzantine_share": point.byzantine_share, "share_by": point.share_by,
        "stakes": point.stakes, "seed": point.seed, "nodes": point.registry.size,
        "share_by_count": point.registry.share_by_count, "share_by_stake": point.registry.share_by_stake,
        "trials": result.trials, "theory_wrong": "" if odds is None else odds.wrong,
        "simulated_wrong": result.simulated(Outcome.WRONG), "wilson_wrong_low": wrong.low,
        "wilson_wrong_high": wrong.high, "theory_no_consensus": "" if odds is None else odds.no_consensus,
        "simulated_no_consensus": result.simulated(Outcome.NO_CONSENSUS), "wilson_no_consensus_low": none.low,
        "wilson_no_consensus_high": none.high,
        "agrees": NO_THEORY if odds is None else all(result.agrees(outcome) for outcome in JUDGED),
        "below_quorum_trials": result.below_quorum_trials, "wrong_below_quorum": result.wrong_below_quorum,
        "client_gas_per_task": result.gas.client,
        "theory_client_cost_wei": "" if theory is None else theory.client_cost_per_task_wei,
        "measured_client_cost_wei": measured.client_cost_per_task_wei,
        "theory_honest_profit_wei": "" if theory is None else theory.honest_profit_per_task_wei,
        "measured_honest_profit_wei": measured.honest_profit_per_task_wei,
        "theory_cheater_profit_wei": "" if theory is None else theory.cheater_profit_per_task_wei,
        "measured_cheater_profit_wei": measured.cheater_profit_per_task_wei,
        "break_even_slash_ratio": "" if theory is None else _ratio_text(theory.break_even_slash_ratio),
        "trials_per_s": result.trials_per_s,
        "max_replication": "" if point.max_replication is None else point.max_replication,
        "mean_replicas": result.mean_replicas,
        "theory_mean_replicas": "" if result.theory_mean_replicas is None else result.theory_mean_replicas,
    }


def _ether(wei: float | None) -> str:
    return "-" if wei is None else f"{wei / ETHER_WEI:.5f}"


def render_text(sweep: SweepResult) -> str:
    """A summary a person reads: one line per grid point, the adaptive points beside fixed replication, then the
    safety count, the agreement and the speed. Economics are theory's, or measured (marked m) without theory."""
    lines = [f"{'point':52} {'replicas':>8} {'P(wrong) theory':>15} {'simulated [95%]':>26} {'P(none) th':>10} "
             f"{'sim':>7} {'cost ETH':>9} {'honest':>9} {'cheater':>9} {'stop at':>7}"]
    for result in sweep.points:
        interval = result.intervals[Outcome.WRONG]
        economics = result.economics_theory or result.economics_measured
        mark = "" if all(result.agrees(outcome) for outcome in JUDGED) else " *"
        odds = result.theory
        lines.append(
            f"{result.point.label:52} {result.mean_replicas:8.3f} "
            f"{NO_THEORY if odds is None else f'{odds.wrong:.5f}':>15} "
            f"{result.simulated(Outcome.WRONG):8.5f} [{interval.low:.5f}, {interval.high:.5f}] "
            f"{NO_THEORY if odds is None else f'{odds.no_consensus:.5f}':>10} "
            f"{result.simulated(Outcome.NO_CONSENSUS):7.4f} "
            f"{_ether(economics.client_cost_per_task_wei):>9} {_ether(economics.honest_profit_per_task_wei):>9} "
            f"{_ether(economics.cheater_profit_per_task_wei):>9} "
            f"{_ratio_text(economics.break_even_slash_ratio) if result.economics_theory else 'm':>7}{mark}")
    pairs = adaptive_pairs(sweep)
    if pairs:
        lines += ["", "adaptive against fixed replication (same byzantine share, kind, stakes and seed; simulated):",
                  f"{'adaptive':52} {'replicas':>8} {'theory':>7} {'P(wrong)':>9} {'P(none)':>8}   {'fixed':52} "
                  f"{'replicas':>8} {'P(wrong)':>9} {'P(none)':>8}"]
        for adaptive, fixed in pairs:
            expected = adaptive.theory_mean_replicas
            lines.append(f"{adaptive.point.label:52} {adaptive.mean_replicas:8.3f} "
                         f"{NO_THEORY if expected is None else f'{expected:.3f}':>7} "
                         f"{adaptive.simulated(Outcome.WRONG):9.5f} {adaptive.simulated(Outcome.NO_CONSENSUS):8.5f}   "
                         f"{fixed.point.label:52} {fixed.mean_replicas:8.3f} {fixed.simulated(Outcome.WRONG):9.5f} "
                         f"{fixed.simulated(Outcome.NO_CONSENSUS):8.5f}")
    outside = sweep.disagreements()
    judged = sweep.judged_points * len(JUDGED)
    skipped = len(sweep.points) - sweep.judged_points
    lines += [
        "",
        f"{sweep.trials} trials at {len(sweep.points)} points in {sweep.seconds:.1f} s "
        f"({number(sweep.trials_per_s)} trials/s, {sweep.config.mode} mode, setup and theory included)",
        f"safety: {sweep.below_quorum_trials} trials had fewer byzantine replicas than the quorum; "
        f"{sweep.wrong_below_quorum} of them accepted a wrong result",
        f"theory inside the simulation's Wilson 95% interval: {judged - len(outside)} of {judged} "
        f"(P(wrong) and P(no consensus) per point; about 5% outside is what chance gives"
        + (f"; {skipped} adaptive points without theory not judged" if skipped else "") + ")"
        + (" -- outside: " + ", ".join(f"{p.point.label} {o.value}" for p, o in outside[:10]) if outside else ""),
        "cost and profits are theory's expectation per task, in ether, after gas ('m': measured, for adaptive "
        "points, which have no economics theory); 'stop at' is the slash/reward ratio from which cheating stops "
        "paying; replicas is the mean per task",
    ]
    return "\n".join(lines) + "\n"


def _groups(sweep: SweepResult) -> dict[tuple[str, str, str, str, str], list[PointResult]]:
    groups: dict[tuple[str, str, str, str, str], list[PointResult]] = defaultdict(list)
    for result in sweep.points:
        point = result.point
        groups[(point.line, point.kind.value, point.share_by, point.stakes, point.seed)].append(result)
    return groups


def _share(result: PointResult) -> float:
    registry = result.point.registry
    return registry.share_by_stake if result.point.share_by == "stake" else registry.share_by_count


def _by_pair(results: Sequence[PointResult]) -> dict[str, list[PointResult]]:
    pairs: dict[str, list[PointResult]] = defaultdict(list)
    for result in results:
        pairs[result.point.pair_label].append(result)
    for members in pairs.values():
        members.sort(key=_share)
    return pairs


def _telling_share(by_share: dict[float, list[PointResult]]) -> float:
    """The largest byzantine share at which some (r, q) has a finite break-even slash ratio above 0 (where the
    slash decides whether cheating pays), or the largest share when there is none."""
    for share in sorted(by_share, reverse=True):
        ratios = [p.economics_theory.break_even_slash_ratio for p in by_share[share] if p.economics_theory]
        if any(ratio is not None and 0 < ratio < math.inf for ratio in ratios):
            return share
    return max(by_share)


def _group_charts(results: Sequence[PointResult], ratios_max: float) -> str:
    share_by = results[0].point.share_by
    x_label = f"byzantine share by {share_by}"
    pairs = _by_pair(results)
    theoretical = {name: [p for p in ps if p.theory is not None] for name, ps in pairs.items()}
    theory: list[Series] = [(name, [_share(p) for p in ps], [p.theory.wrong for p in ps if p.theory])
                            for name, ps in theoretical.items() if ps]
    simulated: list[Series] = [(name, [_share(p) for p in ps], [p.simulated(Outcome.WRONG) for p in ps])
                               for name, ps in pairs.items()]
    no_consensus: list[Series] = [(name, [_share(p) for p in ps], [p.theory.no_consensus for p in ps if p.theory])
                                  for name, ps in theoretical.items() if ps]
    parts = [line_chart("P(wrong accepted): theory, one line per (r, q)", theory, x_label, "probability"),
             line_chart("P(wrong accepted): simulated", simulated, x_label, "probability"),
             line_chart("P(no consensus): theory", no_consensus, x_label, "probability")]
    small = []
    for name, ps in pairs.items():
        xs = [_share(p) for p in ps]
        with_theory: list[Series] = [("theory", xs, [p.theory.wrong for p in ps if p.theory])] if all(
            p.theory is not None for p in ps) else []
        small.append(line_chart(f"{name}: P(wrong accepted), theory and simulated with Wilson 95%", [
            *with_theory,
            ("simulated", xs, [p.simulated(Outcome.WRONG) for p in ps]),
            ("95% low", xs, [p.intervals[Outcome.WRONG].low for p in ps]),
            ("95% high", xs, [p.intervals[Outcome.WRONG].high for p in ps])], x_label, "probability"))
    parts.append('<div class="small">' + "".join(small) + "</div>")
    by_share: dict[float, list[PointResult]] = defaultdict(list)
    for result in results:
        if result.point.byzantine_share > 0 and result.economics_theory is not None and result.theory is not None:
            by_share[result.point.byzantine_share].append(result)
    cost: list[Series] = []
    for share, ps in sorted(by_share.items()):
        ps.sort(key=lambda p: p.point.replication)
        cost.append((f"share {share:g}", [p.economics_theory.client_cost_per_task_wei / ETHER_WEI
                                          for p in ps if p.economics_theory],
                     [p.theory.wrong for p in ps if p.theory]))
    if cost:
        parts.append(line_chart("Cost against safety: one colour per byzantine share, a dot per (r, q)",
                                cost, "client cost per task, ether (rewards + gas)", "P(wrong accepted)", dots=True))
        worst = _telling_share(by_share)
        curves: list[Series] = []
        for name, ps in pairs.items():
            at = next((p for p in ps if p.point.byzantine_share == worst and p.cheater_profit_by_ratio), None)
            if at is None or at.economics_theory is None:
                continue
            xs, ys = [], []
            for ratio, profit in at.cheater_profit_by_ratio:
                if profit <= 0:
                    break
                xs.append(ratio)
                ys.append(profit / ETHER_WEI)
            stop = at.economics_theory.break_even_slash_ratio
            if stop is not None and not math.isinf(stop) and stop <= ratios_max:
                xs.append(stop)
                ys.append(0.0)
            curves.append((name, xs, ys))
        parts.append(line_chart(f"Cheater profit per task, byzantine share {worst:g}", curves,
                                "slash / reward (a line ends where cheating stops paying)", "ether"))
    return "".join(parts)


def _html_row(p: PointResult) -> list[Any]:
    """A point's row of its group's table: theory's figures, or "no theory" (economics then measured, with m)."""
    odds, economics = p.theory, p.economics_theory
    cost = _ether(p.economics_measured.client_cost_per_task_wei) + " m" if economics is None else _ether(
        economics.client_cost_per_task_wei)
    replicas = p.mean_replicas if p.theory_mean_replicas is None else (
        f"{number(p.mean_replicas)} (theory {number(p.theory_mean_replicas)})")
    return [p.point.pair_label, _share(p), p.trials, replicas,
            NO_THEORY if odds is None else odds.wrong, p.simulated(Outcome.WRONG),
            f"[{number(p.intervals[Outcome.WRONG].low)}, {number(p.intervals[Outcome.WRONG].high)}]",
            NO_THEORY if odds is None else odds.no_consensus, p.simulated(Outcome.NO_CONSENSUS), cost,
            _ether(p.economics_measured.honest_profit_per_task_wei),
            _ether(p.economics_measured.cheater_profit_per_task_wei),
            NO_THEORY if economics is None else _ratio_text(economics.break_even_slash_ratio),
            NO_THEORY if odds is None else ("yes" if all(p.agrees(o) for o in JUDGED) else "NO")]


def _adaptive_html(sweep: SweepResult) -> str:
    pairs = adaptive_pairs(sweep)
    if not pairs:
        return ""
    rows = [[a.point.label, a.mean_replicas, NO_THEORY if a.theory_mean_replicas is None else a.theory_mean_replicas,
             a.simulated(Outcome.WRONG), a.simulated(Outcome.NO_CONSENSUS), f.point.label, f.mean_replicas,
             f.simulated(Outcome.WRONG), f.simulated(Outcome.NO_CONSENSUS)] for a, f in pairs]
    header = ["adaptive point", "mean replicas", "theory", "P(wrong) simulated", "P(no consensus)", "fixed point",
              "replicas", "P(wrong) simulated", "P(no consensus)"]
    return ("<h2>Adaptive against fixed replication</h2><p>Each adaptive point beside the fixed points of the same "
            "byzantine share, kind, stakes and seed at its r_min and r_max.</p>" + table(header, rows))


MODE_WORDS = {
    "contract": "the TaskMarket's own bytecode decided every trial, on synthetic votes",
    "real": "every trial was a task of the full market (Ray nodes running the FHE program, the devnet, storage), "
            "and the TaskMarket decided it",
}
"""What decided the trials, in each mode, as the page says it."""


def render_sweep_html(sweep: SweepResult) -> str:
    """The sweep as one self-contained HTML page: the summary, and per group of points its plots and table."""
    summary = summary_json(sweep)
    config = sweep.config
    sections = []
    ratios_max = max(config.slash_ratios, default=0.0)
    for (line, kind, share_by, stakes, seed), results in _groups(sweep).items():
        rows = [_html_row(p) for p in results]
        header = ["(r, q)", f"share by {share_by}", "trials", "mean replicas", "P(wrong) theory", "simulated",
                  "Wilson 95%", "P(no consensus) theory", "simulated", "client cost ETH", "honest profit ETH",
                  "cheater profit ETH", "cheating stops at slash/reward", "theory inside"]
        classes = ["" if all(p.agrees(o) for o in JUDGED) else "bad" for p in results]
        sections.append(f"<h2>{escape(line)}: {escape(kind)} byzantine nodes, share by {escape(share_by)}, "
                        f"{escape(stakes)} stakes, seed {escape(seed)}</h2>{_group_charts(results, ratios_max)}"
                        f"{table(header, rows, classes=classes)}")
    prices = config.prices
    outside = summary["outside_interval"]
    body = f"""<h1>Proof of execution by consensus: safety and cost</h1>
<p>{escape(config.source)}, {escape(config.mode)} mode: {escape(MODE_WORDS.get(config.mode, ""))}.
Reward {prices.reward_per_node_wei / ETHER_WEI:g} ether per replica, slash {prices.slash_wei / ETHER_WEI:g} ether
(ratio {prices.slash_ratio:g}), gas at {prices.gas_price_wei / 10**9:g} gwei.</p>
<p>{number(summary['trials'])} trials at {summary['points']} points in {number(summary['seconds'])} s
({number(summary['trials_per_s'])} trials/s). Safety: {number(summary['below_quorum_trials'])} trials had fewer
byzantine replicas than the quorum and {summary['wrong_below_quorum']} of them accepted a wrong result. Theory lies
inside the simulation's Wilson 95% interval for {summary['judged'] - len(outside)} of {summary['judged']} figures
(P(wrong) and P(no consensus) per point; chance alone puts about 5% outside).</p>
{_adaptive_html(sweep)}{''.join(sections)}"""
    return page(f"cipherquorum sweep: {config.source}", body)


def write_sweep_report(sweep: SweepResult, out_dir: str | Path) -> list[Path]:
    """Write sweep.json, points.csv and sweep.html into ``out_dir`` (made if missing); return their paths."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    json_path, csv_path, html_path = folder / "sweep.json", folder / "points.csv", folder / "sweep.html"
    json_path.write_text(json.dumps(sweep_json(sweep), indent=2) + "\n", encoding="utf-8")
    with csv_path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for result in sweep.points:
            writer.writerow(csv_row(result))
    html_path.write_text(render_sweep_html(sweep), encoding="utf-8")
    return [json_path, csv_path, html_path]


__all__ = ["CSV_FIELDS", "NO_THEORY", "adaptive_pairs", "csv_row", "point_json", "render_sweep_html", "render_text",
           "summary_json", "sweep_json", "write_sweep_report"]
