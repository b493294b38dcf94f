"""The storage actor, seen through RemoteBlobStore, behaves like every other BlobStore."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from cipherquorum.nodes.storage_host import RemoteBlobStore
from cipherquorum.storage import BlobStore
from cipherquorum.storage.conformance import IndexedStoreSuite
from cipherquorum.types import BlobId

LIMIT_BYTES = 4096


class TestRemoteBlobStore(IndexedStoreSuite):
    """The IndexedStore conformance suite, run against a storage actor over Ray with a real data directory."""

    @pytest.fixture
    def store(self, ray_runtime, tmp_path: Path) -> BlobStore:
        remote = RemoteBlobStore(str(tmp_path / "data"), LIMIT_BYTES)
        self._roots = getattr(self, "_roots", {})
        self._roots[id(remote)] = tmp_path / "data" / "store"
        yield remote
        remote.shutdown()

    def corrupt(self, store: BlobStore, blob_id: BlobId, data: bytes) -> None:
        path = self._roots[id(store)] / "blobs" / blob_id[:2] / blob_id[2:]
        os.chmod(path, 0o644)
        path.write_bytes(data)

    def make_with_limit(self, limit: object, tmp_path: Path) -> BlobStore:
        return RemoteBlobStore(str(tmp_path / "limited"), limit)  # type: ignore[arg-type]
