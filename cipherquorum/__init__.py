"""cipherquorum: a decentralized market for confidential FHE computation with consensus-based proof of execution."""
from __future__ import annotations

from cipherquorum.exceptions import CipherQuorumError
from cipherquorum.types import Address, BlobId, ExecStatus, Hash32, SlashReason, TaskId, TaskState, Wei

__version__ = "0.1.0"

__all__ = [
    "Address",
    "BlobId",
    "CipherQuorumError",
    "ExecStatus",
    "Hash32",
    "SlashReason",
    "TaskId",
    "TaskState",
    "Wei",
    "__version__",
]
