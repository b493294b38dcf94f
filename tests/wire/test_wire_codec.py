"""The wire codec writes versioned envelopes and decodes them strictly, failing with a typed error that says why."""
from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from dataclasses import dataclass

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cipherquorum.exceptions import (
    MalformedMessage,
    MessageTooLarge,
    UnknownMessageType,
    UnsupportedVersion,
    WireError,
)
from cipherquorum.wire import (
    DEFAULT_MAX_MESSAGE_BYTES,
    MAX_DEPTH,
    WIRE_VERSION,
    Params,
    TaskManifest,
    decode,
    encode,
    message,
    message_type_name,
    registered_messages,
    schema,
)


class Colour(enum.IntEnum):
    RED = 1
    GREEN = 2


@message("test.Leaf")
@dataclass(frozen=True)
class Leaf:
    count: int
    note: str | None


@message("test.Probe")
@dataclass(frozen=True)
class Probe:
    """A message with a field of every supported annotation kind."""

    number: int
    ratio: float
    text: str
    blob: bytes
    flag: bool
    maybe: int | None
    leaves: tuple[Leaf, ...]
    table: dict[str, bytes]
    colour: Colour
    params: Params
    child: Leaf | None


@message("test.Tree")
@dataclass(frozen=True)
class Tree:
    label: str
    children: tuple[Tree, ...]


@message("test.Picky")
@dataclass(frozen=True)
class Picky:
    """A message whose own check fails with a plain KeyError for an unlucky number."""

    count: int

    def __post_init__(self) -> None:
        if self.count == 13:
            raise KeyError("unlucky")


def make_probe(**changes: object) -> Probe:
    fields: dict[str, object] = dict(
        number=-5, ratio=0.25, text="héllo", blob=b"\x00\xff", flag=True, maybe=None,
        leaves=(Leaf(1, "one"), Leaf(2, None)), table={"b": b"2", "a": b"1"}, colour=Colour.GREEN,
        params={"k": 3, "x": 1.5, "s": "t", "on": False, "list": (1, 2.5, "z", True)}, child=Leaf(9, None),
    )
    fields.update(changes)
    return Probe(**fields)  # type: ignore[arg-type]


def chain(depth: int) -> Tree:
    tree = Tree("leaf", ())
    for level in range(depth):
        tree = Tree(f"level {level}", (tree,))
    return tree


# --- encoding -----------------------------------------------------------------------------------

def test_envelope_carries_version_type_and_fields() -> None:
    """An encoded message is the map {"v": 1, "t": type name, "b": fields}."""
    envelope = msgpack.unpackb(encode(Leaf(3, "x")))
    assert envelope == {"v": WIRE_VERSION, "t": "test.Leaf", "b": {"count": 3, "note": "x"}}


def test_every_annotation_kind_round_trips() -> None:
    """Ints, floats, str, bytes, bools, optionals, tuples, maps, nested messages, enums and params survive."""
    probe = make_probe()
    decoded = decode(encode(probe), Probe)
    assert decoded == probe
    assert isinstance(decoded.colour, Colour) and isinstance(decoded.leaves, tuple)


def test_equal_messages_encode_to_equal_bytes() -> None:
    """Map keys are written sorted, so insertion order does not change the bytes."""
    one = make_probe(table={"a": b"1", "b": b"2"}, params={"x": 1, "y": 2})
    two = make_probe(table={"b": b"2", "a": b"1"}, params={"y": 2, "x": 1})
    assert encode(one) == encode(two)


def test_lists_are_accepted_for_tuples_and_decoded_as_tuples() -> None:
    """A list given for a tuple field is encoded as an array and comes back as a tuple."""
    decoded = decode(encode(make_probe(leaves=[Leaf(1, None)])), Probe)
    assert decoded.leaves == (Leaf(1, None),)


def test_an_int_is_widened_for_a_float_field() -> None:
    """An int given or received for a float field becomes a float."""
    assert decode(encode(make_probe(ratio=2)), Probe).ratio == 2.0
    assert type(decode(encode(make_probe(ratio=2)), Probe).ratio) is float


@pytest.mark.parametrize(
    ("probe", "error", "pattern"),
    [
        (make_probe(number="7"), MalformedMessage, r"test\.Probe\.number: expected int, got str"),
        (make_probe(number=2**64), MalformedMessage, r"test\.Probe\.number: int must be in"),
        (make_probe(flag=1), MalformedMessage, r"test\.Probe\.flag: expected bool, got int"),
        (make_probe(text="\ud800"), MalformedMessage, r"test\.Probe\.text: str must be encodable as UTF-8"),
        (make_probe(leaves=(Leaf("1", None),)), MalformedMessage, r"test\.Probe\.leaves\[0\]\.count: expected int"),
        (make_probe(colour=7), MalformedMessage, r"test\.Probe\.colour: 7 is not a valid Colour"),
        (make_probe(params={"x": [1, [2]]}), MalformedMessage, r"test\.Probe\.params\['x'\]\[1\]: expected"),
        (make_probe(table={1: b""}), MalformedMessage, r"test\.Probe\.table: map keys must be str"),
        (chain(MAX_DEPTH), MalformedMessage, rf"nesting must be <= {MAX_DEPTH} levels deep"),
    ],
)
def test_encode_refuses_values_that_break_the_annotations(probe: object, error: type, pattern: str) -> None:
    """encode checks every value against its annotation and names the field path and the value's type."""
    with pytest.raises(error, match=pattern):
        encode(probe)


def test_encode_refuses_an_unregistered_class() -> None:
    """Only @message classes can be encoded."""

    @dataclass(frozen=True)
    class Unregistered:
        x: int

    with pytest.raises(UnknownMessageType, match="is not a registered wire message"):
        encode(Unregistered(1))


def test_encode_refuses_a_message_over_the_limit() -> None:
    """A message whose encoding is larger than max_bytes raises MessageTooLarge."""
    assert DEFAULT_MAX_MESSAGE_BYTES == 64 * 1024 * 1024
    with pytest.raises(MessageTooLarge, match=r"message must be <= 100 bytes \(got \d+ bytes for a test.Leaf\)"):
        encode(Leaf(1, "x" * 200), max_bytes=100)


# --- decoding -----------------------------------------------------------------------------------

def packed(envelope: object) -> bytes:
    return msgpack.packb(envelope, use_bin_type=True)


LEAF_BODY = {"count": 1, "note": None}
LEAF_BYTES = packed({"v": 1, "t": "test.Leaf", "b": LEAF_BODY})

BAD_ENVELOPES = [
    (b"", MalformedMessage, "not valid msgpack"),
    (b"\xc1", MalformedMessage, "not valid msgpack"),
    (LEAF_BYTES[:-1], MalformedMessage, "not valid msgpack"),
    (LEAF_BYTES + b"\x00", MalformedMessage, "not valid msgpack"),
    (packed([1, "test.Leaf", LEAF_BODY]), MalformedMessage, "envelope must be a map"),
    (packed({"t": "test.Leaf", "b": LEAF_BODY}), MalformedMessage, "envelope must have a version 'v'"),
    (packed({"v": "1", "t": "test.Leaf", "b": LEAF_BODY}), MalformedMessage, "version 'v' must be an int"),
    (packed({"v": 2, "t": "test.Leaf", "b": LEAF_BODY}), UnsupportedVersion, r"wire version must be 1 \(got 2\)"),
    (packed({"v": 0, "t": "test.Leaf", "b": LEAF_BODY}), UnsupportedVersion, r"\(got 0\)"),
    (packed({"v": 1, "t": "test.Leaf", "b": LEAF_BODY, "x": 0}), MalformedMessage, "envelope keys must be"),
    (packed({"v": 1, "b": LEAF_BODY}), MalformedMessage, "envelope keys must be"),
    (packed({"v": 1, "t": 5, "b": LEAF_BODY}), MalformedMessage, "type 't' must be a str"),
    (packed({"v": 1, "t": "NoSuchType", "b": LEAF_BODY}), UnknownMessageType, "'NoSuchType'"),
    (packed({"v": 1, "t": "test.Leaf", "b": [1, None]}), MalformedMessage, r"test\.Leaf: expected map"),
    (packed({"v": 1, "t": "test.Leaf", "b": msgpack.ExtType(1, b"x")}), MalformedMessage, "not valid msgpack"),
    (packed({"v": 1, "t": "test.Leaf", "b": {"count": 1}}), MalformedMessage, r"missing \['note'\]"),
    (packed({"v": 1, "t": "test.Leaf", "b": {**LEAF_BODY, "extra": 1}}), MalformedMessage, r"unknown \['extra'\]"),
    (packed({"v": 1, "t": "test.Leaf", "b": {"count": True, "note": None}}), MalformedMessage,
     r"test\.Leaf\.count: expected int, got bool"),
    (packed({"v": 1, "t": "test.Leaf", "b": {"count": 1.0, "note": None}}), MalformedMessage,
     r"test\.Leaf\.count: expected int, got float"),
    (packed({"v": 1, "t": "test.Leaf", "b": {"count": 1, "note": b"x"}}), MalformedMessage,
     r"test\.Leaf\.note: expected str \| None, got bytes"),
]


@pytest.mark.parametrize(("data", "error", "pattern"), BAD_ENVELOPES)
def test_decode_refuses_a_bad_envelope_with_a_typed_error(data: bytes, error: type, pattern: str) -> None:
    """Each way an envelope can be wrong has its own error, whose message says what was wrong."""
    with pytest.raises(error, match=pattern):
        decode(data)


BAD_PROBE_FIELDS: list[tuple[Callable[[dict], object], str]] = [
    (lambda b: b.update(ratio="x"), r"test\.Probe\.ratio: expected float, got str"),
    (lambda b: b.update(blob="text"), r"test\.Probe\.blob: expected bytes, got str"),
    (lambda b: b.update(text=b"bytes"), r"test\.Probe\.text: expected str, got bytes"),
    (lambda b: b.update(flag=1), r"test\.Probe\.flag: expected bool, got int"),
    (lambda b: b.update(maybe="x"), r"test\.Probe\.maybe: expected int \| None, got str"),
    (lambda b: b.update(leaves={"a": 1}), r"test\.Probe\.leaves: expected array, got dict"),
    (lambda b: b["leaves"][1].update(count="2"), r"test\.Probe\.leaves\[1\]\.count: expected int, got str"),
    (lambda b: b["leaves"][0].pop("note"), r"test\.Probe\.leaves\[0\]: fields must match Leaf \(missing \['note'\]"),
    (lambda b: b.update(table={"k": 1}), r"test\.Probe\.table\['k'\]: expected bytes, got int"),
    (lambda b: b.update(table={b"k": b"v"}), r"test\.Probe\.table: map keys must be str \(got bytes\)"),
    (lambda b: b.update(colour=9), r"test\.Probe\.colour: 9 is not a valid Colour"),
    (lambda b: b.update(colour="RED"), r"test\.Probe\.colour: expected Colour, got str"),
    (lambda b: b.update(params={"x": [1, [2]]}),
     r"test\.Probe\.params\['x'\]\[1\]: expected int \| float \| str \| bool"),
    (lambda b: b.update(params={"x": None}), r"test\.Probe\.params\['x'\]: expected .*got NoneType"),
    (lambda b: b.update(child=5), r"test\.Probe\.child: expected Leaf \| None, got int"),
    (lambda b: b.pop("flag"), r"test\.Probe: fields must match Probe \(missing \['flag'\], unknown \[\]\)"),
]


@pytest.mark.parametrize(("change", "pattern"), BAD_PROBE_FIELDS)
def test_decode_names_the_field_path_and_type_of_a_bad_field(
    change: Callable[[dict], object], pattern: str, tamper: Callable[[bytes, Callable[[dict], object]], bytes]
) -> None:
    """A wrong, missing or unknown field raises MalformedMessage naming its path and the type it had."""
    data = tamper(encode(make_probe()), lambda envelope: change(envelope["b"]))
    with pytest.raises(MalformedMessage, match=pattern):
        decode(data, Probe)


def test_a_failing_message_check_becomes_malformed_message() -> None:
    """Whatever a message's own __post_init__ raises while decoding, the receiver gets MalformedMessage."""
    with pytest.raises(MalformedMessage, match=r"test\.Picky: KeyError: 'unlucky'"):
        decode(packed({"v": 1, "t": "test.Picky", "b": {"count": 13}}))


def test_size_limit_is_checked_before_parsing() -> None:
    """Bytes over max_bytes raise MessageTooLarge even when they are not msgpack at all."""
    with pytest.raises(MessageTooLarge, match=r"message must be <= 100 bytes \(got 101 bytes\)"):
        decode(b"\xc1" * 101, max_bytes=100)
    assert decode(LEAF_BYTES, max_bytes=len(LEAF_BYTES)) == Leaf(1, None)


def test_nesting_deeper_than_the_limit_is_refused() -> None:
    """A recursive message nested past MAX_DEPTH raises MalformedMessage; a shallow one round-trips."""
    shallow = chain(5)
    assert decode(encode(shallow), Tree) == shallow
    body: dict = {"label": "leaf", "children": []}
    for _ in range(MAX_DEPTH):
        body = {"label": "node", "children": [body]}
    with pytest.raises(MalformedMessage, match=f"nesting must be <= {MAX_DEPTH} levels deep"):
        decode(packed({"v": 1, "t": "test.Tree", "b": body}), Tree)


def test_collections_longer_than_the_limit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """An array longer than MAX_COLLECTION_LEN is refused when decoding and when encoding."""
    monkeypatch.setattr(schema, "MAX_COLLECTION_LEN", 3)
    four = make_probe(leaves=tuple(Leaf(i, None) for i in range(4)))
    with pytest.raises(MalformedMessage, match="exceeds max_array_len"):
        decode(packed({"v": 1, "t": "test.Tree", "b": {"label": "x", "children": [1, 2, 3, 4]}}))
    with pytest.raises(MalformedMessage, match=r"test\.Probe\.leaves: length must be <= 3 \(got 4\)"):
        encode(four)


def test_decode_refuses_a_type_other_than_the_expected_one() -> None:
    """With ``expected``, a valid message of another type raises MalformedMessage naming both types."""
    with pytest.raises(MalformedMessage, match=r"message type must be test\.Probe \(got test\.Leaf\)"):
        decode(LEAF_BYTES, Probe)


@pytest.mark.parametrize("data", ["text", None, 5, [1]])
def test_decode_refuses_what_is_not_bytes(data: object) -> None:
    """Only bytes-like input is decoded."""
    with pytest.raises(MalformedMessage, match="message must be bytes"):
        decode(data)  # type: ignore[arg-type]


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview])
def test_decode_accepts_any_bytes_like_input(wrap: Callable[[bytes], object]) -> None:
    """bytes, bytearray and memoryview decode alike."""
    assert decode(wrap(LEAF_BYTES)) == Leaf(1, None)  # type: ignore[arg-type]


# --- the registry ---------------------------------------------------------------------------------

@dataclass
class Mutable:
    x: int


class NotADataclass:
    x: int


@pytest.mark.parametrize(
    ("name", "cls", "pattern"),
    [
        ("test.Mutable", Mutable, "needs a frozen dataclass"),
        ("test.NotADataclass", NotADataclass, "needs a frozen dataclass"),
        ("test.Leaf", dataclasses.make_dataclass("Leaf", [("count", int)], frozen=True), "already taken"),
    ],
)
def test_message_decorator_refuses_what_it_cannot_register(name: str, cls: type, pattern: str) -> None:
    """@message needs a frozen dataclass and a name no other class holds."""
    with pytest.raises(WireError, match=pattern):
        message(name)(cls)
    assert registered_messages().get("test.Leaf") is Leaf


@pytest.mark.parametrize("name", ["", 5, None])
def test_message_decorator_refuses_a_bad_name(name: object) -> None:
    """A message type name is a non-empty str."""
    with pytest.raises(WireError, match="must be a non-empty str"):
        message(name)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("annotation", "pattern"),
    [
        (list[int], "annotation must be"),
        (set[str], "annotation must be"),
        (dict[int, str], "annotation must be"),
        (tuple[int, str], "annotation must be"),
        (object, "annotation must be"),
        (Leaf | dict[str, int], "union members must differ in wire kind"),
    ],
)
def test_unsupported_annotations_are_refused_on_first_use(annotation: object, pattern: str) -> None:
    """A field annotation outside the supported kinds raises WireError naming the field when first used."""
    cls = dataclasses.make_dataclass("Odd", [("field", annotation)], frozen=True)
    message(f"test.odd.{annotation!r}")(cls)
    with pytest.raises(WireError, match=rf"Odd\.field: {pattern}"):
        encode(cls(None))


def test_registry_names_the_roles_messages() -> None:
    """Every message the roles exchange is registered under its class name."""
    names = registered_messages()
    for name in ("TaskManifest", "TaskResult", "Question", "Study", "Answer", "Profile"):
        assert message_type_name(names[name]) == name
    assert names["TaskManifest"] is TaskManifest


# --- property ------------------------------------------------------------------------------------

scalars = st.one_of(st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), st.text(), st.booleans())
leaves = st.builds(Leaf, count=st.integers(-(2**63), 2**64 - 1), note=st.none() | st.text())
probes = st.builds(
    Probe,
    number=st.integers(-(2**63), 2**64 - 1),
    ratio=st.floats(allow_nan=False),
    text=st.text(),
    blob=st.binary(),
    flag=st.booleans(),
    maybe=st.none() | st.integers(-(2**63), 2**63 - 1),
    leaves=st.lists(leaves, max_size=4).map(tuple),
    table=st.dictionaries(st.text(), st.binary(), max_size=4),
    colour=st.sampled_from(Colour),
    params=st.dictionaries(st.text(), scalars | st.lists(scalars, max_size=4).map(tuple), max_size=4),
    child=st.none() | leaves,
)


@given(probes)
def test_any_probe_round_trips_to_an_equal_message_and_equal_bytes(probe: Probe) -> None:
    """decode(encode(m)) == m for every value of every annotation kind, and re-encoding gives the same bytes."""
    data = encode(probe)
    decoded = decode(data, Probe)
    assert decoded == probe
    assert encode(decoded) == data
