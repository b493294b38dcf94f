"""Fixtures for the market-study tests: a real storage directory with its version index."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cipherquorum.storage import FileBlobStore, LocalIndexedStore, VersionIndex


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalIndexedStore]:
    """A file blob store and an SQLite version index under the test's own directory."""
    indexed = LocalIndexedStore(FileBlobStore(tmp_path / "blobs"), VersionIndex(tmp_path / "index.sqlite"))
    yield indexed
    indexed.close()
