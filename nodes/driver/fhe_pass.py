"""The pure FHE cost of a run: every replica's program, run back to back in one process on the run's own blobs."""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from cipherquorum.exceptions import ValidationError
from cipherquorum.fhe import Evaluator, KeyBundle, execute
from cipherquorum.storage import BlobStore
from cipherquorum.types import BlobId, ExecStatus
from cipherquorum.wire import TaskManifest, decode


@dataclass(frozen=True)
class FheJob:
    """One task's program as its manifest describes it, and how many replicas ran it."""

    program: str
    params: dict
    key_bundle_ref: BlobId
    inputs: tuple[bytes, ...]
    replicas: int
    time_limit_s: float


@dataclass(frozen=True)
class FheCost:
    """What the FHE work of a run costs with nothing else running.

    ``cpu_s`` is the process CPU time of every program run (decoding the inputs, evaluating, hashing the
    outputs), ``wall_s`` the wall time of the same loop; ``key_load_s`` is loading each key bundle into an
    evaluator once, measured apart (compute nodes cache one evaluator per bundle).
    """

    runs: int
    inputs: int
    cpu_s: float
    wall_s: float
    key_load_s: float
    per_program_cpu_s: dict[str, float]


def load_jobs(store: BlobStore, tasks: Sequence[tuple[BlobId, int]]) -> list[FheJob]:
    """Read each ``(manifest_ref, replicas)`` task's manifest and input blobs from ``store`` into memory.

    Raises StorageError when a blob is missing and WireError when a manifest does not decode.
    """
    jobs = []
    for manifest_ref, replicas in tasks:
        manifest = decode(store.get(manifest_ref), TaskManifest)
        inputs = tuple(store.get_many([BlobId(ref) for ref in manifest.input_refs]))
        jobs.append(FheJob(manifest.program, dict(manifest.params), BlobId(manifest.key_bundle_ref), inputs,
                           int(replicas), float(manifest.time_limit_s)))
    return jobs


def measure_fhe(store: BlobStore, jobs: Sequence[FheJob]) -> FheCost:
    """Run every job's program ``replicas`` times back to back and return the measured cost.

    Raises ValidationError if a run does not succeed (the measurement would then not be the workload's).
    """
    key_load_s = 0.0
    evaluators: dict[BlobId, Evaluator] = {}
    for job in jobs:
        if job.key_bundle_ref not in evaluators:
            bundle = KeyBundle.from_bytes(store.get(job.key_bundle_ref))
            start_s = time.perf_counter()
            evaluators[job.key_bundle_ref] = Evaluator.from_bundle(bundle)
            key_load_s += time.perf_counter() - start_s
    per_program: dict[str, float] = {}
    runs = inputs = 0
    wall_start_s, cpu_start_s = time.perf_counter(), time.process_time()
    for job in jobs:
        for _ in range(job.replicas):
            run_start_s = time.process_time()
            outcome = execute(job.program, evaluators[job.key_bundle_ref], job.inputs, job.params,
                              job.time_limit_s)
            per_program[job.program] = per_program.get(job.program, 0.0) + time.process_time() - run_start_s
            if outcome.status is not ExecStatus.SUCCESS:
                raise ValidationError(f"{job.program} did not succeed in the FHE pass "
                                      f"(got {outcome.status.name}: {outcome.detail})")
            runs += 1
            inputs += len(job.inputs)
    cpu_s = time.process_time() - cpu_start_s
    wall_s = time.perf_counter() - wall_start_s
    return FheCost(runs=runs, inputs=inputs, cpu_s=cpu_s, wall_s=wall_s, key_load_s=key_load_s,
                   per_program_cpu_s={name: round(value, 4) for name, value in per_program.items()})


__all__ = ["FheCost", "FheJob", "load_jobs", "measure_fhe"]
