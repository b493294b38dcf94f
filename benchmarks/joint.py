"""Measure joint statistics' cost per row and a federated round's cost per owner, in one process (no market).

Joint statistics, masked (the default): each owner encodes its diabetes rows (resampled with replacement past the
442 rows it has), computes its exact local sums, adds its pairwise masks and encrypts one vector; one node runs
sum@1 over the owners' vectors, the analyst decrypts and checks the total. Encrypted rows: owners encrypt their
rows, one node runs joint_moments@1 over every chunk, the analyst decrypts. Each step's time and bytes, per row.
Federated: each owner trains locally, masks and encrypts its update, one node runs sum@1 over the owners'
updates, the key holder decrypts; each step per owner. The market adds its windows and replication on top (see the run
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
from cipherquorum.joint.masking import apply_mask, new_masking_key, owner_mask
from cipherquorum.joint.moments import plain_sums
from cipherquorum.joint.sufficient import moment_vector, moment_width, moments_from_total
from cipherquorum.types import ExecStatus

OWNERS = 3


def _masks(owners: int, label: str, length: int, modulus: int) -> list[list[int]]:
    """Each of ``owners`` owners' net pairwise mask (fresh secp256k1 keys), as the DataOwner role makes them."""
    keys = {f"owner-{k}": new_masking_key() for k in range(owners)}
    public = {name: key.public_key.format(compressed=True) for name, key in keys.items()}
    roster = list(keys)
    return [owner_mask(name, keys[name], roster, public, label, length, modulus) for name in roster]


def bench_masked_joint(rows: int, preset_name: str = "bfv-8192-wide") -> dict[str, Any]:
    """Time one masked joint-statistics job over ``rows`` diabetes rows split over three owners."""
    diabetes = load_dataset("diabetes")
    schema = stats_schema(diabetes, 10_000, 1)
    table = diabetes.table()[np.random.default_rng(rows).integers(0, diabetes.rows, rows)]
    preset = get_preset(preset_name)
    modulus = 2 * preset.plain_bound + 1
    width = moment_width(len(schema.columns))
    check_moment_capacity(schema.bounds, rows, preset.plain_bound)
    start_s = time.perf_counter()
    analyst = SecretKeyOwner.generate(preset_name, KeyNeeds())
    keys_s = time.perf_counter() - start_s
    parts = np.array_split(table, OWNERS)
    start_s = time.perf_counter()
    vectors = [moment_vector(plain_sums(schema.encode(part, "bench"))) for part in parts]
    sums_s = time.perf_counter() - start_s
    start_s = time.perf_counter()
    masks = _masks(OWNERS, "bench/joint", width, modulus)
    masked = [apply_mask(vector, mask, modulus) for vector, mask in zip(vectors, masks)]
    mask_s = time.perf_counter() - start_s
    start_s = time.perf_counter()
    blobs = [analyst.encrypt(vector).to_bytes() for vector in masked]
    encrypt_s = time.perf_counter() - start_s
    start_s = time.perf_counter()
    outcome = execute("sum@1", analyst.bundle, blobs, {"width": width}, 3600.0)
    node_s = time.perf_counter() - start_s
    if outcome.status is not ExecStatus.SUCCESS:
        raise SystemExit(f"sum@1 failed on {rows} rows: {outcome.detail}")
    start_s = time.perf_counter()
    total = analyst.decrypt(outcome.outputs[0], width)
    sums = moments_from_total([int(v) for v in total], schema.bounds[1:], OWNERS, rows)
    decrypt_s = time.perf_counter() - start_s
    input_bytes = sum(len(blob) for blob in blobs)
    return {
        "rows": rows, "slots": width, "exact": sums == plain_sums(schema.encode(table, "bench")),
        "keys_s": keys_s, "bundle_bytes": len(analyst.bundle.to_bytes()), "sums_s": sums_s, "mask_s": mask_s,
        "encrypt_s": encrypt_s, "node_s": node_s, "decrypt_s": decrypt_s, "input_bytes": input_bytes,
        "result_bytes": sum(len(ct.to_bytes()) for ct in outcome.outputs),
        "owner_ms_per_row": 1000 * (sums_s + mask_s + encrypt_s) / rows, "node_ms_per_row": 1000 * node_s / rows,
        "input_bytes_per_row": input_bytes / rows,
        "noise_budget_bits": analyst.noise_budget_bits(outcome.outputs[0]),
    }


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
    width = len(weights) + 1
    train_s = encrypt_s = 0.0
    blobs, updates = [], []
    start_s = time.perf_counter()
    masks = _masks(owners, "bench/federated", width, 2 * holder.preset.plain_bound + 1)
    mask_s = time.perf_counter() - start_s
    for share, mask in zip(shares, masks):
        start_s = time.perf_counter()
        trained = train_logistic(weights, scale_features(share.features, schema), share.target, terms)
        update = encode_update(trained, share.rows, terms)
        train_s += time.perf_counter() - start_s
        start_s = time.perf_counter()
        masked = apply_mask(update, mask, 2 * holder.preset.plain_bound + 1)
        mask_s += time.perf_counter() - start_s
        start_s = time.perf_counter()
        blobs.append(holder.encrypt(masked).to_bytes())
        encrypt_s += time.perf_counter() - start_s
        updates.append(update)
    params = {"width": width}
    start_s = time.perf_counter()
    outcome = execute("sum@1", holder.bundle, blobs, params, 3600.0)
    node_s = time.perf_counter() - start_s
    start_s = time.perf_counter()
    summed = holder.decrypt(outcome.outputs[0], len(weights) + 1)
    decrypt_s = time.perf_counter() - start_s
    return {
        "owners": owners, "rows": sum(s.rows for s in shares),
        "exact": summed == [sum(column) for column in zip(*updates)],
        "train_ms_per_owner": 1000 * train_s / owners, "mask_ms_per_owner": 1000 * mask_s / owners,
        "encrypt_ms_per_owner": 1000 * encrypt_s / owners,
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
    masked = [bench_masked_joint(rows) for rows in args.rows]
    joint = [bench_joint(rows) for rows in args.rows]
    federated = [bench_federated(owners, terms) for owners in args.owners]
    print(_table("Joint statistics, masked: sum@1 on bfv-8192-wide (one node, no market)", masked, [
        ("rows", "rows", "d"), ("exact", "exact", ""), ("sums s", "sums_s", ".4f"), ("mask s", "mask_s", ".4f"),
        ("encrypt s", "encrypt_s", ".3f"), ("node s", "node_s", ".3f"), ("decrypt s", "decrypt_s", ".3f"),
        ("owner ms/row", "owner_ms_per_row", ".3f"), ("node ms/row", "node_ms_per_row", ".3f"),
        ("input B/row", "input_bytes_per_row", ".0f"), ("bundle B", "bundle_bytes", "d"),
        ("budget bits", "noise_budget_bits", "d")]))
    print()
    print(_table("Joint statistics, encrypted rows: joint_moments@1 on bfv-8192-wide (one node, no market)", joint, [
        ("rows", "rows", "d"), ("chunks", "chunks", "d"), ("exact", "exact", ""), ("encrypt s", "encrypt_s", ".2f"),
        ("node s", "node_s", ".2f"), ("decrypt s", "decrypt_s", ".3f"), ("encrypt ms/row", "encrypt_ms_per_row", ".2f"),
        ("node ms/row", "node_ms_per_row", ".2f"), ("input B/row", "input_bytes_per_row", ".0f"),
        ("result B", "result_bytes", "d"), ("budget bits", "noise_budget_bits", "d")]))
    print()
    print(_table("Federated round, sum@1 on bfv-8192 (one node, no market)", federated, [
        ("owners", "owners", "d"), ("rows", "rows", "d"), ("exact", "exact", ""),
        ("train ms/owner", "train_ms_per_owner", ".1f"), ("mask ms/owner", "mask_ms_per_owner", ".2f"),
        ("encrypt ms/owner", "encrypt_ms_per_owner", ".1f"),
        ("node ms/owner", "node_ms_per_owner", ".2f"), ("decrypt ms", "decrypt_ms", ".1f"),
        ("update B/owner", "update_bytes_per_owner", "d")]))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"joint_stats_masked": masked, "joint_stats_rows": joint, "federated": federated}, handle,
                      indent=2)


if __name__ == "__main__":
    main()
