"""A blob store together with the index of versions: what roles store, publish and look up."""
from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence

from cipherquorum.storage.blobstore import BlobStore, StoreStats
from cipherquorum.storage.index import Publication, Version, VersionIndex
from cipherquorum.types import BlobId


class IndexedStore(BlobStore):
    """Content-addressed blobs plus the index that maps (owner, kind, name) to versions and the current one.

    Seed 000: every change is a new blob; the index keeps each version and which one is current.
    """

    @abstractmethod
    def publish_many(self, rows: Iterable[Publication | tuple[str, str, str, BlobId]]) -> list[Version]:
        """Record each row as the new current version of its (owner, kind, name), all in one transaction."""

    @abstractmethod
    def current(self, owner: str, kind: str, name: str) -> Version:
        """The current version of (owner, kind, name); raises VersionNotFound."""

    @abstractmethod
    def versions(self, owner: str, kind: str, name: str) -> list[Version]:
        """Every version of (owner, kind, name), oldest first."""


class LocalIndexedStore(IndexedStore):
    """An IndexedStore in this process: a BlobStore and a VersionIndex side by side."""

    def __init__(self, blobs: BlobStore, index: VersionIndex) -> None:
        super().__init__(max_blob_bytes=blobs.max_blob_bytes)
        self._blobs = blobs
        self._index = index

    @property
    def blobs(self) -> BlobStore:
        """The blob store underneath."""
        return self._blobs

    def put(self, data: bytes) -> BlobId:
        return self._blobs.put(data)

    def put_many(self, blobs: Sequence[bytes]) -> list[BlobId]:
        return self._blobs.put_many(blobs)

    def get(self, blob_id: BlobId) -> bytes:
        return self._blobs.get(blob_id)

    def get_many(self, blob_ids: Iterable[BlobId]) -> list[bytes]:
        return self._blobs.get_many(blob_ids)

    def has(self, blob_id: BlobId) -> bool:
        return self._blobs.has(blob_id)

    def size(self, blob_id: BlobId) -> int:
        return self._blobs.size(blob_id)

    def stats(self) -> StoreStats:
        return self._blobs.stats()

    def ids(self) -> Iterator[BlobId]:
        return self._blobs.ids()

    def publish_many(self, rows: Iterable[Publication | tuple[str, str, str, BlobId]]) -> list[Version]:
        return self._index.publish_many(rows)

    def current(self, owner: str, kind: str, name: str) -> Version:
        return self._index.current(owner, kind, name)

    def versions(self, owner: str, kind: str, name: str) -> list[Version]:
        return self._index.versions(owner, kind, name)

    def close(self) -> None:
        """Close the index (the blobs need no closing)."""
        self._index.close()


__all__ = ["IndexedStore", "LocalIndexedStore"]
