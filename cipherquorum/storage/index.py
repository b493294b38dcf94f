"""The version index: SQLite tables mapping (owner, kind, name) to numbered blob versions and the current one."""
from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from cipherquorum.exceptions import StorageError, ValidationError, VersionNotFound
from cipherquorum.storage.ids import validate_blob_id
from cipherquorum.types import BlobId

MAX_KEY_CHARS = 1024
"""Longest owner, kind or name the index accepts."""

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    seq INTEGER PRIMARY KEY,
    owner TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    number INTEGER NOT NULL,
    blob_id TEXT NOT NULL,
    UNIQUE (owner, kind, name, number)
);
CREATE TABLE IF NOT EXISTS current_versions (
    owner TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    number INTEGER NOT NULL,
    PRIMARY KEY (owner, kind, name)
) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class Version:
    """One version of (owner, kind, name): its 1-based number, the blob holding it, and whether it is current."""

    owner: str
    kind: str
    name: str
    number: int
    blob_id: BlobId
    is_current: bool


class Publication(NamedTuple):
    """One row for ``VersionIndex.publish_many``; a plain 4-tuple (owner, kind, name, blob_id) works too."""

    owner: str
    kind: str
    name: str
    blob_id: BlobId
    make_current: bool = True


class VersionIndex:
    """Every version of every (owner, kind, name), each pointing at a blob, plus a pointer to the current one.

    Backed by SQLite (WAL and full sync on a file; ``":memory:"`` for tests). Thread-safe: one connection
    behind a lock. Versions are never deleted; publishing adds the next number. Usable as a context manager.
    """

    def __init__(self, path: Path | str = ":memory:") -> None:
        """Open (creating if needed) the index at ``path``; raises StorageError if it cannot be opened."""
        self._path = str(path)
        self._lock = threading.Lock()
        self._closed = False
        try:
            self._conn = sqlite3.connect(self._path, timeout=30.0, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StorageError(f"version index {self._path} cannot be opened: {exc}") from None
        try:
            self._create_schema()
        except StorageError:
            self._conn.close()
            raise

    def _create_schema(self) -> None:
        with self._lock, self._translated():
            if self._path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=FULL")
            found = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if found not in (0, _SCHEMA_VERSION):
                raise StorageError(
                    f"version index {self._path} has schema version {found} (this code reads {_SCHEMA_VERSION})"
                )
            self._conn.executescript(_SCHEMA)
            self._conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")

    @property
    def path(self) -> str:
        """Where the index lives (a file path, or ``":memory:"``)."""
        return self._path

    # --- writing ---

    def publish(self, owner: str, kind: str, name: str, blob_id: BlobId, *, make_current: bool = True) -> Version:
        """Add ``blob_id`` as the next version of (owner, kind, name) and return it.

        With ``make_current`` the new version becomes the current one. Raises ValidationError for an empty
        or over-long key or a malformed blob id, StorageError if SQLite fails.
        """
        return self.publish_many([Publication(owner, kind, name, blob_id, make_current)])[0]

    def publish_many(self, rows: Iterable[Publication | tuple]) -> list[Version]:
        """Publish many versions in one transaction and return them in order; all are written or none.

        Each row is a Publication or a tuple (owner, kind, name, blob_id[, make_current]). A key may appear
        several times; its versions are numbered in row order. Raises as ``publish`` does, before writing.
        """
        publications = [_checked_publication(row) for row in rows]
        numbered: list[tuple[Publication, int]] = []
        current_after: dict[tuple[str, str, str], int] = {}
        with self._transaction() as conn:
            for pub in publications:
                key = (pub.owner, pub.kind, pub.name)
                number = conn.execute(
                    "SELECT COALESCE(MAX(number), 0) + 1 FROM versions WHERE owner = ? AND kind = ? AND name = ?",
                    key,
                ).fetchone()[0]
                conn.execute(
                    "INSERT INTO versions (owner, kind, name, number, blob_id) VALUES (?, ?, ?, ?, ?)",
                    (*key, number, pub.blob_id),
                )
                if pub.make_current:
                    _point_current(conn, key, number)
                    current_after[key] = number
                numbered.append((pub, number))
        return [
            Version(pub.owner, pub.kind, pub.name, number, pub.blob_id, current_after.get(pub[:3]) == number)
            for pub, number in numbered
        ]

    def set_current(self, owner: str, kind: str, name: str, number: int) -> Version:
        """Make version ``number`` of (owner, kind, name) the current one and return it.

        Raises ValidationError for a bad key or number, VersionNotFound if that version does not exist.
        """
        key = _checked_key(owner, kind, name)
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise ValidationError(f'"number" must be an int >= 1 (got {number!r})')
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT blob_id FROM versions WHERE owner = ? AND kind = ? AND name = ? AND number = ?",
                (*key, number),
            ).fetchone()
            if row is None:
                raise VersionNotFound(f"No version {number} found for {_describe(key)}")
            _point_current(conn, key, number)
        return Version(*key, number, BlobId(row[0]), True)

    # --- reading ---

    def current(self, owner: str, kind: str, name: str) -> Version:
        """Return the current version of (owner, kind, name); raises VersionNotFound if it has none."""
        key = _checked_key(owner, kind, name)
        row = self._fetch_one(
            "SELECT v.number, v.blob_id FROM current_versions AS c JOIN versions AS v"
            " USING (owner, kind, name, number) WHERE c.owner = ? AND c.kind = ? AND c.name = ?",
            key,
        )
        if row is None:
            raise VersionNotFound(f"No current version found for {_describe(key)}")
        return Version(*key, row[0], BlobId(row[1]), True)

    def versions(self, owner: str, kind: str, name: str) -> list[Version]:
        """Return every version of (owner, kind, name), oldest first; empty if it was never published."""
        key = _checked_key(owner, kind, name)
        rows = self._fetch_all(
            "SELECT v.number, v.blob_id, v.number = c.number FROM versions AS v"
            " LEFT JOIN current_versions AS c USING (owner, kind, name)"
            " WHERE v.owner = ? AND v.kind = ? AND v.name = ? ORDER BY v.number",
            key,
        )
        return [Version(*key, number, BlobId(blob_id), bool(is_current)) for number, blob_id, is_current in rows]

    def names(self, owner: str, kind: str) -> list[str]:
        """Return the sorted names that ``owner`` has published under ``kind``."""
        owner, kind, _ = _checked_key(owner, kind, "-")
        rows = self._fetch_all(
            "SELECT DISTINCT name FROM versions WHERE owner = ? AND kind = ? ORDER BY name", (owner, kind)
        )
        return [row[0] for row in rows]

    # --- lifetime ---

    def close(self) -> None:
        """Close the index; later calls raise StorageError. Closing twice is harmless."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    def __enter__(self) -> VersionIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- internals ---

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StorageError(f"version index {self._path} failed: {exc}") from None

    def _live(self) -> sqlite3.Connection:
        if self._closed:
            raise StorageError(f"version index {self._path} is closed")
        return self._conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._translated():
            conn = self._live()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _fetch_one(self, sql: str, args: tuple) -> tuple | None:
        with self._lock, self._translated():
            return self._live().execute(sql, args).fetchone()

    def _fetch_all(self, sql: str, args: tuple) -> list[tuple]:
        with self._lock, self._translated():
            return self._live().execute(sql, args).fetchall()


def _point_current(conn: sqlite3.Connection, key: tuple[str, str, str], number: int) -> None:
    conn.execute(
        "INSERT INTO current_versions (owner, kind, name, number) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (owner, kind, name) DO UPDATE SET number = excluded.number",
        (*key, number),
    )


def _checked_key(owner: str, kind: str, name: str) -> tuple[str, str, str]:
    for label, value in (("owner", owner), ("kind", kind), ("name", name)):
        if not isinstance(value, str) or not 1 <= len(value) <= MAX_KEY_CHARS:
            raise ValidationError(f'"{label}" must be a str of 1 to {MAX_KEY_CHARS} characters (got {value!r:.80})')
    return owner, kind, name


def _checked_publication(row: Publication | tuple) -> Publication:
    if not isinstance(row, tuple) or not 4 <= len(row) <= 5:
        raise ValidationError(
            f"a publication must be (owner, kind, name, blob_id[, make_current]) (got {row!r:.120})"
        )
    pub = Publication(*row)
    _checked_key(pub.owner, pub.kind, pub.name)
    validate_blob_id(pub.blob_id)
    if not isinstance(pub.make_current, bool):
        raise ValidationError(f'"make_current" must be a bool (got {pub.make_current!r})')
    return pub


def _describe(key: tuple[str, str, str]) -> str:
    owner, kind, name = key
    return f"owner={owner!r}, kind={kind!r}, name={name!r}"
