"""The storage layer: a content-addressed blob store, an SQLite index of versioned blobs, and the two together."""
from __future__ import annotations

from cipherquorum.storage.blobstore import DEFAULT_MAX_BLOB_BYTES, BlobStore, FileBlobStore, MemoryBlobStore, StoreStats
from cipherquorum.storage.ids import blob_id_of, validate_blob_id
from cipherquorum.storage.index import MAX_KEY_CHARS, Publication, Version, VersionIndex
from cipherquorum.storage.indexed import IndexedStore, LocalIndexedStore

__all__ = [
    "DEFAULT_MAX_BLOB_BYTES",
    "MAX_KEY_CHARS",
    "BlobStore",
    "FileBlobStore",
    "IndexedStore",
    "LocalIndexedStore",
    "MemoryBlobStore",
    "Publication",
    "StoreStats",
    "Version",
    "VersionIndex",
    "blob_id_of",
    "validate_blob_id",
]
