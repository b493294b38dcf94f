"""Content-addressed blob stores: one interface, a durable file-backed store and an in-memory store."""
from __future__ import annotations

import os
import re
import secrets
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cipherquorum.exceptions import BlobCorrupted, BlobNotFound, BlobTooLarge, StorageError, ValidationError
from cipherquorum.storage.ids import blob_id_of, validate_blob_id
from cipherquorum.types import BlobId

DEFAULT_MAX_BLOB_BYTES = 256 * 2**20
"""Default per-blob size limit: 256 MiB."""


@dataclass(frozen=True)
class StoreStats:
    """How much a store holds: the number of blobs and their total size in bytes."""

    blobs: int
    bytes: int


class BlobStore(ABC):
    """A content-addressed store of immutable blobs: a blob's id is the lowercase hex sha256 of its bytes.

    Every read checks the bytes against the id. Putting the same bytes twice stores them once.
    Every implementation passes the shared suite in tests/storage/test_blobstore.py.
    """

    def __init__(self, *, max_blob_bytes: int = DEFAULT_MAX_BLOB_BYTES) -> None:
        if isinstance(max_blob_bytes, bool) or not isinstance(max_blob_bytes, int) or max_blob_bytes < 1:
            raise ValidationError(f'"max_blob_bytes" must be a positive int (got {max_blob_bytes!r})')
        self._max_blob_bytes = max_blob_bytes

    @property
    def max_blob_bytes(self) -> int:
        """The largest blob, in bytes, that this store accepts."""
        return self._max_blob_bytes

    # --- writing ---

    @abstractmethod
    def put(self, data: bytes) -> BlobId:
        """Store ``data`` durably and return its id; idempotent.

        Raises ValidationError if ``data`` is not bytes-like, BlobTooLarge past ``max_blob_bytes``,
        StorageError if the write failed (nothing is then left half-written).
        """

    def put_many(self, blobs: Sequence[bytes]) -> list[BlobId]:
        """Store several blobs and return their ids in order; every blob is checked before any is written.

        Raises as ``put`` does.
        """
        payloads = [self._checked_payload(data) for data in blobs]
        return [self.put(payload) for payload in payloads]

    # --- reading ---

    def prepare_reads(self) -> None:
        """Set up now what the first read would set up, so that it does not wait for it (nothing here)."""
        return None

    @abstractmethod
    def get(self, blob_id: BlobId) -> bytes:
        """Return the bytes stored under ``blob_id``, checked against it.

        Raises ValidationError for a malformed id, BlobNotFound if absent, BlobCorrupted if the stored bytes
        no longer hash to the id, StorageError if the read failed.
        """

    def get_many(self, blob_ids: Iterable[BlobId]) -> list[bytes]:
        """Return the bytes of several blobs in order; raises as ``get`` does."""
        return [self.get(blob_id) for blob_id in blob_ids]

    @abstractmethod
    def has(self, blob_id: BlobId) -> bool:
        """Return whether a blob is stored under ``blob_id`` (without checking its bytes).

        Raises ValidationError for a malformed id.
        """

    @abstractmethod
    def size(self, blob_id: BlobId) -> int:
        """Return the size in bytes of the blob stored under ``blob_id`` (without checking its bytes).

        Raises ValidationError for a malformed id, BlobNotFound if absent.
        """

    # --- inventory ---

    @abstractmethod
    def ids(self) -> Iterator[BlobId]:
        """Every stored blob id, once each, in sorted order."""

    @abstractmethod
    def stats(self) -> StoreStats:
        """Return the number of stored blobs and their total size in bytes."""

    # --- shared checks ---

    def _checked_payload(self, data: bytes) -> bytes:
        """Return ``data`` as immutable bytes; raise ValidationError or BlobTooLarge."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ValidationError(f"a blob must be bytes (got {type(data).__name__})")
        payload = data if isinstance(data, bytes) else bytes(data)
        if len(payload) > self._max_blob_bytes:
            raise BlobTooLarge(
                f"a blob must be <= max_blob_bytes (got {len(payload)} bytes, max_blob_bytes={self._max_blob_bytes})"
            )
        return payload

    @staticmethod
    def _verified(blob_id: BlobId, data: bytes) -> bytes:
        """Return ``data`` if it hashes to ``blob_id``; raise BlobCorrupted otherwise."""
        actual = blob_id_of(data)
        if actual != blob_id:
            raise BlobCorrupted(f"blob {blob_id} is corrupted: its {len(data)} stored bytes hash to {actual}")
        return data


class MemoryBlobStore(BlobStore):
    """A BlobStore held in a dict: the same behaviour as the file store, without durability. Thread-safe."""

    def __init__(self, *, max_blob_bytes: int = DEFAULT_MAX_BLOB_BYTES) -> None:
        super().__init__(max_blob_bytes=max_blob_bytes)
        self._blobs: dict[BlobId, bytes] = {}
        self._lock = threading.Lock()

    def put(self, data: bytes) -> BlobId:
        """Store ``data`` and return its id; see BlobStore.put."""
        payload = self._checked_payload(data)
        blob_id = blob_id_of(payload)
        with self._lock:
            self._blobs.setdefault(blob_id, payload)
        return blob_id

    def get(self, blob_id: BlobId) -> bytes:
        """Return the checked bytes of ``blob_id``; see BlobStore.get."""
        blob_id = validate_blob_id(blob_id)
        with self._lock:
            data = self._blobs.get(blob_id)
        if data is None:
            raise BlobNotFound(f"No blob found for id: {blob_id}")
        return self._verified(blob_id, data)

    def has(self, blob_id: BlobId) -> bool:
        """Return whether ``blob_id`` is stored; see BlobStore.has."""
        blob_id = validate_blob_id(blob_id)
        with self._lock:
            return blob_id in self._blobs

    def size(self, blob_id: BlobId) -> int:
        """Return the size of ``blob_id`` in bytes; see BlobStore.size."""
        blob_id = validate_blob_id(blob_id)
        with self._lock:
            data = self._blobs.get(blob_id)
        if data is None:
            raise BlobNotFound(f"No blob found for id: {blob_id}")
        return len(data)

    def ids(self) -> Iterator[BlobId]:
        """Yield the id of every stored blob, in sorted order."""
        with self._lock:
            snapshot = sorted(self._blobs)
        return iter(snapshot)

    def stats(self) -> StoreStats:
        """Return the number of stored blobs and their total size; see BlobStore.stats."""
        with self._lock:
            return StoreStats(blobs=len(self._blobs), bytes=sum(map(len, self._blobs.values())))


_FAN_OUT_DIR = re.compile(r"[0-9a-f]{2}")
_BLOB_FILE = re.compile(r"[0-9a-f]{62}")
_TEMP_PREFIX = ".tmp-"
_FSYNC_BATCH = 128  # put_many writes this many temporary files, then syncs and renames them


class FileBlobStore(BlobStore):
    """A durable BlobStore on disk: ``root/blobs/ab/cdef...`` (the first two hex digits fan out).

    A blob is written to a temporary file in its final directory, synced, renamed into place and its
    directory synced, so a blob is either absent or complete, and an acknowledged blob survives a crash
    of the process (and, with ``fsync=True``, of the machine). Thread-safe: writers share no state but
    the directories, and a rename is atomic.
    """

    def __init__(
        self,
        root: Path | str,
        *,
        max_blob_bytes: int = DEFAULT_MAX_BLOB_BYTES,
        fsync: bool = True,
    ) -> None:
        """Open (creating if needed) the store under ``root``; raises StorageError if it cannot be created."""
        super().__init__(max_blob_bytes=max_blob_bytes)
        self._root = Path(root)
        self._blobs_dir = self._root / "blobs"
        self._blobs_prefix = str(self._blobs_dir) + os.sep
        self._fsync = fsync
        try:
            created = not self._blobs_dir.is_dir()
            self._blobs_dir.mkdir(parents=True, exist_ok=True)
            if created and fsync:
                _fsync_dir(self._root)
        except OSError as exc:
            raise StorageError(f"blob store root {self._root} cannot be created: {exc}") from None

    @property
    def root(self) -> Path:
        """The directory this store lives in."""
        return self._root

    @property
    def fsync(self) -> bool:
        """Whether writes are synced to disk before they are acknowledged."""
        return self._fsync

    # --- writing ---

    def put(self, data: bytes) -> BlobId:
        """Store ``data`` durably and return its id; see BlobStore.put."""
        payload = self._checked_payload(data)
        blob_id = blob_id_of(payload)
        if self._is_stored(blob_id, len(payload)):
            return blob_id
        fan_dir, new_dir = self._fan_out_dir(blob_id)
        temp = self._write_temp(fan_dir, blob_id, payload, sync=self._fsync)
        self._move_into_place(temp, blob_id)
        self._sync_dirs({fan_dir} | ({self._blobs_dir} if new_dir else set()))
        return blob_id

    def put_many(self, blobs: Sequence[bytes]) -> list[BlobId]:
        """Store several blobs; writes them all, then syncs each file once and each directory once.

        Every blob is checked before any is written; on a failure no temporary file is left behind
        (blobs already renamed into place stay: they are complete). Raises as ``put`` does.
        """
        payloads = [self._checked_payload(data) for data in blobs]
        blob_ids = [blob_id_of(payload) for payload in payloads]
        pending = {
            blob_id: payload
            for blob_id, payload in zip(blob_ids, payloads)
            if not self._is_stored(blob_id, len(payload))
        }
        dirs_to_sync: set[Path] = set()
        items = list(pending.items())
        for start in range(0, len(items), _FSYNC_BATCH):
            temps: list[tuple[Path, BlobId]] = []
            try:
                for blob_id, payload in items[start:start + _FSYNC_BATCH]:
                    fan_dir, new_dir = self._fan_out_dir(blob_id)
                    dirs_to_sync.add(fan_dir)
                    if new_dir:
                        dirs_to_sync.add(self._blobs_dir)
                    temps.append((self._write_temp(fan_dir, blob_id, payload, sync=False), blob_id))
                if self._fsync:
                    for temp, blob_id in temps:
                        _fsync_file(temp, blob_id)
            except BaseException:
                for temp, _ in temps:
                    _remove_quietly(temp)
                raise
            for index, (temp, blob_id) in enumerate(temps):
                try:
                    self._move_into_place(temp, blob_id)
                except BaseException:
                    for later, _ in temps[index + 1:]:
                        _remove_quietly(later)
                    raise
        self._sync_dirs(dirs_to_sync)
        return blob_ids

    # --- reading ---

    def get(self, blob_id: BlobId) -> bytes:
        """Return the checked bytes of ``blob_id``; see BlobStore.get."""
        path = self._file_of(validate_blob_id(blob_id))
        try:
            with open(path, "rb") as file:
                data = file.read()
        except FileNotFoundError:
            raise BlobNotFound(f"No blob found for id: {blob_id}") from None
        except OSError as exc:
            raise StorageError(f"blob {blob_id} could not be read from {path}: {exc}") from None
        return self._verified(blob_id, data)

    def has(self, blob_id: BlobId) -> bool:
        """Return whether ``blob_id`` is stored; see BlobStore.has."""
        return self._path(validate_blob_id(blob_id)).is_file()

    def size(self, blob_id: BlobId) -> int:
        """Return the size of ``blob_id`` in bytes; see BlobStore.size."""
        path = self._path(validate_blob_id(blob_id))
        try:
            return path.stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(f"No blob found for id: {blob_id}") from None
        except OSError as exc:
            raise StorageError(f"blob {blob_id} could not be examined at {path}: {exc}") from None

    # --- inventory ---

    def ids(self) -> Iterator[BlobId]:
        """Yield the id of every stored blob, in sorted order; temporary files of unfinished writes are skipped."""
        for fan_dir in self._fan_out_dirs():
            for name in sorted(self._listdir(fan_dir)):
                if _BLOB_FILE.fullmatch(name):
                    yield BlobId(fan_dir.name + name)

    def stats(self) -> StoreStats:
        """Return the number of stored blobs and their total size; see BlobStore.stats."""
        count = total = 0
        for fan_dir in self._fan_out_dirs():
            try:
                with os.scandir(fan_dir) as entries:
                    for entry in entries:
                        if _BLOB_FILE.fullmatch(entry.name):
                            count += 1
                            total += entry.stat().st_size
            except OSError as exc:
                raise StorageError(f"blob directory {fan_dir} could not be listed: {exc}") from None
        return StoreStats(blobs=count, bytes=total)

    def temp_files(self) -> list[Path]:
        """Return the temporary files of writes in progress or interrupted by a crash."""
        return [
            fan_dir / name
            for fan_dir in self._fan_out_dirs()
            for name in sorted(self._listdir(fan_dir))
            if name.startswith(_TEMP_PREFIX)
        ]

    def remove_temp_files(self) -> int:
        """Delete temporary files left by interrupted writes and return how many were removed.

        Call it only while no other process or thread writes to this root.
        """
        removed = 0
        for temp in self.temp_files():
            _remove_quietly(temp)
            removed += 1
        return removed

    # --- internals ---

    def _file_of(self, blob_id: BlobId) -> str:
        """The file that holds ``blob_id``, as a string (reads join strings: see benchmarks/blob_reads.py)."""
        return f"{self._blobs_prefix}{blob_id[:2]}{os.sep}{blob_id[2:]}"

    def _path(self, blob_id: BlobId) -> Path:
        return Path(self._file_of(blob_id))

    def _is_stored(self, blob_id: BlobId, size: int) -> bool:
        """Return whether a complete file of the right size already holds ``blob_id``."""
        try:
            return self._path(blob_id).stat().st_size == size
        except OSError:
            return False

    def _fan_out_dir(self, blob_id: BlobId) -> tuple[Path, bool]:
        """Return the directory for ``blob_id``, creating it; the flag says whether it was just created."""
        fan_dir = self._blobs_dir / blob_id[:2]
        if fan_dir.is_dir():
            return fan_dir, False
        try:
            fan_dir.mkdir(exist_ok=True)
        except OSError as exc:
            raise StorageError(f"blob directory {fan_dir} cannot be created: {exc}") from None
        return fan_dir, True

    def _fan_out_dirs(self) -> list[Path]:
        names = sorted(self._listdir(self._blobs_dir))
        return [self._blobs_dir / name for name in names if _FAN_OUT_DIR.fullmatch(name)]

    @staticmethod
    def _listdir(directory: Path) -> list[str]:
        try:
            return os.listdir(directory)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StorageError(f"blob directory {directory} could not be listed: {exc}") from None

    def _write_temp(self, fan_dir: Path, blob_id: BlobId, payload: bytes, *, sync: bool) -> Path:
        """Write ``payload`` to a new read-only temporary file in ``fan_dir`` and return its path."""
        temp = fan_dir / f"{_TEMP_PREFIX}{blob_id[2:18]}-{secrets.token_hex(6)}"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
            with os.fdopen(fd, "wb") as file:
                file.write(payload)
                file.flush()
                if sync:
                    os.fsync(file.fileno())
        except OSError as exc:
            _remove_quietly(temp)
            raise StorageError(f"blob {blob_id} could not be written under {fan_dir}: {exc}") from None
        return temp

    def _move_into_place(self, temp: Path, blob_id: BlobId) -> None:
        try:
            os.replace(temp, self._path(blob_id))
        except OSError as exc:
            _remove_quietly(temp)
            raise StorageError(f"blob {blob_id} could not be renamed into place: {exc}") from None

    def _sync_dirs(self, directories: Iterable[Path]) -> None:
        if not self._fsync:
            return
        for directory in sorted(directories, key=lambda d: len(d.parts), reverse=True):
            try:
                _fsync_dir(directory)
            except OSError as exc:
                raise StorageError(f"blob directory {directory} could not be synced: {exc}") from None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path, blob_id: BlobId) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise StorageError(f"blob {blob_id} could not be synced at {path}: {exc}") from None


def _remove_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
