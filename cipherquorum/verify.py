"""Third-party verification of a finished task's proof of execution, from the chain and storage alone."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from cipherquorum.chain import TaskMarket
from cipherquorum.chain.errors import UnknownTask
from cipherquorum.exceptions import ChainError, ChainUnavailable, CipherQuorumError, ValidationError
from cipherquorum.fhe import Ciphertext, get_program, program_id, result_hash
from cipherquorum.protocol import Check, Delivered, check_dissent, check_proof, check_winners
from cipherquorum.storage import BlobStore, FileBlobStore
from cipherquorum.types import TaskState, bytes32_to_blob_id
from cipherquorum.wire import TaskManifest, TaskResult, decode

T = TypeVar("T")

STORE_DIR = "store"
"""The folder of a run's data directory that holds its blobs (as a StorageHost keeps them)."""

_UNFINISHED = {
    TaskState.PENDING: "pending: not matched to nodes yet",
    TaskState.ACTIVE: "active: not finalized yet",
    TaskState.NO_CONSENSUS: "no consensus: no result had a quorum, the client was refunded",
}


def open_run_store(data_dir: str | Path) -> FileBlobStore:
    """Open the blob store of the run whose data directory is ``data_dir`` (its ``store/`` folder).

    Raises ValidationError if ``data_dir`` is not a directory or holds no blob store; creates nothing.
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise ValidationError(f'"data_dir" must be an existing directory (got data_dir={str(data_dir)!r})')
    if not (root / STORE_DIR / "blobs").is_dir():
        raise ValidationError(f'"data_dir" must hold a run\'s blob store in {STORE_DIR}/ '
                              f"(got data_dir={str(data_dir)!r})")
    return FileBlobStore(root / STORE_DIR, fsync=False)


def verify_task(market: TaskMarket, store: BlobStore, task_id: int, from_block: int = 0) -> tuple[Check, ...]:
    """Check the proof of execution of task ``task_id`` as an outsider would, from ``market`` and ``store``.

    Returns the verdicts in this order: state, manifest blob, result blob, program registered, then those of
    ``protocol.check_proof`` (program id, manifest, result hash, status) and ``protocol.check_winners``
    (quorum, seals). A task that does not exist or is not COMPLETED yields the state verdict alone. A blob
    that is missing, corrupted or undecodable fails its own check, and the checks that need it fail as not
    checked. Raises ChainUnavailable if the chain stops answering, ValidationError for a bad task id.
    """
    try:
        view = market.task(task_id)
    except UnknownTask:
        return (Check("state", False, f"no task found for id {task_id}"),)
    if view.state is not TaskState.COMPLETED:
        return (Check("state", False, _UNFINISHED.get(view.state, view.state.name.lower())),)
    proof = market.proof(task_id)
    manifest_check, manifest = _read(store, "manifest blob", proof.manifest_ref,
                                     lambda data: decode(data, TaskManifest))
    result_check, delivered = _read(store, "result blob", proof.result_ref,
                                    lambda data: _delivered(decode(data, TaskResult)))
    unreadable: dict[str, str] = {}
    if manifest is None:
        unreadable["program id"] = "not checked: the manifest blob is unreadable"
    if delivered is None:
        unreadable.update(dict.fromkeys(("result hash", "status"), "not checked: the result blob is unreadable"))
    proof_checks = check_proof(
        proof, program_id=proof.program_id if manifest is None else program_id(manifest.program),
        manifest_ref=view.manifest_ref, delivered=delivered or Delivered(int(proof.status), proof.result_hash))
    try:
        reveals = market.reveals(task_id, from_block)
        winner_checks = (*check_winners(proof, view.quorum, reveals), check_dissent(proof, reveals))
    except ChainUnavailable:
        raise
    except ChainError as exc:
        unread = f"reveals unreadable: {exc}"
        winner_checks = (*_failed(check_winners(proof, view.quorum, {}), {"seals": unread}),
                         Check("dissent", False, unread, advisory=True))
    return (
        Check("state", True, f"completed in block {proof.finalized_block}"),
        manifest_check,
        result_check,
        _program_registered(manifest),
        *_failed(proof_checks, unreadable),
        *winner_checks,
    )


def _read(store: BlobStore, name: str, ref: bytes, parse: Callable[[bytes], T]) -> tuple[Check, T | None]:
    """Fetch the blob ``ref`` points to (the store checks its hash) and parse it; the check says how it went."""
    blob_id = bytes32_to_blob_id(ref)
    try:
        parsed = parse(store.get(blob_id))
    except CipherQuorumError as exc:
        return Check(name, False, f"{type(exc).__name__}: {exc}"), None
    return Check(name, True, f"blob {blob_id} is stored, hashes to its id and decodes"), parsed


def _delivered(result: TaskResult) -> Delivered:
    """The status a result blob records and the hash of its output ciphertexts."""
    return Delivered(result.status, result_hash([Ciphertext.from_bytes(blob) for blob in result.outputs]))


def _program_registered(manifest: TaskManifest | None) -> Check:
    if manifest is None:
        return Check("program registered", False, "not checked: the manifest blob is unreadable")
    try:
        get_program(manifest.program)
    except ValidationError as exc:
        return Check("program registered", False, str(exc))
    return Check("program registered", True, f"the manifest names {manifest.program}")


def _failed(checks: Sequence[Check], reasons: Mapping[str, str]) -> tuple[Check, ...]:
    """``checks`` with those named in ``reasons`` replaced by a failure for that reason."""
    return tuple(Check(c.name, False, reasons[c.name]) if c.name in reasons else c for c in checks)


__all__ = ["STORE_DIR", "open_run_store", "verify_task"]
