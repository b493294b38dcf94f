"""Measure split inference end to end through the market: images per second at replication r, FHE CPU per image.

Runs a scenario whose one workflow section, [split_bench] (registered by this script only), hosts the model
owner and data users on the real stack (Ray, the embedded chain, storage, staked nodes): each user encrypts
full packed batches (4096 image slots each: the 540 held-out digits tiled), runs one market task per batch
through the first k layers, decrypts, and has the model owner finish them. The clock runs from the first
encryption to the last class at the owner. The nodes' CPU is read from their processes before and after.

    .venv/bin/python benchmarks/split_inference.py --users 2 --batches 2 --k 1
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cipherquorum.fhe import Evaluator, KeyBundle, execute, get_preset
from cipherquorum.inference.data import load_split, validate_images
from cipherquorum.inference.partition import PRESET, PROGRAM, head_params
from cipherquorum.nodes.data_user import DataUser
from cipherquorum.nodes.driver.runner import MarketRun
from cipherquorum.nodes.model_owner import ModelOwner
from cipherquorum.nodes.workflows import WORKFLOW_DRIVERS, WorkflowContext
from cipherquorum.reports.run import WorkflowSection, text_table
from cipherquorum.settings import workflows
from cipherquorum.settings.scenario import parse_scenario
from cipherquorum.settings.toml import TableReader
from cipherquorum.types import ExecStatus

TENSEAL_UNPACKED_S = 2.5
"""TenSEAL's published encrypted MNIST inference: 2.5 s for one unpacked image (N=8192, conv + two FC layers)."""


@dataclass(frozen=True)
class BenchSettings:
    """The benchmark's section: users, full batches per user, k."""

    users: int
    batches: int
    k: int
    section: str = "split_bench"

    @property
    def clients(self) -> int:
        return self.users


def read_bench(reader: TableReader) -> BenchSettings:
    """Read [split_bench]."""
    settings = BenchSettings(reader.integer("users", 2, minimum=1, maximum=16),
                             reader.integer("batches", 1, minimum=1, maximum=16),
                             reader.integer("k", 1, minimum=1, maximum=3))
    reader.finish()
    return settings


def drive_bench(settings: BenchSettings, context: WorkflowContext) -> WorkflowSection:
    """Publish, then every user at once: encrypt, run one task per batch, decrypt, finish at the owner."""
    store = context.stack.store
    owner = context.host(ModelOwner, "digits-lab", store, name="model-owner", title="the model owner")
    published = owner.call("publish", timeout_s=300)
    users = [context.host(DataUser, f"user-{u}", store, "digits-lab", published.model.name, published.version,
                          name=f"data-user-{u}", title=f"data user {u}") for u in range(settings.users)]
    slots = get_preset(PRESET).slots
    split = load_split()
    tiled = np.resize(split.test_images, (settings.batches * slots, 64))
    plain = published.model.predict(validate_images(tiled))
    cpu_before = sum(node.usage().cpu_s for node in context.stack.nodes)
    phases: dict[str, list[float]] = {"encrypt_s": [], "market_s": [], "finish_s": []}

    def one_user(u: int) -> tuple[int, int]:
        user = users[u]
        started_s = time.perf_counter()
        batches = [user.call("encrypt_images", tiled[b * slots:(b + 1) * slots], timeout_s=600)
                   for b in range(settings.batches)]
        specs = [user.call("task_spec", batch, settings.k, f"bench-user-{u}/batch-{b}")
                 for b, batch in enumerate(batches)]
        encrypted_s = time.perf_counter()
        outcomes = context.run_tasks(context.clients[u], specs)
        market_s = time.perf_counter()
        agree = done = 0
        for b, outcome in enumerate(outcomes):
            if outcome.status is not ExecStatus.SUCCESS or not outcome.proof_verified:
                continue
            intermediate = user.call("decrypt", list(outcome.outputs), settings.k, slots, timeout_s=300)
            classes = owner.call("finish", published.version, settings.k, intermediate, timeout_s=300)
            agree += int(np.sum(classes == plain[b * slots:(b + 1) * slots]))
            done += slots
        phases["encrypt_s"].append(encrypted_s - started_s)
        phases["market_s"].append(market_s - encrypted_s)
        phases["finish_s"].append(time.perf_counter() - market_s)
        return agree, done

    load_before = os.getloadavg()[0]
    started_s = time.perf_counter()
    with ThreadPoolExecutor(max_workers=settings.users) as pool:
        results = list(pool.map(one_user, range(settings.users)))
    wall_s = time.perf_counter() - started_s
    node_cpu_s = sum(node.usage().cpu_s for node in context.stack.nodes) - cpu_before
    images = settings.users * settings.batches * slots
    finished = sum(done for _, done in results)
    one_replica_cpu_s = _one_replica_cpu_s(context, users[0], published, settings.k, tiled[:slots])
    data: dict[str, Any] = {
        "k": settings.k, "users": settings.users, "batches_per_user": settings.batches, "images": images,
        "finished_images": finished, "agreement": sum(a for a, _ in results) / max(1, finished),
        "wall_s": wall_s, "images_per_s": finished / wall_s,
        "node_cpu_s": node_cpu_s, "node_cpu_ms_per_image": 1000 * node_cpu_s / max(1, finished),
        "one_replica_cpu_s_per_batch": one_replica_cpu_s,
        "one_replica_cpu_ms_per_image": 1000 * one_replica_cpu_s / slots,
        "tenseal_unpacked_s_per_image": TENSEAL_UNPACKED_S,
        "phases_s": {name: max(values) for name, values in phases.items()},
        "load_average_1min": [load_before, os.getloadavg()[0]],
    }
    text = "\n".join(text_table("Split inference benchmark", ["measure", "value"], [
        ["images end to end", f"{finished} of {images} ({data['agreement']:.2%} same class as plaintext)"],
        ["wall s (first encryption to last class)", f"{wall_s:.1f}"],
        ["images / s end to end", f"{data['images_per_s']:.1f}"],
        ["nodes' CPU s (all replicas)", f"{node_cpu_s:.1f}"],
        ["nodes' CPU ms / image (all replicas)", f"{data['node_cpu_ms_per_image']:.2f}"],
        ["one replica's FHE CPU ms / image", f"{data['one_replica_cpu_ms_per_image']:.2f}"],
        ["TenSEAL, one unpacked image (published)", f"{1000 * TENSEAL_UNPACKED_S:.0f} ms"],
        *[[f"slowest user: {name}", f"{value:.1f}"] for name, value in data["phases_s"].items()],
        ["machine load average, before / after", " / ".join(f"{v:.1f}" for v in data["load_average_1min"])],
    ]))
    return WorkflowSection(settings.section, finished == images and data["agreement"] >= 0.99, data, text)


def _one_replica_cpu_s(context: WorkflowContext, user: Any, published: Any, k: int, images: np.ndarray) -> float:
    """CPU seconds of one replica's program on one full batch, run here (after the market phase)."""
    batch = user.call("encrypt_images", images, timeout_s=600)
    spec = user.call("task_spec", batch, k, "cpu")
    store = context.stack.store
    evaluator = Evaluator.from_bundle(KeyBundle.from_bytes(store.get(spec.key_bundle_ref)))
    inputs = store.get_many(list(batch.input_refs))
    started_s = time.process_time()
    outcome = execute(PROGRAM, evaluator, inputs, head_params(published.model, k, batch.images_per_ciphertext), 600)
    assert outcome.status is ExecStatus.SUCCESS, outcome.detail
    return time.process_time() - started_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=2, help="data users, each its own market account")
    parser.add_argument("--batches", type=int, default=1, help="full batches of 4096 images per user")
    parser.add_argument("--k", type=int, default=1, help="initial layers under FHE (1..3)")
    parser.add_argument("--replication", type=int, default=3)
    parser.add_argument("--nodes", type=int, default=3, help="honest compute nodes")
    parser.add_argument("--capacity", type=int, default=2, help="tasks a node takes at once")
    parser.add_argument("--json", type=Path, help="write the measured figures here")
    args = parser.parse_args(argv)
    workflows.SECTION_READERS["split_bench"] = "__main__:read_bench"
    WORKFLOW_DRIVERS["split_bench"] = "__main__:drive_bench"
    document = {
        "run": {"name": "split-bench", "seed": "split-bench-1"},
        "market": {"replication": args.replication, "quorum": max(1, args.replication // 2 + 1),
                   "commit_window_s": 300, "reveal_window_s": 60, "time_limit_s": 60},
        "fhe": {"preset": PRESET},
        "nodes": [{"count": args.nodes, "capacity": args.capacity}],
        "split_bench": {"users": args.users, "batches": args.batches, "k": args.k},
    }
    report = MarketRun(parse_scenario(document, "split-bench")).run()
    (section,) = [s for s in report.workflows if s.name == "split_bench"]
    print(section.text)
    if args.json:
        args.json.write_text(json.dumps({**section.data, "args": vars(args) | {"json": str(args.json)}},
                                        indent=2, default=str))
    return 0 if section.ok else 1


if __name__ == "__main__":
    sys.exit(main())
