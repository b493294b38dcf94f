"""Content addresses: computing a blob's id from its bytes and checking that a string is a well-formed id."""
from __future__ import annotations

import hashlib
import re

from cipherquorum.exceptions import ValidationError
from cipherquorum.types import BlobId

_BLOB_ID = re.compile(r"[0-9a-f]{64}")


def blob_id_of(data: bytes | bytearray | memoryview) -> BlobId:
    """Return the content address of ``data``: the lowercase hex sha256 of its bytes."""
    return BlobId(hashlib.sha256(data).hexdigest())


def validate_blob_id(value: object, what: str = "blob id") -> BlobId:
    """Return ``value`` as a BlobId if it is 64 lowercase hex characters; raise ValidationError otherwise.

    ``what`` names the value in the error (for example a message field). Only such ids ever become file
    names, so a checked id cannot escape the store's directory.
    """
    if not isinstance(value, str) or _BLOB_ID.fullmatch(value) is None:
        raise ValidationError(f"{what} must be 64 lowercase hex characters (got {value!r:.80})")
    return BlobId(value)
