"""The BlobStore conformance suite on the memory and file stores, plus what only the file store promises."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cipherquorum.exceptions import StorageError
from cipherquorum.storage import (
    BlobStore,
    FileBlobStore,
    IndexedStore,
    LocalIndexedStore,
    MemoryBlobStore,
    StoreStats,
    VersionIndex,
    blob_id_of,
)
from cipherquorum.storage.conformance import BlobStoreSuite, IndexedStoreSuite
from cipherquorum.types import BlobId


class TestMemoryBlobStore(BlobStoreSuite):
    """The shared suite on MemoryBlobStore."""

    @pytest.fixture
    def store(self, memory_store: MemoryBlobStore) -> BlobStore:
        return memory_store

    def corrupt(self, store: BlobStore, blob_id: BlobId, data: bytes) -> None:
        store._blobs[blob_id] = data  # type: ignore[attr-defined]

    def make_with_limit(self, limit: object, tmp_path: Path) -> BlobStore:
        return MemoryBlobStore(max_blob_bytes=limit)  # type: ignore[arg-type]


class TestFileBlobStore(BlobStoreSuite):
    """The shared suite on FileBlobStore, plus its layout, durability and failure behaviour."""

    @pytest.fixture
    def store(self, file_store: FileBlobStore) -> BlobStore:
        return file_store

    def corrupt(self, store: BlobStore, blob_id: BlobId, data: bytes) -> None:
        path = store.root / "blobs" / blob_id[:2] / blob_id[2:]  # type: ignore[attr-defined]
        os.chmod(path, 0o644)
        path.write_bytes(data)

    def make_with_limit(self, limit: object, tmp_path: Path) -> BlobStore:
        return FileBlobStore(tmp_path / "limited", max_blob_bytes=limit)  # type: ignore[arg-type]

    def test_blob_lives_in_a_two_character_fan_out_directory(self, file_store: FileBlobStore) -> None:
        """A blob is the read-only file root/blobs/ab/cdef... holding exactly its bytes."""
        blob_id = file_store.put(b"layout")
        path = file_store.root / "blobs" / blob_id[:2] / blob_id[2:]
        assert path.read_bytes() == b"layout"
        assert path.stat().st_mode & 0o777 == 0o444

    def test_a_reopened_store_sees_earlier_blobs(self, file_store: FileBlobStore) -> None:
        """Blobs outlive the store object: a new store on the same root reads them."""
        blob_ids = file_store.put_many([b"kept", b"also kept"])
        reopened = FileBlobStore(file_store.root)
        assert reopened.get_many(blob_ids) == [b"kept", b"also kept"]

    def test_unsynced_store_behaves_the_same(self, tmp_path: Path) -> None:
        """With fsync=False, blobs are stored and read back the same way."""
        store = FileBlobStore(tmp_path / "fast", fsync=False)
        assert not store.fsync
        assert store.get_many(store.put_many([b"a", b"b"])) == [b"a", b"b"]

    def test_temp_files_are_not_blobs(self, file_store: FileBlobStore) -> None:
        """A temporary file of an unfinished write is neither listed nor counted, and can be removed."""
        blob_id = file_store.put(b"complete")
        temp = file_store.root / "blobs" / blob_id[:2] / ".tmp-unfinished"
        temp.write_bytes(b"compl")
        assert list(file_store.ids()) == [blob_id]
        assert file_store.stats() == StoreStats(blobs=1, bytes=8)
        assert file_store.temp_files() == [temp]
        assert file_store.remove_temp_files() == 1 and not temp.exists()

    def test_put_repairs_a_truncated_blob(self, file_store: FileBlobStore) -> None:
        """Putting the bytes of a blob whose file was truncated writes it whole again."""
        blob_id = file_store.put(b"whole blob")
        self.corrupt(file_store, blob_id, b"whole")
        assert file_store.put(b"whole blob") == blob_id
        assert file_store.get(blob_id) == b"whole blob"

    def test_failed_rename_leaves_nothing_behind(
        self, file_store: FileBlobStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """When the final rename fails, put raises StorageError and leaves neither blob nor temp file."""

        def failing_replace(src: object, dst: object) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "replace", failing_replace)
        with pytest.raises(StorageError, match="could not be renamed into place"):
            file_store.put(b"doomed")
        monkeypatch.undo()
        assert not file_store.has(blob_id_of(b"doomed"))
        assert file_store.temp_files() == []

    def test_failed_sync_in_a_batch_leaves_no_temp_files(
        self, file_store: FileBlobStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """When syncing fails midway through put_many, it raises StorageError and no temp file remains."""
        real_fsync = os.fsync
        calls = {"n": 0}

        def flaky_fsync(fd: int) -> None:
            calls["n"] += 1
            if calls["n"] == 3:
                raise OSError(5, "Input/output error")
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", flaky_fsync)
        with pytest.raises(StorageError, match="could not be synced"):
            file_store.put_many([b"first", b"second", b"third", b"fourth"])
        monkeypatch.undo()
        assert file_store.temp_files() == []
        assert file_store.stats() == StoreStats(blobs=0, bytes=0)

    def test_root_that_is_a_file_is_refused(self, tmp_path: Path) -> None:
        """A store cannot be opened where a plain file stands."""
        (tmp_path / "occupied").write_bytes(b"")
        with pytest.raises(StorageError, match="cannot be created"):
            FileBlobStore(tmp_path / "occupied")


class TestLocalIndexedStore(IndexedStoreSuite):
    """The indexed-store suite on a file store and an SQLite index in one process."""

    @pytest.fixture
    def store(self, file_store: FileBlobStore, index_path: Path) -> Iterator[IndexedStore]:
        indexed = LocalIndexedStore(file_store, VersionIndex(index_path))
        yield indexed
        indexed.close()

    def corrupt(self, store: BlobStore, blob_id: BlobId, data: bytes) -> None:
        assert isinstance(store, LocalIndexedStore) and isinstance(store.blobs, FileBlobStore)
        path = store.blobs.root / "blobs" / blob_id[:2] / blob_id[2:]
        os.chmod(path, 0o644)
        path.write_bytes(data)

    def make_with_limit(self, limit: object, tmp_path: Path) -> BlobStore:
        blobs = FileBlobStore(tmp_path / "limited", max_blob_bytes=limit)  # type: ignore[arg-type]
        return LocalIndexedStore(blobs, VersionIndex(tmp_path / "limited.sqlite3"))

