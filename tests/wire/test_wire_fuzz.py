"""Fuzz: whatever bytes arrive, decode returns a valid message or raises one of the project's WireErrors."""
from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator

import msgpack

from cipherquorum.exceptions import MalformedMessage, UnknownMessageType, UnsupportedVersion, WireError
from cipherquorum.wire import decode, encode, registered_messages

RANDOM_INPUTS = 10_000
MUTATIONS_PER_MESSAGE = 1_500
FIELD_SWAPS_PER_MESSAGE = 500
ENVELOPE_PREFIX = b"\x83\xa1v\x01\xa1t"  # {"v": 1, "t": ... as the encoder writes it

MARKER_BYTES = [0x00, 0x7F, 0x80, 0x90, 0xA0, 0xC0, 0xC1, 0xC3, 0xCC, 0xD4, 0xDD, 0xFF]  # msgpack type markers
EDGE_INTS = [0, 1, -1, 31, 32, 127, 128, 255, 256, 2**31, 2**63 - 1, -(2**63), 2**64 - 1]


def random_bytes(rng: random.Random) -> bytes:
    """Random bytes: mostly short, some long, some opening like a real envelope."""
    length = rng.choice([rng.randint(0, 8), rng.randint(0, 64), rng.randint(0, 1024)])
    data = rng.randbytes(length)
    return ENVELOPE_PREFIX + data if rng.random() < 0.3 else data


def random_value(rng: random.Random, depth: int = 0) -> object:
    """A random msgpack-packable value of any kind, nested up to four levels."""
    kind = rng.randrange(10 if depth < 4 else 7)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.choice(EDGE_INTS + [rng.randint(-1000, 1000)])
    if kind == 3:
        return rng.choice([0.0, -0.0, 1.5, float("nan"), float("inf"), rng.uniform(-1e9, 1e9)])
    if kind == 4:
        return "".join(rng.choice("az09@/_ é漢\x00") for _ in range(rng.randint(0, 70)))
    if kind == 5:
        return rng.randbytes(rng.choice([0, 1, 31, 32, 33, rng.randint(0, 100)]))
    if kind == 6:
        if rng.random() < 0.2:
            return msgpack.Timestamp(rng.randint(0, 2**34), rng.randint(0, 999_999_999))
        return msgpack.ExtType(rng.randint(0, 127), rng.randbytes(rng.randint(0, 9)))
    if kind == 7:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if kind == 8:
        return {random_key(rng): random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return {rng.choice([1, b"k", 2.5]): random_value(rng, depth + 1)}  # keys msgpack allows but we refuse


def random_key(rng: random.Random) -> str:
    return rng.choice(["v", "t", "b", "program", "status", "params", "questions", "x", ""])


def mutate(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    """One random edit of an encoded message: flip bits, overwrite, cut, insert, delete, repeat or splice."""
    buf = bytearray(data)
    edit = rng.randrange(7)
    at = rng.randrange(len(buf) + 1)
    if edit == 0:
        for _ in range(rng.randint(1, 3)):
            index = rng.randrange(len(buf))
            buf[index] ^= 1 << rng.randrange(8)
    elif edit == 1:
        buf[min(at, len(buf) - 1)] = rng.choice(MARKER_BYTES)
    elif edit == 2:
        del buf[at:]
    elif edit == 3:
        buf[at:at] = rng.randbytes(rng.randint(1, 8))
    elif edit == 4:
        del buf[at:at + rng.randint(1, 16)]
    elif edit == 5:
        buf[at:at] = buf[at:at + rng.randint(1, 32)]
    else:
        other = rng.choice(others)
        buf[at:] = other[rng.randrange(len(other)):]
    return bytes(buf)


def swap_a_field(rng: random.Random, data: bytes) -> bytes:
    """Replace one value somewhere inside the message body by a random value, keeping the envelope valid."""
    envelope = msgpack.unpackb(data)
    container: dict | list = envelope["b"]
    while True:
        keys = list(container) if isinstance(container, dict) else list(range(len(container)))
        if not keys:
            break
        key = rng.choice(keys)
        inner = container[key]  # type: ignore[index]
        if isinstance(inner, (dict, list)) and inner and rng.random() < 0.6:
            container = inner
            continue
        container[key] = random_value(rng)  # type: ignore[index]
        break
    return msgpack.packb(envelope, use_bin_type=True)


def fuzz_inputs(sample_messages: dict[str, object]) -> Iterator[tuple[str, bytes]]:
    """Every fuzz input, tagged with how it was made; seeded, so a failure reproduces."""
    rng = random.Random(1_000_003)
    valid = [encode(message) for message in sample_messages.values()]
    for _ in range(RANDOM_INPUTS):
        yield "random bytes", random_bytes(rng)
    for data in valid:
        for _ in range(MUTATIONS_PER_MESSAGE):
            yield "mutated message", mutate(rng, data, valid)
        for _ in range(FIELD_SWAPS_PER_MESSAGE):
            yield "swapped field", swap_a_field(rng, data)
    names = sorted(sample_messages)
    for _ in range(1_000):
        envelope = {"v": rng.choice([1, 1, 1, 2, -1, "1"]), "t": rng.choice(names + ["Nope"]), "b": random_value(rng)}
        yield "random body", msgpack.packb(envelope, use_bin_type=True)


def decode_outcome(data: bytes, failures: list[str], tag: str) -> str:
    """Decode ``data``; return the outcome's name, recording any escape that is not a WireError."""
    try:
        decoded = decode(data)
    except WireError as exc:
        return type(exc).__name__ + (" (field)" if ": expected " in str(exc) else "")
    except BaseException as exc:  # the property under test: nothing else may escape
        failures.append(f"{tag}: {type(exc).__name__}: {exc} <- {data.hex()}")
        return "escaped"
    if type(decoded) not in registered_messages().values():
        failures.append(f"{tag}: decoded to unregistered {type(decoded).__name__} <- {data.hex()}")
    reencoded = encode(decoded)
    if encode(decode(reencoded)) != reencoded:
        failures.append(f"{tag}: decoded message does not re-encode stably <- {data.hex()}")
    return "decoded"


def test_decoder_only_ever_raises_wire_errors(sample_messages: dict[str, object]) -> None:
    """10,000 random byte strings plus 12,000 edited and 1,000 invented messages: each decodes or raises a WireError."""
    failures: list[str] = []
    outcomes: Counter[tuple[str, str]] = Counter()
    for tag, data in fuzz_inputs(sample_messages):
        outcomes[tag, decode_outcome(data, failures, tag)] += 1
    assert failures == [], f"{len(failures)} inputs broke the decoder, first: {failures[:3]}"

    by_tag = Counter(tag for tag, _ in outcomes.elements())
    assert by_tag["random bytes"] == RANDOM_INPUTS
    seen = {outcome for _, outcome in outcomes}
    # The fuzz must reach every layer of the decoder, or it proves little.
    assert {MalformedMessage.__name__, "MalformedMessage (field)", UnsupportedVersion.__name__,
            UnknownMessageType.__name__, "decoded"} <= seen, seen
    print("\n".join(f"{tag:>16} {outcome:<26} {count}" for (tag, outcome), count in sorted(outcomes.items())))

