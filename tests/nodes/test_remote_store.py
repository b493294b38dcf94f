"""The storage actor, seen through RemoteBlobStore, behaves like every other BlobStore: read through the actor,
and read straight from the storage's directory on its own machine."""
from __future__ import annotations

import inspect
import os
import time
from pathlib import Path

import pytest
import ray

from cipherquorum.exceptions import BlobNotFound, StorageError, StorageUnavailable
from cipherquorum.nodes import storage_host
from cipherquorum.nodes.storage_host import RemoteBlobStore
from cipherquorum.storage import BlobStore
from cipherquorum.storage.conformance import IndexedStoreSuite
from cipherquorum.types import BlobId

LIMIT_BYTES = 4096
READ_CALLS = (".get(", ".get_many(", '"get"')
"""What a test calls when it reads blobs: only reads differ between local and actor reads."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each conformance test runs with local reads; a test that reads blobs runs again with reads through the actor
    (the writes, has, size, ids and the version index always go through the actor: running them twice would
    test the same calls twice)."""
    if metafunc.cls is TestRemoteBlobStore and "store" in metafunc.fixturenames:
        reads = any(call in inspect.getsource(metafunc.function) for call in READ_CALLS)
        modes = ["local-reads", "actor-reads"] if reads else ["local-reads"]
        metafunc.parametrize("store", modes, indirect=True)


class TestRemoteBlobStore(IndexedStoreSuite):
    """The IndexedStore conformance suite, run against a storage actor over Ray with a real data directory, with
    local reads, and the tests that read blobs again with reads through the actor."""

    @pytest.fixture
    def store(self, request, ray_runtime, tmp_path: Path) -> BlobStore:
        if request.param == "actor-reads" and getattr(request.node, "callspec", None) is not None \
                and request.node.callspec.params.get("method", "get") != "get":
            pytest.skip("has and size go through the actor with local reads too")
        remote = RemoteBlobStore(str(tmp_path / "data"), LIMIT_BYTES, local_reads=request.param == "local-reads")
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


def _ids_after_put(store: RemoteBlobStore, count: int) -> tuple[list[BlobId], list[bytes]]:
    blobs = [os.urandom(1000) for _ in range(count)]
    return store.put_many(blobs), blobs


def test_a_reader_on_the_storages_machine_reads_its_directory_without_the_actor(ray_runtime, tmp_path: Path) -> None:
    """Local reads need no actor: with the storage gone for good they still return checked bytes, while a store
    that reads through the actor says the storage is unavailable. Ray ends a killed actor asynchronously, so
    the reads through it are tried until they fail, for at most 30 s."""
    local = RemoteBlobStore(str(tmp_path / "data"), LIMIT_BYTES)
    ids, blobs = _ids_after_put(local, 3)
    through_actor = local.with_local_reads(False)
    assert local.reads_locally() and not through_actor.reads_locally()
    local.shutdown()
    deadline_s = time.monotonic() + 30
    while True:
        try:
            assert through_actor.get_many(ids) == blobs  # served before the kill reached the storage's process
        except StorageUnavailable as exc:
            assert "get_many" in str(exc)
            break
        assert time.monotonic() < deadline_s, "reads through the actor still worked 30 s after the shutdown"
        time.sleep(0.1)
    assert local.get_many(ids) == blobs


def test_a_reader_on_another_machine_reads_through_the_actor(ray_runtime, tmp_path: Path, monkeypatch) -> None:
    """A process whose Ray node is not the storage's reads and writes through the actor, and still gets checked
    bytes."""
    store = RemoteBlobStore(str(tmp_path / "data"), LIMIT_BYTES)
    ids, blobs = _ids_after_put(store, 2)
    monkeypatch.setattr(storage_host, "ray_node_id", lambda: "f" * 56)
    elsewhere = store.with_local_reads(True)  # a copy that has not looked for the directory yet
    try:
        assert not elsewhere.reads_locally() and not elsewhere.writes_locally()
        assert elsewhere.get_many(ids) == blobs
        more, more_blobs = _ids_after_put(elsewhere, 2)
        assert store.get_many(more) == more_blobs
    finally:
        store.shutdown()


def test_a_blob_the_directory_cannot_give_is_asked_of_the_actor(ray_runtime, tmp_path: Path) -> None:
    """A local read that fails (here, a file no longer readable) falls back to the actor, which names the problem."""
    store = RemoteBlobStore(str(tmp_path / "data"), LIMIT_BYTES)
    ids, blobs = _ids_after_put(store, 2)
    try:
        assert store.reads_locally()
        path = tmp_path / "data" / "store" / "blobs" / ids[1][:2] / ids[1][2:]
        path.unlink()
        with pytest.raises(BlobNotFound, match=ids[1]):
            store.get_many(ids)
        assert store.get_many(ids[:1]) == blobs[:1]
    finally:
        store.shutdown()


def test_local_reads_are_opened_again_in_each_process_the_store_is_sent_to(ray_runtime, tmp_path: Path) -> None:
    """The store pickled into another actor reads locally there too (its reader is not carried along)."""
    store = RemoteBlobStore(str(tmp_path / "data"), LIMIT_BYTES)
    ids, blobs = _ids_after_put(store, 2)
    assert store.reads_locally()

    def read_in_a_worker(store: RemoteBlobStore, ids: list[BlobId]) -> tuple[bool, int, list[bytes]]:
        return store.reads_locally(), os.getpid(), store.get_many(ids)

    try:
        local, pid, read = ray.get(ray.remote(num_cpus=0)(read_in_a_worker).remote(store, ids))
        assert (local, read) == (True, blobs) and pid != os.getpid()
    finally:
        store.shutdown()


def test_prepared_reads_ask_the_actor_nothing_more_and_a_storage_that_is_gone_is_asked_again_later(
        ray_runtime, tmp_path: Path, monkeypatch) -> None:
    """prepare_reads opens the local reader, so a task's first read makes no actor call; with the storage gone
    it raises nothing, and the first read then says the storage is unavailable."""
    store = RemoteBlobStore(str(tmp_path / "data"), LIMIT_BYTES)
    ids, blobs = _ids_after_put(store, 2)
    fresh = store.with_local_reads(True)  # a copy with no reader opened yet
    fresh.prepare_reads()
    asked: list[str] = []
    monkeypatch.setattr(RemoteBlobStore, "_call", lambda self, method, *args: asked.append(method))
    try:
        assert fresh.get_many(ids) == blobs and asked == []
    finally:
        monkeypatch.undo()
        store.shutdown()
    deadline_s = time.monotonic() + 30
    while True:  # Ray ends a killed actor asynchronously
        try:
            store.with_local_reads(True).reads_locally()  # a fresh copy asks the actor where it runs
        except StorageUnavailable:
            break
        assert time.monotonic() < deadline_s, "the storage still answered 30 s after its shutdown"
        time.sleep(0.1)
    gone = store.with_local_reads(True)
    gone.prepare_reads()  # nothing raised: the first read asks again
    with pytest.raises(StorageUnavailable):
        gone.get_many(ids)


def test_a_writer_on_the_storages_machine_writes_its_directory_without_the_actor(ray_runtime, tmp_path: Path,
                                                                                 monkeypatch) -> None:
    """Local writes make no actor call, land whole in the storage's directory and are seen by the actor; a
    write the directory refuses is handed to the actor, which stores it."""
    store = RemoteBlobStore(str(tmp_path / "data"), LIMIT_BYTES)
    through_actor = store.with_local_writes(False)
    try:
        store.prepare_reads()
        assert store.writes_locally() and not through_actor.writes_locally()
        asked: list[str] = []
        real_call = RemoteBlobStore._call
        monkeypatch.setattr(RemoteBlobStore, "_call",
                            lambda self, method, *args: asked.append(method) or real_call(self, method, *args))
        blobs = [os.urandom(1000) for _ in range(3)]
        ids = store.put_many(blobs)
        assert asked == []
        root = tmp_path / "data" / "store" / "blobs"
        assert [(root / i[:2] / i[2:]).read_bytes() for i in ids] == blobs
        assert not [p for p in root.rglob(".tmp-*")], "a temporary file was left behind"
        assert all(through_actor.has(i) for i in ids) and asked == ["has"] * 3

        def refused(self: object, blobs: object) -> list[BlobId]:
            raise StorageError("the directory refused the write")

        monkeypatch.setattr(storage_host.FileBlobStore, "put_many", refused)
        asked.clear()
        other = os.urandom(1000)
        other_id = store.put(other)
        assert asked == ["put_many"]
        monkeypatch.undo()
        assert through_actor.get(other_id) == other
    finally:
        monkeypatch.undo()
        store.shutdown()
