"""A strict ABI decoder for the value types event logs carry, word by word: static words, arrays of them, bytes.

eth_abi decodes a TaskMarket log in about 60 microseconds; every node and client decodes every market event, so
this decoder, built once per event from its types, reads the 32-byte words directly and checks what eth_abi's
strict mode checks (padding, ranges, where offsets point). ``compile_decoder`` returns None for a type list it
does not cover, and the caller keeps eth_abi for those.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from eth_abi.exceptions import DecodingError

WORD = 32
_ZERO_WORD = bytes(WORD)
_STATIC = re.compile(r"(uint|int)(\d*)|address|bool|bytes([1-9]|[12]\d|3[0-2])")

Word = Callable[[bytes], Any]
"""Decodes one 32-byte word; raises DecodingError."""


def word_decoder(kind: str) -> Word | None:
    """The strict decoder of one word of static ABI type ``kind`` (a head word, or an indexed event argument),
    or None if ``kind`` is not a static word type."""
    match = _STATIC.fullmatch(kind)
    if match is None:
        return None
    if kind == "address":
        def address(word: bytes) -> str:
            if word[:12] != _ZERO_WORD[:12]:
                raise DecodingError(f"an address word has non-zero padding: 0x{word.hex()}")
            return "0x" + word[12:].hex()
        return address
    if kind == "bool":
        def boolean(word: bytes) -> bool:
            value = int.from_bytes(word, "big")
            if value > 1:
                raise DecodingError(f"a bool word is neither 0 nor 1: 0x{word.hex()}")
            return value == 1
        return boolean
    if kind.startswith("bytes"):
        size = int(match.group(3))

        def fixed_bytes(word: bytes) -> bytes:
            if word[size:] != _ZERO_WORD[size:]:
                raise DecodingError(f"a bytes{size} word has non-zero padding: 0x{word.hex()}")
            return word[:size]
        return fixed_bytes
    bits = int(match.group(2) or 256)
    if not 8 <= bits <= 256 or bits % 8:
        return None
    if match.group(1) == "uint":
        def unsigned(word: bytes) -> int:
            value = int.from_bytes(word, "big")
            if value >> bits:
                raise DecodingError(f"a uint{bits} word is out of range: {value}")
            return value
        return unsigned

    def signed(word: bytes) -> int:
        value = int.from_bytes(word, "big", signed=True)
        if not -(1 << (bits - 1)) <= value < 1 << (bits - 1):
            raise DecodingError(f"an int{bits} word is out of range: {value}")
        return value
    return signed


def _words(data: bytes, start: int, count: int, what: str) -> list[bytes]:
    end = start + count * WORD
    if start < 0 or end > len(data):
        raise DecodingError(f"{what} needs bytes {start} to {end}, past the data's {len(data)}")
    return [data[i:i + WORD] for i in range(start, end, WORD)]


def _tail_start(data: bytes, head: bytes, what: str) -> tuple[int, int]:
    """Where a dynamic value's tail starts and its length, read from its head word (an offset)."""
    offset = int.from_bytes(head, "big")
    (length_word,) = _words(data, offset, 1, f"{what}'s length at offset {offset}")
    return offset + WORD, int.from_bytes(length_word, "big")


def _array_decoder(item: Word, kind: str) -> Callable[[bytes, bytes], tuple[Any, ...]]:
    def array(data: bytes, head: bytes) -> tuple[Any, ...]:
        start, length = _tail_start(data, head, f"a {kind}[]")
        if length > len(data) // WORD:
            raise DecodingError(f"a {kind}[] claims {length} items, more than its data holds")
        return tuple(item(word) for word in _words(data, start, length, f"a {kind}[] of {length}"))
    return array


def _bytes_decoder(kind: str) -> Callable[[bytes, bytes], bytes]:
    def dynamic(data: bytes, head: bytes) -> Any:
        start, length = _tail_start(data, head, kind)
        if length > len(data):
            raise DecodingError(f"a {kind} claims {length} bytes, more than its data holds")
        padded = -(-length // WORD) * WORD
        if start + padded > len(data):
            raise DecodingError(f"a {kind} of {length} bytes needs bytes {start} to {start + padded}, past the "
                                f"data's {len(data)}")
        value, padding = data[start:start + length], data[start + length:start + padded]
        if padding.strip(b"\0"):
            raise DecodingError(f"a {kind} of {length} bytes has non-zero padding")
        return value
    return dynamic


def _head_word(decode: Word) -> Callable[[bytes, bytes], Any]:
    def head(_data: bytes, word: bytes) -> Any:
        return decode(word)
    return head


def compile_decoder(kinds: Sequence[str]) -> Callable[[bytes], tuple[Any, ...]] | None:
    """A strict decoder of ABI data holding values of ``kinds``, or None where a kind is not one it covers
    (static value types, one-dimensional arrays of them, and bytes). The decoder raises DecodingError."""
    heads: list[Callable[[bytes, bytes], Any]] = []
    for kind in kinds:
        static = word_decoder(kind)
        if static is not None:
            heads.append(_head_word(static))
        elif kind.endswith("[]") and (item := word_decoder(kind[:-2])) is not None:
            heads.append(_array_decoder(item, kind[:-2]))
        elif kind == "bytes":
            heads.append(_bytes_decoder(kind))
        else:
            return None
    count = len(heads)

    def decode(data: bytes) -> tuple[Any, ...]:
        words = _words(data, 0, count, f"a head of {count} words")
        return tuple(head(data, word) for head, word in zip(heads, words))
    return decode


__all__ = ["WORD", "Word", "compile_decoder", "word_decoder"]
