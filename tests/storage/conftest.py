"""Fixtures for the storage tests: blob stores on real files and in memory, and version indexes."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cipherquorum.storage import FileBlobStore, MemoryBlobStore, VersionIndex

SMALL_LIMIT_BYTES = 4096
"""Per-blob limit of the stores under test, small so that the limit is cheap to reach."""


@pytest.fixture
def file_store(tmp_path: Path) -> FileBlobStore:
    """A durable FileBlobStore in a fresh directory, with a 4 KiB blob limit."""
    return FileBlobStore(tmp_path / "store", max_blob_bytes=SMALL_LIMIT_BYTES)


@pytest.fixture
def memory_store() -> MemoryBlobStore:
    """A MemoryBlobStore with a 4 KiB blob limit."""
    return MemoryBlobStore(max_blob_bytes=SMALL_LIMIT_BYTES)


@pytest.fixture(params=["memory", "file"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VersionIndex]:
    """A VersionIndex, once in memory and once in an SQLite file; closed after the test."""
    path = ":memory:" if request.param == "memory" else tmp_path / "index.sqlite3"
    with VersionIndex(path) as opened:
        yield opened


@pytest.fixture
def index_path(tmp_path: Path) -> Path:
    """A path for an SQLite index file that does not exist yet."""
    return tmp_path / "index.sqlite3"
