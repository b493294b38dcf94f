"""Measure the FHE layer: key and ciphertext sizes per preset, and the time of each program, printed as tables."""
from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from cipherquorum.fhe import (
    PRESETS,
    Encryptor,
    Evaluator,
    KeyBundle,
    KeyNeeds,
    SecretKeyOwner,
    execute,
    get_program,
)
from cipherquorum.types import ExecStatus

KB = 1000


@dataclass(frozen=True)
class Workload:
    """One program run to time: its preset, inputs (plaintext vectors) and params."""

    ref: str
    preset: str
    label: str
    plain_inputs: list[list]
    params: dict


def workloads(scale: int, rng: random.Random) -> list[Workload]:
    """The programs on representative inputs; ``scale`` multiplies the input counts of the aggregates."""
    def ints(n: int, width: int, low: int = 0, high: int = 100) -> list[list[int]]:
        return [[rng.randint(low, high) for _ in range(width)] for _ in range(n)]

    one_hot = [[int(j == rng.randrange(5)) for j in range(5)] for _ in range(100 * scale)]
    m, d = 8, 16
    return [
        Workload("sum@1", "bfv-2048", f"{100 * scale} x 4 values", ints(100 * scale, 4), {"width": 4}),
        Workload("mean@1", "bfv-2048", f"{100 * scale} x 1 value", ints(100 * scale, 1), {}),
        Workload("histogram@1", "bfv-2048", f"{100 * scale} answers, 5 bins", one_hot, {"bins": 5}),
        Workload("histogram@1", "bfv-8192", f"{100 * scale} answers, 5 bins", one_hot, {"bins": 5}),
        Workload("variance@1", "bfv-8192", f"{10 * scale} x 2 values", ints(10 * scale, 2), {"width": 2}),
        Workload(
            "weighted_score@1", "bfv-8192", f"{scale} profiles x 16 features",
            ints(scale, 16), {"weights": tuple(rng.randint(-50, 50) for _ in range(16))},
        ),
        Workload("pin_challenge@1", "bfv-8192", "one 6-digit PIN", [[rng.randint(0, 999_999)]], {"a": 257, "b": 4242}),
        Workload(
            "linear_square@1", "ckks-8192", f"{scale} inputs, {m}x{d} layer",
            [[rng.uniform(-1, 1) for _ in range(d)] for _ in range(scale)],
            {"weights": tuple(rng.uniform(-1, 1) for _ in range(m * d)),
             "bias": tuple(rng.uniform(-1, 1) for _ in range(m))},
        ),
    ]


def timed(action: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Return the median wall time in seconds over ``repeats`` runs of ``action``, and its last result."""
    samples, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def bench_presets(loads: list[Workload], repeats: int) -> tuple[list[dict], dict[str, SecretKeyOwner]]:
    """Key generation, bundle part sizes, evaluator load, encryption time and ciphertext size per preset."""
    rows, owners = [], {}
    for name in PRESETS:
        needs = KeyNeeds.union(get_program(w.ref).key_needs(w.params) for w in loads if w.preset == name)
        keygen_s, owner = timed(lambda: SecretKeyOwner.generate(name, needs), repeats)
        owners[name] = owner
        bundle_bytes = owner.bundle.to_bytes()
        load_s, _ = timed(lambda: Evaluator.from_bundle(KeyBundle.from_bytes(bundle_bytes)), repeats)
        encryptor = Encryptor.from_bundle(owner.bundle)
        values = [1.0] * 4 if PRESETS[name].scheme == "ckks" else [1] * 4
        encrypt_s, ct = timed(lambda: encryptor.encrypt(values), max(repeats, 20))
        sizes = owner.bundle.part_sizes()
        steps = len(owner.bundle.rotation_steps)
        rows.append({
            "preset": name,
            "keygen_s": keygen_s,
            "evaluator_load_s": load_s,
            "encrypt_ms": encrypt_s * 1000,
            "ciphertext_kb": len(ct.data) / KB,
            "envelope_kb": len(ct.to_bytes()) / KB,
            "public_key_kb": sizes["public_key"] / KB,
            "relin_key_kb": sizes["relin_key"] / KB,
            "rotation_steps": owner.bundle.rotation_steps,
            "rotation_key_kb_per_step": sizes["rotation_key"] / steps / KB if steps else 0.0,
            "bundle_kb": len(bundle_bytes) / KB,
        })
    return rows, owners


def bench_programs(loads: list[Workload], owners: dict[str, SecretKeyOwner], repeats: int) -> list[dict]:
    """Time execute() on a cached evaluator for each workload; report output sizes, noise left or CKKS error."""
    rows = []
    evaluators = {name: Evaluator.from_bundle(owner.bundle) for name, owner in owners.items()}
    for load in loads:
        owner, program = owners[load.preset], get_program(load.ref)
        inputs = [owner.encrypt(vector).to_bytes() for vector in load.plain_inputs]
        seconds, outcome = timed(
            lambda: execute(load.ref, evaluators[load.preset], inputs, load.params, time_limit_s=600), repeats
        )
        if outcome.status != ExecStatus.SUCCESS:
            raise SystemExit(f"{load.ref} on {load.preset} failed: {outcome.status.name} {outcome.detail}")
        expected = program.reference(load.plain_inputs, load.params)
        decrypted = [owner.decrypt(ct, len(vector)) for ct, vector in zip(outcome.outputs, expected)]
        error = max(abs(g - e) for got, want in zip(decrypted, expected) for g, e in zip(got, want))
        quality = (
            f"max error {error:.1e}" if program.scheme == "ckks"
            else f"exact={error == 0}, noise left {min(owner.noise_budget_bits(ct) for ct in outcome.outputs)} bits"
        )
        rows.append({
            "program": load.ref,
            "preset": load.preset,
            "workload": load.label,
            "seconds": seconds,
            "ms_per_input": seconds * 1000 / len(inputs),
            "outputs": len(outcome.outputs),
            "output_kb_each": len(outcome.outputs[0].data) / KB,
            "output_level": outcome.outputs[0].level,
            "quality": quality,
        })
    return rows


def print_table(rows: list[dict], columns: list[str]) -> None:
    """Print ``rows`` as an aligned text table of ``columns``."""
    def cell(value: object) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    widths = [max(len(c), *(len(cell(r[c])) for r in rows)) for c in columns]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    for r in rows:
        print("  ".join(cell(r[c]).ljust(w) for c, w in zip(columns, widths)))
    print()


def main() -> None:
    """Run the benchmark and print the tables (and write JSON when asked)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=10, help="input-count multiplier (default 10: 1,000 sums)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement; the median is shown")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    loads = workloads(args.scale, random.Random(7))
    preset_rows, owners = bench_presets(loads, args.repeats)
    print_table(preset_rows, [
        "preset", "keygen_s", "evaluator_load_s", "encrypt_ms", "ciphertext_kb", "envelope_kb", "public_key_kb",
        "relin_key_kb", "rotation_steps", "rotation_key_kb_per_step", "bundle_kb",
    ])
    program_rows = bench_programs(loads, owners, args.repeats)
    print_table(program_rows, [
        "program", "preset", "workload", "seconds", "ms_per_input", "outputs", "output_kb_each", "output_level",
        "quality",
    ])
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"presets": preset_rows, "programs": program_rows}, out, indent=2)


if __name__ == "__main__":
    main()
