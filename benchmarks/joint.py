"""Measure joint statistics' cost per row and a federated round's cost per owner, in one process (no market).

Joint statistics: owners encode and encrypt diabetes rows (resampled with replacement past the 442 rows it has),
one node runs joint_moments@1 over every chunk, the analyst decrypts; each step's time and bytes, per row.
Federated: each owner trains locally and encrypts its update, one node runs sum@1 over the owners' updates, the
key holder decrypts; each step per owner. The market adds its windows and replication on top (see the run
report of scenarios/joint_stats.toml and scenarios/federated.toml).
"""
from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from cipherquorum.fhe import KeyNeeds, SecretKeyOwner, execute, get_preset, get_program
from cipherquorum.fhe.programs.joint import MomentsLayout, check_moment_capacity, pack_chunk
from cipherquorum.joint.data import features_schema, load_dataset, split_shares, stats_schema
from cipherquorum.joint.federated import TrainingTerms, encode_update, scale_features, train_logistic
from cipherquorum.joint.moments import plain_sums
from cipherquorum.types import ExecStatus

OWNERS = 3


def bench_joint(rows: int, preset_name: str = "bfv-8192-wide") -> dict[str, Any]:
    """Time one joint-statistics job over ``rows`` diabetes rows split over three owners."""
    diabetes = load_dataset("diabetes")
    schema = stats_schema(diabetes, 10_000, 1)
    table = diabetes.table()[np.random.default_rng(rows).integers(0, diabetes.rows, rows)]
    encoded = schema.encode(table, "bench")
    preset = get_preset(preset_name)
    layout = MomentsLayout(len(schema.columns) + 1, preset.row_slots)
    params = {"columns": layout.columns, "bounds": schema.bounds, "row_slots": preset.row_slots}
    check_moment_capacity(schema.bounds, rows, preset.plain_bound)
    program = get_program("joint_moments@1")
    start_s = time.perf_counter()
    analyst = SecretKeyOwner.generate(preset_name, program.key_needs(params))
    keys_s = time.perf_counter() - start_s
    start_s = time.perf_counter()
    blobs = []
    for part in np.array_split(encoded, OWNERS):
        for first in range(0, len(part), layout.rows_per_chunk):
            chunk = pack_chunk(part[first:first + layout.rows_per_chunk].tolist(), layout)
            blobs.append(analyst.encrypt(chunk).to_bytes())
    encrypt_s = time.perf_counter() - start_s
    start_s = time.perf_counter()
    outcome = execute(program.ref, analyst.bundle, blobs, params, 3600.0)
    node_s = time.perf_counter() - start_s
    if outcome.status is not ExecStatus.SUCCESS:
        raise SystemExit(f"joint_moments@1 failed on {rows} rows: {outcome.detail}")
    start_s = time.perf_counter()
    sums = program.decode([analyst.decrypt(outcome.outputs[0])], params)
    decrypt_s = time.perf_counter() - start_s
    input_bytes = sum(len(blob) for blob in blobs)
    return {
        "rows": rows, "chunks": len(blobs), "columns": len(schema.columns), "exact": sums == plain_sums(encoded),
        "keys_s": keys_s, "bundle_bytes": len(analyst.bundle.to_bytes()), "encrypt_s": encrypt_s,
        "node_s": node_s, "decrypt_s": decrypt_s, "input_bytes": input_bytes,
        "result_bytes": sum(len(ct.to_bytes()) for ct in outcome.outputs),
        "encrypt_ms_per_row": 1000 * encrypt_s / rows, "node_ms_per_row": 1000 * node_s / rows,
        "input_bytes_per_row": input_bytes / rows,
        "noise_budget_bits": analyst.noise_budget_bits(outcome.outputs[0]),
    }


def bench_federated(owners: int, terms: TrainingTerms, preset_name: str = "bfv-8192") -> dict[str, Any]:
    """Time one federated round of ``owners`` owners over the breast cancer training rows."""
    cancer = load_dataset("breast_cancer")
    schema = features_schema(cancer)
    shares, _ = split_shares(cancer, owners, seed=owners, test_fraction=0.2)
    holder = SecretKeyOwner.generate(preset_name, KeyNeeds())
    weights = np.zeros(len(schema.columns) + 1)
    train_s = encrypt_s = 0.0
    blobs, updates = [], []
    for share in shares:
        start_s = time.perf_counter()
        trained = train_logistic(weights, scale_features(share.features, schema), share.target, terms)
        update = encode_update(trained, share.rows, terms)
        train_s += time.perf_counter() - start_s
        start_s = time.perf_counter()
        blobs.append(holder.encrypt(update).to_bytes())
        encrypt_s += time.perf_counter() - start_s
        updates.append(update)
    params = {"width": len(weights) + 1}
    start_s = time.perf_counter()
    outcome = execute("sum@1", holder.bundle, blobs, params, 3600.0)
    node_s = time.perf_counter() - start_s
    start_s = time.perf_counter()
    summed = holder.decrypt(outcome.outputs[0], len(weights) + 1)
    decrypt_s = time.perf_counter() - start_s
    return {
        "owners": owners, "rows": sum(s.rows for s in shares),
        "exact": summed == [sum(column) for column in zip(*updates)],
        "train_ms_per_owner": 1000 * train_s / owners, "encrypt_ms_per_owner": 1000 * encrypt_s / owners,
        "node_ms_per_owner": 1000 * node_s / owners, "decrypt_ms": 1000 * decrypt_s,
        "update_bytes_per_owner": len(blobs[0]), "bundle_bytes": len(holder.bundle.to_bytes()),
    }


def _table(title: str, rows: list[dict[str, Any]], columns: list[tuple[str, str, str]]) -> str:
    header = [name for name, _, _ in columns]
    cells = [[format(row[key], spec) for _, key, spec in columns] for row in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(cell, widths)) for cell in cells]
    return "\n".join(lines)


def main() -> None:
    """Run both benchmarks and print their tables (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[442, 1536, 4096],
                        help="rows of each joint-statistics job (default: 442 1536 4096)")
    parser.add_argument("--owners", type=int, nargs="+", default=[3, 6, 12],
                        help="owners of each federated round (default: 3 6 12)")
    parser.add_argument("--local-epochs", type=int, default=25, help="local epochs per round (default 25)")
    parser.add_argument("--json", default="", help="also write the figures to this JSON file")
    args = parser.parse_args()
    terms = TrainingTerms(args.local_epochs, 4.0, 1e-4, 10_000, 20.0)
    joint = [bench_joint(rows) for rows in args.rows]
    federated = [bench_federated(owners, terms) for owners in args.owners]
    print(_table("Joint statistics, joint_moments@1 on bfv-8192-wide (one node, no market)", joint, [
        ("rows", "rows", "d"), ("chunks", "chunks", "d"), ("exact", "exact", ""), ("encrypt s", "encrypt_s", ".2f"),
        ("node s", "node_s", ".2f"), ("decrypt s", "decrypt_s", ".3f"), ("encrypt ms/row", "encrypt_ms_per_row", ".2f"),
        ("node ms/row", "node_ms_per_row", ".2f"), ("input B/row", "input_bytes_per_row", ".0f"),
        ("result B", "result_bytes", "d"), ("budget bits", "noise_budget_bits", "d")]))
    print()
    print(_table("Federated round, sum@1 on bfv-8192 (one node, no market)", federated, [
        ("owners", "owners", "d"), ("rows", "rows", "d"), ("exact", "exact", ""),
        ("train ms/owner", "train_ms_per_owner", ".1f"), ("encrypt ms/owner", "encrypt_ms_per_owner", ".1f"),
        ("node ms/owner", "node_ms_per_owner", ".2f"), ("decrypt ms", "decrypt_ms", ".1f"),
        ("update B/owner", "update_bytes_per_owner", "d")]))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"joint_stats": joint, "federated": federated}, handle, indent=2)


if __name__ == "__main__":
    main()
