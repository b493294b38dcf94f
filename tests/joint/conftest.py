"""Fixtures of the joint tests: an in-memory indexed store and an analyst's keys for small joint-moments tasks."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from cipherquorum.fhe import SecretKeyOwner, get_program
from cipherquorum.storage import LocalIndexedStore, MemoryBlobStore, VersionIndex

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
