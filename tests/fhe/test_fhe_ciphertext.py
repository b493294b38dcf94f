"""The ciphertext envelope: wire round trip, checks against a bundle's parameters, level/scale, result hash."""
from __future__ import annotations

import dataclasses

import pytest
from eth_hash.auto import keccak

from cipherquorum.exceptions import CiphertextError, UnknownPreset
from cipherquorum.fhe import Ciphertext, Deadline, check_ciphertext, get_program, result_hash


def test_envelope_round_trips_through_the_wire_codec(keys) -> None:
    """to_bytes/from_bytes give back an equal envelope, with the canonical SEAL bytes untouched."""
    for name, preset_keys in keys.items():
        ct = preset_keys.owner.encrypt([1, 2, 3])
        back = Ciphertext.from_bytes(ct.to_bytes())
        assert back == ct and back.preset == name and back.level == 0


def test_fresh_envelopes_carry_scheme_and_scale(keys) -> None:
    """A BFV envelope has no scale; a CKKS one carries the preset's scale."""
    bfv = keys["bfv-8192"].owner.encrypt([1])
    ckks = keys["ckks-8192"].owner.encrypt([1.5])
    assert (bfv.scheme, bfv.scale_bits) == ("bfv", None)
    assert (ckks.scheme, ckks.scale_bits) == ("ckks", 40)


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00", b"\x93\x01\x02\x03", b"\x83\xa1v\x01\xa1t\xa9Something\xa1b\x80"],
    ids=["empty", "one byte", "msgpack array", "unknown type"],
)
def test_undecodable_envelope_bytes_raise_ciphertext_error(data: bytes) -> None:
    """Bytes that are not a Ciphertext message raise CiphertextError naming the wire problem."""
    with pytest.raises(CiphertextError, match="bytes are not a ciphertext envelope"):
        Ciphertext.from_bytes(data)


def test_another_message_type_is_not_a_ciphertext(keys) -> None:
    """A key bundle's bytes are rejected as a ciphertext envelope."""
    with pytest.raises(CiphertextError, match="message type must be Ciphertext"):
        Ciphertext.from_bytes(keys["bfv-2048"].owner.bundle.to_bytes())


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"scheme": "ckks"}, CiphertextError, "\"scheme\" must be 'bfv' for preset 'bfv-8192'"),
        ({"level": -1}, CiphertextError, '"level" must be in [0, 1]'),
        ({"level": 2}, CiphertextError, '"level" must be in [0, 1]'),
        ({"scale_bits": 40}, CiphertextError, '"scale_bits" must be set for ckks and None for bfv'),
        ({"data": b""}, CiphertextError, '"data" must be non-empty bytes'),
        ({"preset": "bfv-1"}, UnknownPreset, "No FHE preset is named 'bfv-1'"),
    ],
)
def test_inconsistent_envelope_fields_are_rejected(fields: dict, error: type, message: str) -> None:
    """An envelope whose fields contradict its preset is rejected when built."""
    base = {"scheme": "bfv", "preset": "bfv-8192", "level": 0, "scale_bits": None, "data": b"\x5e\xa1"}
    with pytest.raises(error) as caught:
        Ciphertext(**{**base, **fields})
    assert message in str(caught.value)


def _tamper(ct: Ciphertext, how: str) -> Ciphertext:
    data = ct.data
    if how == "truncated":
        return dataclasses.replace(ct, data=data[:-1])
    if how == "trailing byte":
        return dataclasses.replace(ct, data=data + b"\x00")
    if how == "garbage":
        return dataclasses.replace(ct, data=b"\x17" * len(data))
    if how == "bad magic":
        return dataclasses.replace(ct, data=b"\x00\x00" + data[2:])
    if how == "coefficient out of range":
        return dataclasses.replace(ct, data=data[:-8] + b"\xff" * 8)
    if how == "wrong level":
        return dataclasses.replace(ct, level=1)
    if how == "wrong scale":
        return dataclasses.replace(ct, scale_bits=30)
    raise AssertionError(how)


@pytest.mark.parametrize(
    ("preset", "how", "message"),
    [
        ("bfv-2048", "truncated", "ciphertext header says 32881 bytes (got 32880)"),
        ("bfv-2048", "trailing byte", "ciphertext header says 32881 bytes (got 32882)"),
        ("bfv-2048", "garbage", "must start with a SEAL header"),
        ("bfv-8192", "bad magic", "must start with a SEAL header"),
        ("bfv-8192", "coefficient out of range", "bytes are not a ciphertext of this context"),
        ("ckks-8192", "wrong level", "level must match its bytes (envelope level=1, bytes 0)"),
        ("ckks-8192", "wrong scale", "scale must match its bytes (envelope scale_bits=30, bytes 40)"),
    ],
)
def test_tampered_ciphertext_fails_the_check(preset: str, how: str, message: str, keys) -> None:
    """check_ciphertext raises CiphertextError naming the problem, against the bundle and the evaluator."""
    bad = _tamper(keys[preset].owner.encrypt([1]), how)
    for target in (keys[preset].owner.bundle, keys[preset].evaluator):
        with pytest.raises(CiphertextError) as caught:
            check_ciphertext(bad, target)
        assert message in str(caught.value)


@pytest.mark.parametrize(
    ("source", "target", "relabelled_message"),
    [
        ("bfv-2048", "bfv-8192", "ciphertext degree must be n=8192 (got 2048)"),
        ("ckks-8192", "bfv-8192", "ciphertext must carry 1..2 moduli for preset 'bfv-8192' (got 3)"),
        ("bfv-8192", "bfv-2048", "ciphertext degree must be n=2048 (got 8192)"),
    ],
)
def test_ciphertext_of_other_parameters_fails_the_check(source: str, target: str, relabelled_message: str,
                                                        keys) -> None:
    """A ciphertext made under another preset is rejected, also when its envelope is relabelled."""
    ct = keys[source].owner.encrypt([1])
    with pytest.raises(CiphertextError, match=f"must belong to preset '{target}'"):
        check_ciphertext(ct, keys[target].owner.bundle)
    relabelled = Ciphertext("bfv", target, 0, None, ct.data)
    with pytest.raises(CiphertextError) as caught:
        check_ciphertext(relabelled, keys[target].evaluator)
    assert relabelled_message in str(caught.value)


def test_same_parameters_under_other_keys_cannot_be_told_apart(keys, stranger) -> None:
    """A ciphertext under another owner's keys of the same preset passes the check: parameters match (it
    decrypts to noise for the bundle's owner; only the parameters can be checked without the secret)."""
    check_ciphertext(stranger.encrypt([1]), keys["bfv-8192"].owner.bundle)


def test_result_level_and_scale_survive_the_envelope(keys) -> None:
    """A CKKS result two rescales down keeps level 2 and scale 2**40 in its envelope and reloads for decryption."""
    preset_keys = keys["ckks-8192"]
    params = {"weights": (0.5, -1.0), "bias": (0.25,)}
    (result,) = get_program("linear_square@1").run(
        preset_keys.evaluator, [preset_keys.owner.encrypt([1.0, 0.5])], params, Deadline(30)
    )
    back = Ciphertext.from_bytes(result.to_bytes())
    assert (back.level, back.scale_bits) == (2, 40)
    check_ciphertext(back, preset_keys.owner.bundle)
    assert preset_keys.owner.decrypt(back, 1) == [pytest.approx(0.0625, abs=1e-4)]


def test_result_hash_is_keccak_of_length_prefixed_canonical_bytes(keys) -> None:
    """result_hash = keccak256(len(data_0) as 8 bytes big-endian || data_0 || ...), in order."""
    owner = keys["bfv-2048"].owner
    first, second = owner.encrypt([1]), owner.encrypt([2])
    expected = keccak(
        len(first.data).to_bytes(8, "big") + first.data + len(second.data).to_bytes(8, "big") + second.data
    )
    assert result_hash([first, second]) == expected
    assert result_hash([second, first]) != expected
    assert result_hash([]) == keccak(b"")
