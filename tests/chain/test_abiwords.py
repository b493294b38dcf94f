"""The word-by-word ABI decoder of event logs agrees with eth_abi's strict decoder: on every valid encoding of
the types the market's events carry, and on corrupted ones, where both refuse or both give the same values."""
from __future__ import annotations

import pytest
from eth_abi import abi
from eth_abi.exceptions import DecodingError
from hypothesis import given, settings
from hypothesis import strategies as st

from cipherquorum.chain.abiwords import WORD, compile_decoder, word_decoder
from cipherquorum.chain.artifact import load_artifact
from cipherquorum.chain.views import abi_type

EVENT_TYPES = sorted({tuple(abi_type(i) for i in entry["inputs"] if not i["indexed"])
                      for entry in load_artifact().abi if entry.get("type") == "event"})
"""The data types of every TaskMarket event."""

KINDS = ["uint8", "uint64", "uint256", "int32", "address", "bool", "bytes32", "bytes4", "address[]", "uint64[]",
         "bytes"]


def _values(kind: str) -> st.SearchStrategy:
    if kind.endswith("[]"):
        return st.lists(_values(kind[:-2]), max_size=5)
    if kind.startswith("uint"):
        return st.integers(0, 2 ** int(kind[4:]) - 1)
    if kind.startswith("int"):
        bits = int(kind[3:])
        return st.integers(-2 ** (bits - 1), 2 ** (bits - 1) - 1)
    if kind == "address":
        return st.binary(min_size=20, max_size=20).map(lambda raw: "0x" + raw.hex())
    if kind == "bool":
        return st.booleans()
    if kind == "bytes":
        return st.binary(max_size=70)
    return st.binary(min_size=int(kind[5:]), max_size=int(kind[5:]))


def _eth_abi(kinds: list[str], data: bytes) -> tuple | type[DecodingError]:
    try:
        return tuple(tuple(v) if isinstance(v, (list, tuple)) else v for v in abi.decode(kinds, data))
    except (DecodingError, OverflowError):  # eth_abi overflows on a length past an index (ours says DecodingError)
        return DecodingError


def _ours(kinds: list[str], data: bytes) -> tuple | type[DecodingError]:
    decode = compile_decoder(kinds)
    assert decode is not None, kinds
    try:
        return decode(data)
    except DecodingError:
        return DecodingError


type_lists = st.one_of(st.sampled_from([list(t) for t in EVENT_TYPES]),
                       st.lists(st.sampled_from(KINDS), min_size=1, max_size=4))


@settings(max_examples=300, deadline=None)
@given(data=st.data(), kinds=type_lists)
def test_valid_encodings_decode_as_eth_abi_decodes_them(data, kinds: list[str]) -> None:
    values = [data.draw(_values(kind)) for kind in kinds]
    encoded = abi.encode(kinds, values)
    assert _ours(kinds, encoded) == _eth_abi(kinds, encoded)


@settings(max_examples=400, deadline=None)
@given(data=st.data(), kinds=type_lists.filter(bool))
def test_corrupted_encodings_are_refused_or_read_as_eth_abi_reads_them(data, kinds: list[str]) -> None:
    values = [data.draw(_values(kind)) for kind in kinds]
    encoded = bytearray(abi.encode(kinds, values))
    how = data.draw(st.sampled_from(["flip", "truncate", "extend"]))
    if how == "flip":
        for _ in range(data.draw(st.integers(1, 3))):
            position = data.draw(st.integers(0, len(encoded) - 1))
            encoded[position] ^= data.draw(st.integers(1, 255))
    elif how == "truncate":
        del encoded[data.draw(st.integers(0, len(encoded) - 1)):]
    else:
        encoded += data.draw(st.binary(min_size=1, max_size=64))
    assert _ours(kinds, bytes(encoded)) == _eth_abi(kinds, bytes(encoded))


def _word(value: int) -> bytes:
    return value.to_bytes(WORD, "big")


@pytest.mark.parametrize(("kinds", "data", "problem"), [
    (["address"], b"\x01" + bytes(31), "non-zero padding"),
    (["uint8"], _word(256), "out of range"),
    (["bool"], _word(2), "neither 0 nor 1"),
    (["bytes4"], b"abcde" + bytes(27), "non-zero padding"),
    (["int8"], _word(128), "out of range"),
    (["address[]"], _word(64), "past the data"),
    (["address[]"], _word(32) + _word(2**200), "more than its data holds"),
    (["bytes"], _word(32) + _word(3) + b"abcX" + bytes(28), "non-zero padding"),
    (["uint256", "uint256"], _word(1), "past the data"),
])
def test_each_malformation_is_named(kinds: list[str], data: bytes, problem: str) -> None:
    decode = compile_decoder(kinds)
    assert decode is not None
    with pytest.raises(DecodingError, match=problem):
        decode(data)
    assert _eth_abi(kinds, data) is DecodingError  # eth_abi refuses it too


def test_types_it_does_not_cover_are_left_to_eth_abi() -> None:
    for kinds in (["(uint256,address)"], ["uint256[2]"], ["bytes[]"], ["uint7"], ["bytes33"], ["string"]):
        assert compile_decoder(kinds) is None
    assert word_decoder("bytes") is None and word_decoder("uint256") is not None
