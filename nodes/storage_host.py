"""The storage role: a content-addressed blob store and its version index in one actor, a client for it, and
the policy by which every caller rides out a storage restart."""
from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from cipherquorum.exceptions import (
    RoleDied,
    RoleUnavailable,
    StorageError,
    StorageRestarting,
    StorageUnavailable,
)
from cipherquorum.measurement.spans import ProcessUsage, process_usage
from cipherquorum.nodes.hosting import STORAGE_RESOURCE, ActorHost, Placement, ray_node_id
from cipherquorum.storage import (
    FileBlobStore,
    IndexedStore,
    Publication,
    StoreStats,
    Version,
    VersionIndex,
    validate_blob_id,
)
from cipherquorum.types import BlobId

T = TypeVar("T")

STORAGE_CONCURRENCY = 8
"""Requests the storage actor serves at once (replicas download the same inputs together)."""
STORAGE_MAX_RESTARTS = 5
"""How many times the storage's process is started again after it dies, on the same data directory."""


@dataclass(frozen=True)
class StorageRetry:
    """How a caller rides out a storage restart: the call is tried again, with exponential backoff, while the
    storage says it is restarting (StorageRestarting), until a deadline.

    ``until_s`` is a wall-clock time (the chain's deadlines are wall-clock too); a call without one gives up
    ``budget_s`` after it started. An attempt under way is not cut short: a restarting storage answers it once
    it is back. ``clock`` and ``sleep`` are the time this policy reads and waits by.
    """

    first_backoff_s: float = 0.1
    max_backoff_s: float = 2.0
    budget_s: float = 60.0
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    def call(self, what: str, attempt: Callable[[], T], until_s: float | None = None) -> T:
        """Return ``attempt()``, tried again while the storage restarts and time is left.

        Raises StorageUnavailable naming ``what`` when the deadline passes first, and whatever else the
        attempt raises (a storage that died for good, a missing blob) at once.
        """
        started_s = self.clock()
        deadline_s = started_s + self.budget_s if until_s is None else until_s
        backoff_s = self.first_backoff_s
        tries = 0
        while True:
            tries += 1
            try:
                return attempt()
            except StorageRestarting as exc:
                left_s = deadline_s - self.clock()
                if left_s <= 0:
                    raise StorageUnavailable(
                        f"{what}: the storage was not back before the deadline ({tries} tries in "
                        f"{self.clock() - started_s:.1f} s): {exc}") from None
            self.sleep(min(backoff_s, left_s))
            backoff_s = min(2 * backoff_s, self.max_backoff_s)


STORAGE_RETRY = StorageRetry()
"""The policy roles use unless they are handed another."""


def open_blob_store(data_dir: str | Path, max_blob_bytes: int) -> FileBlobStore:
    """The blob store a StorageHost keeps under ``data_dir`` (for tools that read a finished run's blobs)."""
    return FileBlobStore(Path(data_dir) / "store", max_blob_bytes=max_blob_bytes)


@dataclass(frozen=True)
class _LocalStore:
    """The storage's blob directory as one process found it: open (``store``) when it is on the storage's
    machine and the process may read it (None otherwise), and whether it may also write it."""

    pid: int
    store: FileBlobStore | None
    writable: bool


@dataclass(frozen=True)
class StoreLocality:
    """Where a storage actor keeps its blobs: the Ray node its process runs on, and its blob store's root."""

    node_id: str
    root: str


class StorageHost:
    """Hosts the permanent blob store and the (owner, kind, name) version index under ``data_dir``."""

    def __init__(self, data_dir: str, max_blob_bytes: int) -> None:
        root = Path(data_dir)
        root.mkdir(parents=True, exist_ok=True)
        self._blobs = open_blob_store(root, max_blob_bytes)
        self._index = VersionIndex(root / "index.sqlite3")

    def put_many(self, blobs: Sequence[bytes]) -> list[BlobId]:
        """Store blobs durably; return their ids in order."""
        return self._blobs.put_many(blobs)

    def get_many(self, blob_ids: Sequence[BlobId]) -> list[bytes]:
        """Return the verified bytes of each blob."""
        return self._blobs.get_many(blob_ids)

    def has(self, blob_id: BlobId) -> bool:
        """True when the blob is stored."""
        return self._blobs.has(blob_id)

    def size(self, blob_id: BlobId) -> int:
        """Size in bytes of a stored blob."""
        return self._blobs.size(blob_id)

    def stats(self) -> StoreStats:
        """Number of blobs and bytes stored."""
        return self._blobs.stats()

    def ids(self) -> list[BlobId]:
        """Every stored blob id, sorted."""
        return list(self._blobs.ids())

    def publish_many(self, rows: Sequence[tuple[str, str, str, BlobId]]) -> list[Version]:
        """Record new versions of (owner, kind, name) in one transaction, each becoming current."""
        return self._index.publish_many(rows)

    def current(self, owner: str, kind: str, name: str) -> Version:
        """The current version of (owner, kind, name)."""
        return self._index.current(owner, kind, name)

    def versions(self, owner: str, kind: str, name: str) -> list[Version]:
        """Every version of (owner, kind, name), oldest first."""
        return self._index.versions(owner, kind, name)

    def locality(self) -> StoreLocality:
        """This storage's Ray node and blob directory, for callers on the same machine to read blobs directly."""
        return StoreLocality(ray_node_id(), str(self._blobs.root.resolve()))

    def usage(self) -> ProcessUsage:
        """The CPU and memory of the storage process."""
        return process_usage("storage")


class RemoteBlobStore(IndexedStore):
    """The IndexedStore interface over a StorageHost actor, so roles use storage without knowing where it is.

    The actor is started again on its data directory when its process dies (up to STORAGE_MAX_RESTARTS
    times). A call it was serving then raises StorageRestarting, which callers retry by a StorageRetry; once
    it will not come back, calls raise StorageUnavailable.

    With ``local_reads``, a process on the storage's own machine reads blobs straight from the storage's
    directory, as HDFS's short-circuit reads do: each blob is checked against its id wherever its bytes
    come from, so this trusts nothing more, and it skips the actor and Ray's copy of every blob. With
    ``local_writes`` it also writes blobs there itself, as the actor would (a temporary file, synced, renamed
    into place: a blob is absent or whole, and several writers never meet), when it may write the directory.
    The index and every read and write from another machine go through the actor; so does a local read or
    write that fails.
    """

    def __init__(self, data_dir: str, max_blob_bytes: int, *, clustered: bool = False,
                 local_reads: bool = True, local_writes: bool = True) -> None:
        super().__init__(max_blob_bytes=max_blob_bytes)
        self._local_reads = local_reads
        self._local_writes = local_writes
        self._local: _LocalStore | None = None  # the storage's directory as this process opened it
        placement = Placement(resource=STORAGE_RESOURCE) if clustered else Placement()
        self._host: ActorHost[StorageHost] = ActorHost(
            StorageHost, data_dir, max_blob_bytes, name="storage", placement=placement,
            max_concurrency=STORAGE_CONCURRENCY, max_restarts=STORAGE_MAX_RESTARTS)

    def _call(self, method: str, *args: Any) -> Any:
        """Call the actor, its death turned into the storage errors callers know."""
        try:
            return self._host.call(method, *args)
        except RoleUnavailable as exc:
            raise StorageRestarting(f"{exc.call}: the storage's process died and is restarting") from None
        except RoleDied as exc:
            raise StorageUnavailable(f"{exc.call}: {exc.cause} and will not be restarted") from None

    def put(self, data: bytes) -> BlobId:
        return self.put_many([data])[0]

    def put_many(self, blobs: Sequence[bytes]) -> list[BlobId]:
        """Store blobs, in the storage's directory on its own machine or else through the actor."""
        payloads = [self._checked_payload(blob) for blob in blobs]
        writer = self._local_writer()
        if writer is not None:
            try:
                return writer.put_many(payloads)
            except StorageError:
                pass  # the directory refused a write: the actor gives its own answer
        return self._call("put_many", payloads)

    def get(self, blob_id: BlobId) -> bytes:
        return self.get_many([blob_id])[0]

    def get_many(self, blob_ids: Iterable[BlobId]) -> list[bytes]:
        """Fetch blobs, from the storage's directory on its own machine or else from the actor, and check each
        against its id here, on the reading side."""
        ids = [validate_blob_id(blob_id) for blob_id in blob_ids]
        reader = self._local_reader()
        if reader is not None:
            try:
                return reader.get_many(ids)  # each checked against its id as it is read
            except StorageError:
                pass  # a blob missing, unreadable or corrupted on disk: the actor gives its own answer
        blobs = self._call("get_many", ids)
        return [self._verified(blob_id, blob) for blob_id, blob in zip(ids, blobs)]

    def prepare_reads(self) -> None:
        """Open the storage's directory now (this asks the actor where it runs): a role calls this as it
        starts, so that its first read or write of a task does not wait for the actor. A storage that does not
        answer now is asked again at the first read."""
        if not (self._local_reads or self._local_writes):
            return
        try:
            self._local_store()
        except StorageError:
            pass

    def with_local_reads(self, enabled: bool) -> RemoteBlobStore:
        """This store, over the same actor, with local reads on or off."""
        other = copy.copy(self)  # without the local store, as a pickled copy (__getstate__)
        other._local_reads = enabled
        return other

    def with_local_writes(self, enabled: bool) -> RemoteBlobStore:
        """This store, over the same actor, with local writes on or off."""
        other = copy.copy(self)
        other._local_writes = enabled
        return other

    def reads_locally(self) -> bool:
        """Whether this process reads blobs straight from the storage's directory (see the class)."""
        return self._local_reader() is not None

    def writes_locally(self) -> bool:
        """Whether this process writes blobs straight into the storage's directory (see the class)."""
        return self._local_writer() is not None

    def _local_reader(self) -> FileBlobStore | None:
        """The storage's blob directory, when local reads are on and this process may read it there."""
        local = self._local_store() if self._local_reads else None
        return local.store if local is not None else None

    def _local_writer(self) -> FileBlobStore | None:
        """The storage's blob directory, when local writes are on and this process may write it there."""
        local = self._local_store() if self._local_writes else None
        return local.store if local is not None and local.writable else None

    def _local_store(self) -> _LocalStore:
        """The storage's blob directory as this process can use it; asked of the actor once per process."""
        pid = os.getpid()
        if self._local is None or self._local.pid != pid:
            self._local = self._open_local_store(pid)
        return self._local

    def _open_local_store(self, pid: int) -> _LocalStore:
        locality: StoreLocality = self._call("locality")
        here = ray_node_id()
        root = Path(locality.root)
        if not here or here != locality.node_id or not os.access(root / "blobs", os.R_OK | os.X_OK):
            return _LocalStore(pid, None, writable=False)
        store = FileBlobStore(root, max_blob_bytes=self.max_blob_bytes)  # its writes synced as the actor's are
        return _LocalStore(pid, store, writable=os.access(root / "blobs", os.W_OK))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_local"] = None  # opened again where the store is unpickled
        return state

    def has(self, blob_id: BlobId) -> bool:
        return self._call("has", blob_id)

    def size(self, blob_id: BlobId) -> int:
        return self._call("size", blob_id)

    def stats(self) -> StoreStats:
        return self._call("stats")

    def ids(self) -> Iterator[BlobId]:
        """Every stored blob id, sorted (listed by the actor in one call)."""
        return iter(self._call("ids"))

    def publish_many(self, rows: Iterable[Publication | tuple[str, str, str, BlobId]]) -> list[Version]:
        """Record new current versions of (owner, kind, name) rows in the index."""
        return self._call("publish_many", list(rows))

    def current(self, owner: str, kind: str, name: str) -> Version:
        """The current version of (owner, kind, name); raises VersionNotFound."""
        return self._call("current", owner, kind, name)

    def versions(self, owner: str, kind: str, name: str) -> list[Version]:
        """Every version of (owner, kind, name)."""
        return self._call("versions", owner, kind, name)

    def restarted(self) -> bool:
        """Whether the storage's process died and was started again; raises RoleDied if it will not be."""
        return self._host.restarted()

    def usage(self) -> ProcessUsage:
        """The CPU and memory of the storage actor's process."""
        return self._host.call("usage", timeout_s=30)

    def shutdown(self) -> None:
        """Stop the storage actor (stored data stays on disk)."""
        self._host.kill()
