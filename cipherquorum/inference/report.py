"""The split-inference report: what was measured per k, per layer and per task, as JSON data and text tables."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from cipherquorum.inference.leakage import LeakageResult
from cipherquorum.reports.probes import Probe, probe_rows
from cipherquorum.reports.run import text_table

AGREEMENT_GOAL = 0.99
"""The share of images on which the split FHE path must give the plaintext model's class."""


@dataclass(frozen=True)
class AccuracyRow:
    """One k over every user's images: agreement with the plaintext model, both accuracies, the largest error."""

    k: int
    images: int
    agreement: float
    fhe_accuracy: float
    plain_accuracy: float
    max_abs_error: float
    tolerance: float

    @property
    def ok(self) -> bool:
        """Whether the intermediate is within the program's tolerance and the classes agree often enough."""
        return self.max_abs_error <= self.tolerance and self.agreement >= AGREEMENT_GOAL


@dataclass(frozen=True)
class LayerTiming:
    """One layer's time: under FHE on one batch (the first k minus the first k - 1), and in plaintext."""

    index: int
    kind: str
    shape: str
    fhe_s: float
    plain_s: float


@dataclass(frozen=True)
class TaskRow:
    """One market task and its proof of execution."""

    task_id: int
    label: str
    status: str
    verified: bool
    winners: int
    block: int
    result_hash: str
    latency_s: float
    expected: str


@dataclass(frozen=True)
class SplitReport:
    """Everything the workflow measured."""

    model: dict[str, Any]
    accuracy: list[AccuracyRow]
    leakage: list[LeakageResult]
    layers: list[LayerTiming]
    head_timing: list[dict[str, float]]
    tasks: list[TaskRow]
    probes: list[Probe]
    svg_path: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every k met its goal, every task ended as expected and every probe was refused as agreed."""
        return (not self.problems and all(row.ok for row in self.accuracy) and all(p.ok for p in self.probes)
                and all(t.status == t.expected and t.verified for t in self.tasks))

    def data(self) -> dict[str, object]:
        """The JSON part of the report."""
        return {
            "model": self.model,
            "accuracy": [{**asdict(row), "ok": row.ok} for row in self.accuracy],
            "leakage": [{**asdict(row), "rmse_of_range": row.rmse_of_range} for row in self.leakage],
            "layers": [asdict(row) for row in self.layers],
            "head_timing": self.head_timing,
            "tasks": [asdict(row) for row in self.tasks],
            "probes": [{**asdict(row), "ok": row.ok} for row in self.probes],
            "reconstructions_svg": self.svg_path,
            "problems": self.problems,
        }

    def text(self) -> str:
        """The text tables."""
        m = self.model
        lines = [f"Split inference: model {m['name']} v{m['version']} of {m['owner']} "
                 f"({m['shapes']}), test accuracy {float(m['test_accuracy']):.2%}; preset {m['preset']}", ""]
        lines += text_table("Accuracy by k (FHE split path against the plaintext model)",
                            ["k", "images", "same class", "FHE acc", "plain acc", "max |err|", "ok"],
                            [[str(r.k), str(r.images), f"{r.agreement:.2%}", f"{r.fhe_accuracy:.2%}",
                              f"{r.plain_accuracy:.2%}", f"{r.max_abs_error:.2e}", "yes" if r.ok else "NO"]
                             for r in self.accuracy])
        lines += text_table("Leakage by k (model owner's least-squares rebuild; pixels 0..16)",
                            ["k", "images", "rmse px", "of range", "pinv rmse px", "mean-image rmse px",
                             "explained", "max |err| px"],
                            [[str(r.k), str(r.images), f"{r.rmse_px:.2f}", f"{r.rmse_of_range:.1%}",
                              "-" if r.pinv_rmse_px is None else f"{r.pinv_rmse_px:.2f}",
                              f"{r.baseline_rmse_px:.2f}", f"{r.explained:.1%}", f"{r.max_abs_px:.1f}"]
                             for r in self.leakage])
        lines += text_table("Time per layer (one batch, one process: FHE vs plaintext)",
                            ["layer", "kind", "shape", "FHE s", "plain s", "FHE / plain"],
                            [[str(r.index), r.kind, r.shape, f"{r.fhe_s:.3f}", f"{r.plain_s:.2e}",
                              f"{r.fhe_s / r.plain_s:.3g}" if r.plain_s > 0 else "-"] for r in self.layers])
        lines += text_table("FHE time against plaintext time, first k layers (one batch)",
                            ["k", "images", "FHE s", "plain s", "FHE / plain", "FHE ms / image"],
                            [[str(int(h["k"])), str(int(h["images"])), f"{h['fhe_s']:.3f}", f"{h['plain_s']:.2e}",
                              f"{h['fhe_s'] / h['plain_s']:.3g}" if h["plain_s"] > 0 else "-",
                              f"{1000 * h['fhe_s'] / h['images']:.2f}"] for h in self.head_timing])
        lines += text_table("Proof of execution per task",
                            ["task", "label", "status", "expected", "verified", "winners", "block", "result hash",
                             "latency s"],
                            [[str(t.task_id), t.label, t.status, t.expected, "yes" if t.verified else "no",
                              str(t.winners), str(t.block), t.result_hash[:18], f"{t.latency_s:.1f}"]
                             for t in self.tasks])
        lines += text_table("Bad input", ["case", "expected", "got", "ok"],
                            probe_rows(self.probes))
        if self.svg_path:
            lines += [f"Reconstructions (originals beside the owner's rebuild for each k): {self.svg_path}", ""]
        lines += [f"problem: {problem}" for problem in self.problems]
        return "\n".join(lines) + "\n"
