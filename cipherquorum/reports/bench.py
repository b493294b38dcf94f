"""The benchmark report: a run's end-to-end time beside its pure FHE cost and its raw chain ceiling."""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cipherquorum.exceptions import ValidationError
from cipherquorum.measurement.spans import PHASES

E2E_DEFINITION = ("from the first createTask to the last verified (proof-checked, downloaded and decrypted) "
                  "result, with every actor already up and the answers already encrypted and stored")
FHE_DEFINITION = ("process CPU time of every replica's program (input decoding, evaluation, output hashing), "
                  "run back to back in one process on the run's own ciphertexts; no Ray, chain or storage")
CHAIN_DEFINITION = ("wall time for a fresh embedded devnet to take the run's transactions (same functions, "
                    "same senders, same votes) sent straight to it through the TaskMarket binding, one thread "
                    "per sender; no Ray, storage or FHE; the median of the replays, each on a fresh devnet")


def usable_cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class BenchReport:
    """The three measurements of one workload and what they say about the system's overhead.

    ideal = max(FHE CPU time / usable cores, chain time); overhead_ratio = e2e / ideal. ``cipherquorum bench``
    measures all three in one invocation on the same machine, one after another, so none slows another down.
    """

    scenario: str
    tasks: int
    verified: bool
    cores: int
    e2e_s: float
    fhe_cpu_s: float
    fhe_wall_s: float
    fhe_runs: int
    fhe_key_load_s: float
    chain_s: float
    chain_transactions: int
    e2e_transactions: int
    transactions_by_function: dict[str, int]
    gas_per_task: float
    e2e_chain_rpc: dict[str, dict[str, float]] = field(default_factory=dict)
    replay_chain_rpc: dict[str, dict[str, float]] = field(default_factory=dict)
    chain_replays_s: tuple[float, ...] = ()
    """Each replay's chain time (``chain_s`` is their median)."""
    respondents: int = 0
    roles_peak_rss_bytes: dict[str, int] = field(default_factory=dict)
    startup_s: dict[str, float] = field(default_factory=dict)
    phases: dict[str, dict[str, Any]] = field(default_factory=dict)
    definitions: dict[str, str] = field(default_factory=lambda: {
        "e2e_s": E2E_DEFINITION, "fhe_cpu_s": FHE_DEFINITION, "chain_s": CHAIN_DEFINITION,
        "ideal_s": "max(fhe_cpu_s / cores, chain_s)", "overhead_ratio": "e2e_s / ideal_s"})

    def __post_init__(self) -> None:
        if self.cores < 1:
            raise ValidationError(f'"cores" must be >= 1 (got cores={self.cores})')
        if self.tasks < 1:
            raise ValidationError(f"a benchmark needs at least one task (got tasks={self.tasks})")

    @property
    def ideal_s(self) -> float:
        """The time the workload needs at the physical limit: FHE on every core, or the chain, whichever is longer."""
        return max(self.fhe_cpu_s / self.cores, self.chain_s)

    @property
    def bound(self) -> str:
        """Which resource sets the ideal: "chain" or "fhe"."""
        return "chain" if self.chain_s >= self.fhe_cpu_s / self.cores else "fhe"

    @property
    def overhead_ratio(self) -> float:
        """e2e / ideal: 1.0 means the run went as fast as its slowest resource allows."""
        return self.e2e_s / self.ideal_s if self.ideal_s > 0 else float("inf")

    @property
    def txs_per_task(self) -> float:
        """Transactions the run sent per task, counted from the blocks it mined."""
        return self.e2e_transactions / self.tasks

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with the derived figures (ideal, bound, ratio, transactions per task) included."""
        data = asdict(self)
        data.update(ideal_s=round(self.ideal_s, 4), bound=self.bound, overhead_ratio=round(self.overhead_ratio, 4),
                    txs_per_task=round(self.txs_per_task, 3))
        for key in ("e2e_s", "fhe_cpu_s", "fhe_wall_s", "fhe_key_load_s", "chain_s", "gas_per_task"):
            data[key] = round(data[key], 4)
        data["chain_replays_s"] = [round(seconds, 4) for seconds in self.chain_replays_s]
        return data

    def write_json(self, path: str | Path) -> Path:
        """Write the JSON report (creating folders) and return its path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.to_json_dict(), indent=2, sort_keys=True) + "\n")
        return target

    def _replays_text(self) -> str:
        if len(self.chain_replays_s) < 2:
            return ""
        return (f", the median of {len(self.chain_replays_s)} replays "
                f"({min(self.chain_replays_s):.3f}-{max(self.chain_replays_s):.3f} s)")

    def render_text(self) -> str:
        """The report as lines a person reads."""
        functions = ", ".join(f"{name or 'other'} {count}"
                              for name, count in sorted(self.transactions_by_function.items()))
        lines = [
            f"cipherquorum bench: {self.scenario} ({self.tasks} tasks, {self.cores} usable cores, "
            f"{'all verified' if self.verified else 'NOT all verified'})",
            f"  e2e         {self.e2e_s:8.3f} s   {E2E_DEFINITION}",
            f"  FHE CPU     {self.fhe_cpu_s:8.3f} s   {self.fhe_runs} program runs "
            f"(wall {self.fhe_wall_s:.3f} s; key loading {self.fhe_key_load_s:.3f} s apart)",
            f"  chain       {self.chain_s:8.3f} s   {self.chain_transactions} transactions replayed "
            f"({self.chain_transactions / max(self.chain_s, 1e-9):.1f} tx/s){self._replays_text()}",
            f"  ideal       {self.ideal_s:8.3f} s   max(FHE CPU / {self.cores} cores, chain): {self.bound}-bound",
            f"  overhead    {self.overhead_ratio:8.3f} x  e2e / ideal",
            f"  transactions per task {self.txs_per_task:.2f} ({functions}), gas per task {self.gas_per_task:,.0f}",
        ]
        for label, rpc in (("e2e", self.e2e_chain_rpc), ("the replay", self.replay_chain_rpc)):
            if rpc:
                busy_s = sum(stats["busy_s"] for stats in rpc.values())
                cpu_s = sum(stats.get("cpu_s", 0.0) for stats in rpc.values())
                lines.append(f"  chain busy during {label} {busy_s:.3f} s ({cpu_s:.3f} s of it on a CPU): " + ", ".join(
                    f"{method} {stats['calls']:.0f}x {stats['busy_s']:.3f} s" for method, stats in rpc.items()))
        if self.startup_s:
            lines.append("  start-up (not in e2e): " + ", ".join(f"{k} {v:.1f} s" for k, v in self.startup_s.items()))
        if self.respondents:
            wall_s = self.e2e_s + sum(self.startup_s.values())
            lines.append(f"  whole run {wall_s:.1f} s for {self.respondents} respondents: "
                         f"{1000 * wall_s / self.respondents:.2f} ms per respondent "
                         f"({1000 * (self.e2e_s + self.startup_s.get('answers', 0.0)) / self.respondents:.2f} ms "
                         "answering and aggregating)")
        if self.roles_peak_rss_bytes:
            lines.append(f"  peak memory: {sum(self.roles_peak_rss_bytes.values()) / 2**20:.0f} MiB, the sum of every "
                         "role's own peak (" + ", ".join(f"{role} {rss / 2**20:.0f}" for role, rss in
                                                         sorted(self.roles_peak_rss_bytes.items())) + " MiB)")
        if self.phases:
            lines.append("  phases (p50 / p95 / max s, count):")
            for name, summary in self.phases.items():
                lines.append(f"    {name:14} {summary['p50_s']:7.3f} {summary['p95_s']:7.3f} {summary['max_s']:7.3f}"
                             f"  n={summary['count']}")
        return "\n".join(lines) + "\n"


def check_max_overhead(report: BenchReport, max_overhead: float | None) -> list[str]:
    """Return the failed checks (empty when ``max_overhead`` is None or the ratio is within it).

    Raises ValidationError for a limit that is not > 0.
    """
    if max_overhead is None:
        return []
    if not max_overhead > 0:
        raise ValidationError(f'"max_overhead" must be > 0 (got max_overhead={max_overhead})')
    if report.overhead_ratio > max_overhead:
        return [f"overhead_ratio {report.overhead_ratio:.3f} > max_overhead {max_overhead}"]
    return []


def phase_table(summaries: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Order phase summaries as a task lives through them (unknown phases last, by name)."""
    order: dict[str, int] = {phase.value: index for index, phase in enumerate(PHASES)}
    return {name: dict(summaries[name]) for name in sorted(summaries, key=lambda n: (order.get(n, len(order)), n))}


__all__ = ["BenchReport", "check_max_overhead", "phase_table", "usable_cores"]
