"""The wire codec: typed messages in versioned msgpack envelopes, decoded strictly against their declared fields."""
from __future__ import annotations

from typing import TypeVar, overload

import msgpack

from cipherquorum.exceptions import MalformedMessage, MessageTooLarge, UnsupportedVersion
from cipherquorum.wire import schema
from cipherquorum.wire.schema import (
    MAX_COLLECTION_LEN,
    MAX_DEPTH,
    Params,
    message,
    message_class,
    message_codec,
    message_type_name,
    registered_messages,
    some_keys,
    wire_type,
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
    "message_class",
    "message_type_name",
    "registered_messages",
]

WIRE_VERSION = 1
"""The envelope version this code writes and the only one it reads."""

DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""Largest encoded message that ``encode`` produces and ``decode`` accepts unless told otherwise."""

T = TypeVar("T")

_ENVELOPE_KEYS = frozenset({"v", "t", "b"})

def encode(msg: object, *, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> bytes:
    """Return the msgpack envelope ``{"v": WIRE_VERSION, "t": type name, "b": fields}`` of a message.

    Maps are written with sorted keys, so equal messages encode to equal bytes.
    Raises UnknownMessageType for an unregistered class, MalformedMessage for a field whose value does not
    match its annotation (naming the field path and the value's type), MessageTooLarge past ``max_bytes``.
    """
    name = message_type_name(type(msg))
    body = message_codec(type(msg)).to_wire(msg, name, 0)
    try:
        packed = msgpack.packb({"v": WIRE_VERSION, "t": name, "b": body}, use_bin_type=True)
    except (ValueError, TypeError, OverflowError) as exc:
        raise MalformedMessage(f"{name} could not be packed as msgpack: {exc}") from None
    if len(packed) > max_bytes:
        raise MessageTooLarge(
            f"message must be <= {max_bytes} bytes (got {len(packed)} bytes for a {name})"
        )
    return packed


@overload
def decode(data: bytes, expected: type[T], *, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> T: ...


@overload
def decode(data: bytes, expected: None = None, *, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> object: ...


def decode(data: bytes, expected: type[T] | None = None, *, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> T | object:
    """Return the message encoded in ``data``, checked field by field against its class.

    ``expected``, when given, is the only message class accepted. Whatever the bytes, only WireError
    subclasses escape: MessageTooLarge (checked before parsing), MalformedMessage (not msgpack, not an
    envelope, a type other than ``expected``, an unknown, missing or wrong-typed field, too deep or too
    long), UnsupportedVersion (an envelope version other than WIRE_VERSION), UnknownMessageType.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise MalformedMessage(f"message must be bytes (got {type(data).__name__})")
    size = memoryview(data).nbytes
    if size > max_bytes:
        raise MessageTooLarge(f"message must be <= {max_bytes} bytes (got {size} bytes)")
    limit = min(size, schema.MAX_COLLECTION_LEN)
    try:
        envelope = msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=True,
            max_str_len=size,
            max_bin_len=size,
            max_array_len=limit,
            max_map_len=limit,
            max_ext_len=0,
        )
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise MalformedMessage(f"message is not valid msgpack: {exc}") from None
    cls = _open_envelope(envelope, expected)
    return message_codec(cls).from_wire(envelope["b"], envelope["t"], 0)


def _open_envelope(envelope: object, expected: type | None) -> type:
    """Check the envelope's keys, version and type; return the message class it names."""
    if not isinstance(envelope, dict):
        raise MalformedMessage(f"envelope must be a map (got {wire_type(envelope)})")
    if "v" not in envelope:
        raise MalformedMessage(f"envelope must have a version 'v' (got keys {some_keys(envelope)})")
    version = envelope["v"]
    if type(version) is not int:
        raise MalformedMessage(f"envelope version 'v' must be an int (got {wire_type(version)})")
    if version != WIRE_VERSION:
        raise UnsupportedVersion(f"wire version must be {WIRE_VERSION} (got {version})")
    if envelope.keys() != _ENVELOPE_KEYS:
        raise MalformedMessage(
            f"envelope keys must be ['b', 't', 'v'] (got {some_keys(envelope)})"
        )
    name = envelope["t"]
    if not isinstance(name, str):
        raise MalformedMessage(f"envelope type 't' must be a str (got {wire_type(name)})")
    cls = message_class(name)
    if expected is not None and cls is not expected:
        raise MalformedMessage(f"message type must be {message_type_name(expected)} (got {name})")
    return cls
