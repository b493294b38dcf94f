"""Fixtures of the joint tests: an in-memory indexed store, an analyst's keys for small joint-moments tasks, and
a task run in this process as a node runs it."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pytest

from cipherquorum.fhe import KeyBundle, SecretKeyOwner, execute, get_program
from cipherquorum.nodes.analyst import Analyst
from cipherquorum.nodes.client import TaskOutcome
from cipherquorum.storage import LocalIndexedStore, MemoryBlobStore, VersionIndex
from cipherquorum.types import ExecStatus, TaskEnd, TaskId
from cipherquorum.wire import TaskManifest, encode

SMALL_PARAMS = {"columns": 3, "bounds": [1, 50, 90], "row_slots": 4096}
"""Two data columns (the ones column first): few rotations, so a run takes about a second."""


@pytest.fixture
def store() -> Iterator[LocalIndexedStore]:
    """An empty in-memory indexed store."""
    indexed = LocalIndexedStore(MemoryBlobStore(), VersionIndex())
    yield indexed
    indexed.close()


@pytest.fixture(scope="session")
def small_params() -> dict:
    """joint_moments@1 params for three columns in 4096-slot rows (small keys, quick tests)."""
    return dict(SMALL_PARAMS)


@pytest.fixture(scope="module")
def small_keys() -> SecretKeyOwner:
    """Keys of bfv-8192-wide with what joint_moments@1 needs for two data columns."""
    return SecretKeyOwner.generate("bfv-8192-wide", get_program("joint_moments@1").key_needs(SMALL_PARAMS))


def _run_task(store: LocalIndexedStore, analyst: Analyst, program: str, inputs: Sequence[str],
              params: dict, preset: str = "bfv-8192-wide") -> TaskOutcome:
    """What the market does for a task, in this process: store the manifest, run the program as a node does."""
    bundle_ref = analyst.key_bundle_ref()
    manifest_ref = store.put(encode(TaskManifest(program=program, preset=preset, key_bundle_ref=bundle_ref,
                                                 input_refs=tuple(inputs), params=params, time_limit_s=120.0,
                                                 client="0x" + "11" * 20, label="test")))
    done = execute(program, KeyBundle.from_bytes(store.get(bundle_ref)), store.get_many(list(inputs)), params, 120.0)
    assert done.status is ExecStatus.SUCCESS, done.detail
    return TaskOutcome(TaskId(1), "test", program, TaskEnd.COMPLETED, done.status, "0x" + bytes(done.result_hash).hex(),
                       True, "", None, 0.0, manifest_ref, outputs=done.output_bytes(), winners=("a", "b"),
                       proof_block=7)


@pytest.fixture(scope="session")
def run_task() -> Callable[..., TaskOutcome]:
    """``run_task(store, analyst, program, inputs, params, preset="bfv-8192-wide")``: a verified outcome of the
    task, run in this process (no market)."""
    return _run_task
