"""The wire format: typed messages in versioned msgpack envelopes, strictly decoded."""
from __future__ import annotations

from cipherquorum.wire.codec import (
    DEFAULT_MAX_MESSAGE_BYTES,
    MAX_COLLECTION_LEN,
    MAX_DEPTH,
    WIRE_VERSION,
    Params,
    decode,
    encode,
    message,
    message_class,
    message_type_name,
    registered_messages,
)
from cipherquorum.wire.messages import (
    HASH_BYTES,
    QUESTION_KINDS,
    Answer,
    Profile,
    Question,
    Study,
    TaskManifest,
    TaskResult,
)

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "HASH_BYTES",
    "MAX_COLLECTION_LEN",
    "MAX_DEPTH",
    "QUESTION_KINDS",
    "WIRE_VERSION",
    "Answer",
    "Params",
    "Profile",
    "Question",
    "Study",
    "TaskManifest",
    "TaskResult",
    "decode",
    "encode",
    "message",
    "message_class",
    "message_type_name",
    "registered_messages",
]
