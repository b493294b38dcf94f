"""Domain types shared by every layer: addresses, hashes, blob ids, task ids, and the states and statuses of a task."""
from __future__ import annotations

from enum import Enum, IntEnum
from typing import NewType

Address = NewType("Address", str)
"""A checksummed 0x-prefixed Ethereum address."""

Hash32 = NewType("Hash32", bytes)
"""A 32-byte hash (keccak256 result hashes, seals, program ids)."""

BlobId = NewType("BlobId", str)
"""A blob's content address: the lowercase hex sha256 of its bytes (64 characters)."""

TaskId = NewType("TaskId", int)
"""A TaskMarket task id (starts at 1)."""

Wei = int
"""An amount of ether in wei."""

ZERO_HASH = Hash32(b"\x00" * 32)


class TextEnum(str, Enum):
    """An enum whose members are their string values: they compare, hash, format and serialize as those."""

    def __str__(self) -> str:
        return str(self.value)


class ExecStatus(IntEnum):
    """Execution status that nodes agree on together with the result hash (seed 002)."""

    SUCCESS = 0
    INPUT_UNAVAILABLE = 1
    INPUT_CHECKSUM_ERROR = 2
    INPUT_INVALID = 3
    PROGRAM_UNKNOWN = 4
    EXECUTION_ERROR = 5
    TIMEOUT = 6


class TaskState(IntEnum):
    """A task's state in the TaskMarket contract (the commit/reveal phase is derived from deadlines)."""

    NONE = 0
    PENDING = 1
    ACTIVE = 2
    COMPLETED = 3
    NO_CONSENSUS = 4


class TaskEnd(TextEnum):
    """How a task ended for its client: the ``status`` of a task in the run and load reports."""

    COMPLETED = "completed"
    """Consensus was reached."""
    NO_CONSENSUS = "no_consensus"
    """No result had a quorum: the client was refunded."""
    UNFINISHED = "unfinished"
    """Still open when the run ended."""

    @classmethod
    def of_state(cls, state: TaskState) -> TaskEnd:
        """The end of a task in ``state`` on chain (UNFINISHED for a task still pending or active)."""
        return {TaskState.COMPLETED: cls.COMPLETED, TaskState.NO_CONSENSUS: cls.NO_CONSENSUS}.get(
            state, cls.UNFINISHED)


class TaskStage(TextEnum):
    """How far a task has got, as one participant follows it (a replica from ASSIGNED on)."""

    CREATED = "created"
    """Created on chain, not matched yet."""
    ASSIGNED = "assigned"
    """Matched to its replicas."""
    COMMITTED = "committed"
    REVEALED = "revealed"
    DONE = "done"
    """The task was settled on chain."""
    FAILED = "failed"
    """The replica gave up on the task (a deadline passed, or the contract refused its transaction)."""

    @property
    def open(self) -> bool:
        """Whether the replica still has work to do on the task."""
        return self not in (TaskStage.DONE, TaskStage.FAILED)


class SlashReason(IntEnum):
    """Why the contract slashed a node."""

    DISSENT = 1
    NO_COMMIT = 2
    NO_REVEAL = 3


def blob_id_to_bytes32(blob_id: BlobId) -> Hash32:
    """Return the 32 raw bytes of a hex blob id, as stored on chain; raises ValidationError if malformed."""
    from cipherquorum.exceptions import ValidationError

    try:
        raw = bytes.fromhex(blob_id)
    except (TypeError, ValueError):
        raise ValidationError(f"blob id must be 64 hex characters (got {blob_id!r})") from None
    if len(raw) != 32:
        raise ValidationError(f"blob id must be 64 hex characters (got {blob_id!r})")
    return Hash32(raw)


def bytes32_to_blob_id(raw: bytes) -> BlobId:
    """Return the hex blob id for 32 raw bytes read from chain."""
    return BlobId(bytes(raw).hex())
