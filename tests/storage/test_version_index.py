"""The version index keeps every version of (owner, kind, name), numbered from 1, and a current pointer."""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from cipherquorum.exceptions import StorageError, ValidationError, VersionNotFound
from cipherquorum.storage import Publication, Version, VersionIndex, blob_id_of

BLOB_A = blob_id_of(b"profile v1")
BLOB_B = blob_id_of(b"profile v2")
BLOB_C = blob_id_of(b"profile v3")


def test_first_publish_is_version_one_and_current(index: VersionIndex) -> None:
    """The first version of a key is number 1 and becomes current."""
    version = index.publish("alice", "profile", "main", BLOB_A)
    assert version == Version("alice", "profile", "main", 1, BLOB_A, True)
    assert index.current("alice", "profile", "main") == version


def test_every_change_is_kept_and_only_the_latest_is_current(index: VersionIndex) -> None:
    """Each publish adds the next number; versions lists them all, oldest first, with one current."""
    for blob_id in (BLOB_A, BLOB_B, BLOB_C):
        index.publish("alice", "profile", "main", blob_id)
    assert index.versions("alice", "profile", "main") == [
        Version("alice", "profile", "main", 1, BLOB_A, False),
        Version("alice", "profile", "main", 2, BLOB_B, False),
        Version("alice", "profile", "main", 3, BLOB_C, True),
    ]


def test_republishing_the_same_blob_is_a_new_version(index: VersionIndex) -> None:
    """Publishing a blob that is already a version still records a new version."""
    index.publish("alice", "profile", "main", BLOB_A)
    assert index.publish("alice", "profile", "main", BLOB_A).number == 2


def test_publish_without_make_current_keeps_the_current_pointer(index: VersionIndex) -> None:
    """A version published with make_current=False is stored but does not become current."""
    index.publish("alice", "profile", "main", BLOB_A)
    staged = index.publish("alice", "profile", "main", BLOB_B, make_current=False)
    assert staged == Version("alice", "profile", "main", 2, BLOB_B, False)
    assert index.current("alice", "profile", "main").number == 1


def test_key_with_only_staged_versions_has_no_current(index: VersionIndex) -> None:
    """current raises VersionNotFound when no version of the key was ever made current."""
    index.publish("alice", "profile", "main", BLOB_A, make_current=False)
    with pytest.raises(VersionNotFound, match="No current version found for owner='alice', kind='profile', name="):
        index.current("alice", "profile", "main")


def test_unknown_key_has_no_current_and_no_versions(index: VersionIndex) -> None:
    """An unpublished key raises VersionNotFound from current and has an empty version list."""
    with pytest.raises(VersionNotFound, match="owner='bob', kind='profile', name='main'"):
        index.current("bob", "profile", "main")
    assert index.versions("bob", "profile", "main") == []


def test_set_current_moves_the_pointer_back(index: VersionIndex) -> None:
    """set_current makes an older version current again, and versions reflects it."""
    for blob_id in (BLOB_A, BLOB_B):
        index.publish("alice", "profile", "main", blob_id)
    assert index.set_current("alice", "profile", "main", 1) == Version("alice", "profile", "main", 1, BLOB_A, True)
    assert [v.is_current for v in index.versions("alice", "profile", "main")] == [True, False]
    assert index.current("alice", "profile", "main").blob_id == BLOB_A


def test_set_current_to_a_missing_version_names_it(index: VersionIndex) -> None:
    """set_current to a number that was never published raises VersionNotFound and changes nothing."""
    index.publish("alice", "profile", "main", BLOB_A)
    with pytest.raises(VersionNotFound, match="No version 7 found for owner='alice', kind='profile', name='main'"):
        index.set_current("alice", "profile", "main", 7)
    assert index.current("alice", "profile", "main").number == 1


@pytest.mark.parametrize("number", [0, -1, 1.0, True, "1"])
def test_set_current_refuses_a_bad_number(index: VersionIndex, number: object) -> None:
    """Version numbers are ints from 1."""
    with pytest.raises(ValidationError, match='"number" must be an int >= 1'):
        index.set_current("alice", "profile", "main", number)  # type: ignore[arg-type]


def test_names_lists_an_owners_names_of_one_kind(index: VersionIndex) -> None:
    """names returns the sorted names of one owner and kind, each once."""
    index.publish("alice", "study", "s2", BLOB_A)
    index.publish("alice", "study", "s1", BLOB_A)
    index.publish("alice", "study", "s1", BLOB_B)
    index.publish("alice", "profile", "main", BLOB_A)
    index.publish("bob", "study", "s3", BLOB_A)
    assert index.names("alice", "study") == ["s1", "s2"]
    assert index.names("carol", "study") == []


def test_publish_many_numbers_repeated_keys_in_row_order(index: VersionIndex) -> None:
    """A batch may touch a key several times; its versions are numbered in row order, the last current."""
    published = index.publish_many([
        ("alice", "profile", "main", BLOB_A),
        Publication("bob", "profile", "main", BLOB_B),
        ("alice", "profile", "main", BLOB_C),
        ("alice", "profile", "main", BLOB_B, False),
    ])
    assert [(v.owner, v.number, v.is_current) for v in published] == [
        ("alice", 1, False), ("bob", 1, True), ("alice", 2, True), ("alice", 3, False),
    ]
    assert index.current("alice", "profile", "main").blob_id == BLOB_C


def test_publish_many_serves_thousands_of_respondents_at_once(index: VersionIndex) -> None:
    """Five thousand respondents publish their profiles in one call, and each has one current version."""
    rows = [(f"respondent-{i}", "profile", "main", blob_id_of(str(i).encode())) for i in range(5000)]
    published = index.publish_many(rows)
    assert len(published) == 5000 and all(v.number == 1 and v.is_current for v in published)
    assert index.current("respondent-4999", "profile", "main").blob_id == blob_id_of(b"4999")


BAD_ROWS = [
    (("", "profile", "main", BLOB_A), '"owner" must be a str of 1 to 1024 characters'),
    (("alice", None, "main", BLOB_A), '"kind" must be a str'),
    (("alice", "profile", "x" * 1025, BLOB_A), '"name" must be a str of 1 to 1024 characters'),
    (("alice", "profile", "main", "not-a-blob-id"), "blob id must be 64 lowercase hex characters"),
    (("alice", "profile", "main", BLOB_A.upper()), "blob id must be 64 lowercase hex characters"),
    (("alice", "profile", "main", BLOB_A, "yes"), '"make_current" must be a bool'),
    (("alice", "profile", "main"), "a publication must be"),
    ("alice/profile/main", "a publication must be"),
]


@pytest.mark.parametrize(("row", "message"), BAD_ROWS)
def test_a_bad_row_refuses_the_whole_batch(index: VersionIndex, row: object, message: str) -> None:
    """One invalid row raises ValidationError naming the rule, and no row of the batch is written."""
    with pytest.raises(ValidationError, match=message):
        index.publish_many([("carol", "profile", "main", BLOB_A), row])  # type: ignore[list-item]
    assert index.versions("carol", "profile", "main") == []


def test_concurrent_publishers_get_distinct_numbers(index: VersionIndex) -> None:
    """Eight threads publishing the same key at once get versions 1..N with no gaps or repeats."""
    errors: list[BaseException] = []

    def publisher() -> None:
        try:
            for _ in range(25):
                index.publish("alice", "profile", "main", BLOB_A)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=publisher) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [v.number for v in index.versions("alice", "profile", "main")] == list(range(1, 201))


def test_versions_survive_reopening(index_path: Path) -> None:
    """A file index reopened later holds every version and the same current pointer."""
    with VersionIndex(index_path) as first:
        first.publish("alice", "profile", "main", BLOB_A)
        first.publish("alice", "profile", "main", BLOB_B)
        first.set_current("alice", "profile", "main", 1)
        before = first.versions("alice", "profile", "main")
    with VersionIndex(index_path) as reopened:
        assert reopened.versions("alice", "profile", "main") == before


def test_two_indexes_on_one_file_see_each_others_versions(index_path: Path) -> None:
    """Two connections to one file (as two processes would have) number versions together."""
    with VersionIndex(index_path) as one, VersionIndex(index_path) as two:
        one.publish("alice", "profile", "main", BLOB_A)
        assert two.publish("alice", "profile", "main", BLOB_B).number == 2
        assert one.current("alice", "profile", "main").blob_id == BLOB_B


def test_a_closed_index_refuses_calls(index_path: Path) -> None:
    """After close, every call raises StorageError; closing again is harmless."""
    index = VersionIndex(index_path)
    index.close()
    index.close()
    with pytest.raises(StorageError, match="is closed"):
        index.publish("alice", "profile", "main", BLOB_A)
    with pytest.raises(StorageError, match="is closed"):
        index.versions("alice", "profile", "main")


def test_an_index_from_a_newer_schema_is_refused(index_path: Path) -> None:
    """A file whose schema version this code does not know raises StorageError naming both versions."""
    with sqlite3.connect(index_path) as raw:
        raw.execute("PRAGMA user_version=99")
    raw.close()
    with pytest.raises(StorageError, match="has schema version 99 \\(this code reads 1\\)"):
        VersionIndex(index_path)


def test_a_file_that_is_not_sqlite_is_refused(index_path: Path) -> None:
    """Opening a file that is not an SQLite database raises StorageError, not an sqlite3 error."""
    index_path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match="version index"):
        VersionIndex(index_path)
