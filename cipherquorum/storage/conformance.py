"""The conformance suite every BlobStore passes, shipped with the package so that any implementation can run it.

Subclass ``BlobStoreSuite`` (or ``IndexedStoreSuite`` for a store with the version index) in a test module and
supply the ``store`` fixture, ``corrupt`` and ``make_with_limit``, as eth-tester ships its backend suite. It
needs pytest.
"""
from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from cipherquorum.exceptions import (
    BlobCorrupted,
    BlobNotFound,
    BlobTooLarge,
    ValidationError,
    VersionNotFound,
)
from cipherquorum.storage.blobstore import BlobStore, StoreStats
from cipherquorum.storage.ids import blob_id_of
from cipherquorum.storage.indexed import IndexedStore
from cipherquorum.types import BlobId

MALFORMED_IDS = [
    "",
    "ab",
    "g" * 64,
    "A" * 64,
    "a" * 63,
    "a" * 65,
    "a" * 64 + "\n",
    "../" + "a" * 61,
    "ab/" + "c" * 61,
    None,
    123,
    b"a" * 64,
]


class BlobStoreSuite:
    """Behaviour every BlobStore must have; subclasses supply ``store`` and say how to corrupt a blob."""

    @pytest.fixture
    def store(self) -> BlobStore:
        raise NotImplementedError

    def corrupt(self, store: BlobStore, blob_id: BlobId, data: bytes) -> None:
        """Replace the stored bytes of ``blob_id`` with ``data`` behind the store's back."""
        raise NotImplementedError

    def test_put_returns_the_sha256_of_the_bytes_and_get_returns_them(self, store: BlobStore) -> None:
        """A blob's id is the lowercase hex sha256 of its bytes, and get returns exactly those bytes."""
        blob_id = store.put(b"ciphertext bytes")
        assert blob_id == hashlib.sha256(b"ciphertext bytes").hexdigest()
        assert store.get(blob_id) == b"ciphertext bytes"

    def test_put_is_idempotent(self, store: BlobStore) -> None:
        """Putting the same bytes twice gives the same id and stores them once."""
        assert store.put(b"same") == store.put(b"same")
        assert store.stats() == StoreStats(blobs=1, bytes=4)

    def test_empty_blob_round_trips(self, store: BlobStore) -> None:
        """The empty blob is a blob like any other."""
        blob_id = store.put(b"")
        assert store.get(blob_id) == b"" and store.size(blob_id) == 0

    @pytest.mark.parametrize("data", [bytearray(b"view me"), memoryview(b"view me")])
    def test_bytes_like_input_is_stored_as_bytes(self, store: BlobStore, data: bytes) -> None:
        """A bytearray or memoryview is stored under the same id as the equal bytes."""
        assert store.put(data) == blob_id_of(b"view me")
        assert store.get(blob_id_of(b"view me")) == b"view me"

    def test_put_many_and_get_many_keep_order_and_duplicates(self, store: BlobStore) -> None:
        """put_many returns ids in input order (duplicates included); get_many returns bytes in id order."""
        blobs = [b"one", b"two", b"one", b""]
        blob_ids = store.put_many(blobs)
        assert blob_ids == [blob_id_of(b) for b in blobs]
        assert store.get_many(list(reversed(blob_ids))) == list(reversed(blobs))
        assert store.stats() == StoreStats(blobs=3, bytes=6)

    def test_absent_blob_is_reported_by_id(self, store: BlobStore) -> None:
        """has is False for an absent blob; get and size raise BlobNotFound naming the id."""
        absent = blob_id_of(b"never stored")
        assert not store.has(absent)
        with pytest.raises(BlobNotFound, match=absent):
            store.get(absent)
        with pytest.raises(BlobNotFound, match=absent):
            store.size(absent)

    def test_has_and_size_describe_a_stored_blob(self, store: BlobStore) -> None:
        """has is True and size is the length in bytes once a blob is stored."""
        blob_id = store.put(b"x" * 1000)
        assert store.has(blob_id) and store.size(blob_id) == 1000

    def test_blob_at_the_limit_is_accepted(self, store: BlobStore) -> None:
        """A blob of exactly max_blob_bytes is stored."""
        limit = store.max_blob_bytes
        blob_id = store.put(b"\x01" * limit)
        assert store.size(blob_id) == limit

    def test_oversized_blob_is_refused_and_nothing_is_stored(self, store: BlobStore) -> None:
        """A blob one byte over the limit raises BlobTooLarge naming both sizes, and nothing is written."""
        limit = store.max_blob_bytes
        with pytest.raises(BlobTooLarge, match=rf"got {limit + 1} bytes, max_blob_bytes={limit}"):
            store.put(b"\x01" * (limit + 1))
        assert store.stats() == StoreStats(blobs=0, bytes=0)

    def test_put_many_checks_every_blob_before_writing_any(self, store: BlobStore) -> None:
        """One oversized blob in a batch refuses the whole batch, so no blob of it is stored."""
        with pytest.raises(BlobTooLarge):
            store.put_many([b"fine", b"\x01" * (store.max_blob_bytes + 1)])
        assert not store.has(blob_id_of(b"fine"))

    @pytest.mark.parametrize("data", ["text", None, 12, [1, 2]])
    def test_non_bytes_data_is_refused(self, store: BlobStore, data: object) -> None:
        """Only bytes-like data can be stored."""
        with pytest.raises(ValidationError, match="a blob must be bytes"):
            store.put(data)  # type: ignore[arg-type]

    @pytest.mark.parametrize("bad_id", MALFORMED_IDS)
    @pytest.mark.parametrize("method", ["get", "has", "size"])
    def test_malformed_ids_are_refused(self, store: BlobStore, method: str, bad_id: object) -> None:
        """Only 64 lowercase hex characters are an id, so no id can name a path outside the store."""
        with pytest.raises(ValidationError, match="blob id must be 64 lowercase hex characters"):
            getattr(store, method)(bad_id)

    def test_corrupted_blob_raises_naming_the_id(self, store: BlobStore) -> None:
        """A read whose bytes no longer hash to the id raises BlobCorrupted naming the id."""
        blob_id = store.put(b"original bytes")
        self.corrupt(store, blob_id, b"0riginal bytes")
        with pytest.raises(BlobCorrupted, match=f"blob {blob_id} is corrupted"):
            store.get(blob_id)
        with pytest.raises(BlobCorrupted):
            store.get_many([blob_id])

    def test_ids_lists_every_blob_in_sorted_order(self, store: BlobStore) -> None:
        """ids() yields each stored id once, sorted."""
        blob_ids = store.put_many([bytes([i]) * i for i in range(20)])
        assert list(store.ids()) == sorted(set(blob_ids))

    def test_concurrent_puts_from_threads_all_land(self, store: BlobStore) -> None:
        """Eight threads putting overlapping blobs at once lose none and store each once."""
        blobs = [f"blob {i}".encode() * 10 for i in range(40)]
        errors: list[BaseException] = []

        def writer(offset: int) -> None:
            try:
                for i in range(len(blobs)):
                    store.put(blobs[(i + offset) % len(blobs)])
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(n * 5,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert store.get_many([blob_id_of(b) for b in blobs]) == blobs
        assert store.stats() == StoreStats(blobs=len(blobs), bytes=sum(map(len, blobs)))

    @pytest.mark.parametrize("limit", [0, -1, 1.5, True, "10"])
    def test_invalid_limit_is_refused(self, limit: object, tmp_path: Path) -> None:
        """max_blob_bytes must be a positive int."""
        with pytest.raises(ValidationError, match='"max_blob_bytes" must be a positive int'):
            self.make_with_limit(limit, tmp_path)

    def make_with_limit(self, limit: object, tmp_path: Path) -> BlobStore:
        raise NotImplementedError


class IndexedStoreSuite(BlobStoreSuite):
    """Behaviour every IndexedStore must have besides a BlobStore's: versions published, read back, current."""

    def test_published_versions_read_back_newest_current(self, store: IndexedStore) -> None:
        """Each publication of (owner, kind, name) is a new version, and the newest is current."""
        first, second = store.put_many([b"profile v1", b"profile v2"])
        store.publish_many([("alice", "profile", "main", first)])
        store.publish_many([("alice", "profile", "main", second)])
        assert store.current("alice", "profile", "main").blob_id == second
        assert [v.blob_id for v in store.versions("alice", "profile", "main")] == [first, second]

    def test_one_publication_of_many_rows_keeps_each(self, store: IndexedStore) -> None:
        """publish_many records every row, each under its own key."""
        ids = store.put_many([b"a", b"b", b"c"])
        store.publish_many([(f"r{i}", "answer", "s/q0", blob_id) for i, blob_id in enumerate(ids)])
        assert [store.current(f"r{i}", "answer", "s/q0").blob_id for i in range(3)] == ids

    def test_unknown_key_is_reported(self, store: IndexedStore) -> None:
        """current() of a key never published raises VersionNotFound naming it."""
        with pytest.raises(VersionNotFound, match="nobody"):
            store.current("nobody", "profile", "main")


__all__ = ["MALFORMED_IDS", "BlobStoreSuite", "IndexedStoreSuite"]
