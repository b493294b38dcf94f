"""The storage layer: a content-addressed blob store and an SQLite index of versioned, named blobs."""
from __future__ import annotations

from cipherquorum.storage.blobstore import DEFAULT_MAX_BLOB_BYTES, BlobStore, FileBlobStore, MemoryBlobStore, StoreStats
from cipherquorum.storage.ids import blob_id_of, validate_blob_id
from cipherquorum.storage.index import MAX_KEY_CHARS, Publication, Version, VersionIndex

__all__ = [
    "DEFAULT_MAX_BLOB_BYTES",
    "MAX_KEY_CHARS",
    "BlobStore",
    "FileBlobStore",
    "MemoryBlobStore",
    "Publication",
    "StoreStats",
    "Version",
    "VersionIndex",
    "blob_id_of",
    "validate_blob_id",
]
