"""The wire format: typed messages in versioned msgpack envelopes, strictly decoded."""
from __future__ import annotations

from .codec import (
    DEFAULT_MAX_MESSAGE_BYTES,
    MAX_COLLECTION_LEN,
    MAX_DEPTH,
    WIRE_VERSION,
    Params,
    decode,
    encode,
    message,
    message_type_name,
    registered_messages,
)

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "MAX_COLLECTION_LEN",
    "MAX_DEPTH",
    "WIRE_VERSION",
    "Params",
    "decode",
    "encode",
    "message",
    "message_type_name",
    "registered_messages",
]
