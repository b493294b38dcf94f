"""Key needs, key bundles, the secret key owner and the public-key encryptor."""
from __future__ import annotations

import dataclasses
import math
import pickle

import numpy as np
import pytest

from cipherquorum.exceptions import FheError, KeyBundleError, UnknownPreset, ValidationError
from cipherquorum.fhe import Encryptor, Evaluator, KeyBundle, KeyNeeds, SecretKeyOwner, execute, get_preset


def test_key_needs_are_normalized_and_merged() -> None:
    """Rotation steps are sorted and distinct; the union of needs asks for everything any program asks for."""
    assert KeyNeeds(rotation_steps=(4, 1, 4, -2)).rotation_steps == (-2, 1, 4)
    merged = KeyNeeds.union([KeyNeeds(rotation_steps=(1, 2)), KeyNeeds(relin=True, rotation_steps=(2, -3))])
    assert merged == KeyNeeds(relin=True, rotation_steps=(-3, 1, 2))
    assert KeyNeeds(relin=True, rotation_steps=(1, 8)).missing_from(KeyNeeds(rotation_steps=(1,))) == KeyNeeds(
        relin=True, rotation_steps=(8,)
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"rotation_steps": (0,)}, '"rotation_steps" must hold non-zero ints (got 0)'),
        ({"rotation_steps": (1.0,)}, '"rotation_steps" must hold non-zero ints (got 1.0)'),
        ({"rotation_steps": 3}, '"rotation_steps" must be a tuple of ints'),
        ({"relin": 1}, '"relin" must be a bool'),
    ],
)
def test_invalid_key_needs_are_rejected(fields: dict, message: str) -> None:
    """KeyNeeds refuses zero or non-int steps and a non-bool relin flag."""
    with pytest.raises(ValidationError) as caught:
        KeyNeeds(**fields)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("preset", "needs", "message"),
    [
        ("bfv-2048", KeyNeeds(relin=True), "preset 'bfv-2048' has one prime and cannot hold relinearization"),
        ("bfv-2048", KeyNeeds(rotation_steps=(1,)), "cannot hold relinearization or rotation keys"),
        ("ckks-8192", KeyNeeds(rotation_steps=(4096,)), "rotation step must be < 4096 in size"),
    ],
)
def test_generate_refuses_keys_the_preset_cannot_hold(preset: str, needs: KeyNeeds, message: str) -> None:
    """Asking for evaluation keys a preset cannot hold raises ValidationError naming the preset and keys."""
    with pytest.raises(ValidationError) as caught:
        SecretKeyOwner.generate(preset, needs)
    assert message in str(caught.value)


def test_bundle_round_trips_and_holds_only_the_asked_rotation_keys(keys) -> None:
    """A bundle survives to_bytes/from_bytes unchanged; its rotation key covers exactly the asked steps and
    grows with them (all rotation keys together would be tens of MB)."""
    for preset_keys in keys.values():
        bundle = preset_keys.owner.bundle
        assert KeyBundle.from_bytes(bundle.to_bytes()) == bundle
    one = SecretKeyOwner.generate("ckks-8192", KeyNeeds(rotation_steps=(1,))).bundle
    two = SecretKeyOwner.generate("ckks-8192", KeyNeeds(rotation_steps=(1, 2))).bundle
    assert one.rotation_steps == (1,) and one.relin_key is None
    assert 1.8 < two.part_sizes()["rotation_key"] / one.part_sizes()["rotation_key"] < 2.2


def test_secret_key_never_appears_in_bundle_bytes(keys) -> None:
    """No part of the serialized secret key's coefficients occurs in the bundle's bytes."""
    for preset_keys in keys.values():
        secret = preset_keys.owner.secret_key_bytes()
        bundle_bytes = preset_keys.owner.bundle.to_bytes()
        coefficients = secret[-8 * 1024:]
        assert coefficients not in bundle_bytes
        assert all(coefficients[i:i + 256] not in bundle_bytes for i in range(0, len(coefficients), 256))


def test_owner_restored_from_its_secret_decrypts_earlier_ciphertexts(keys) -> None:
    """from_secret(bundle, secret_key_bytes()) gives an owner that decrypts what the first one encrypted."""
    for preset_keys in keys.values():
        owner = preset_keys.owner
        ct = owner.encrypt([3, 1, 4])
        restored = SecretKeyOwner.from_secret(owner.bundle, owner.secret_key_bytes())
        got = restored.decrypt(ct, 3)
        assert all(math.isclose(g, e, abs_tol=1e-6) for g, e in zip(got, [3, 1, 4]))


def test_secret_of_another_owner_is_refused(keys, stranger) -> None:
    """A secret key that does not match the bundle's public key raises KeyBundleError."""
    with pytest.raises(KeyBundleError, match="secret key does not belong to the bundle's public key"):
        SecretKeyOwner.from_secret(keys["bfv-8192"].owner.bundle, stranger.secret_key_bytes())


def test_garbage_secret_is_refused(keys) -> None:
    """Secret key bytes that do not parse raise KeyBundleError."""
    with pytest.raises(KeyBundleError, match="secret key does not parse"):
        SecretKeyOwner.from_secret(keys["bfv-2048"].owner.bundle, b"\x5e\xa1" + b"\x00" * 30)


@pytest.mark.parametrize(
    "data", [b"", b"\xc1", b"\x83\xa1v\x01\xa1t\xaaCiphertext\xa1b\x80"], ids=["empty", "not msgpack", "other type"]
)
def test_undecodable_bundle_bytes_raise_key_bundle_error(data: bytes) -> None:
    """Bytes that are not a KeyBundle message raise KeyBundleError naming the wire problem."""
    with pytest.raises(KeyBundleError, match="bytes are not a key bundle"):
        KeyBundle.from_bytes(data)


def test_bundle_fields_must_agree(keys) -> None:
    """A bundle with rotation steps but no rotation key, or an unknown preset, is refused when built."""
    bundle = keys["bfv-8192"].owner.bundle
    with pytest.raises(ValidationError, match="a rotation key must come with its steps"):
        dataclasses.replace(bundle, rotation_key=None)
    with pytest.raises(UnknownPreset, match=r"No FHE preset is named 'bfv-4096' \(known: bfv-2048, bfv-8192, "):
        dataclasses.replace(bundle, preset="bfv-4096")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("context of another preset", "context must match preset 'bfv-8192'"),
        ("garbage context", "context bytes do not parse"),
        ("public key of another preset", "public key does not parse under the context"),
        ("truncated relin key", "relin key does not parse under the context"),
    ],
)
def test_bundle_that_does_not_load_raises_key_bundle_error(change: str, message: str, keys) -> None:
    """Evaluator.from_bundle checks every part against the context and the preset."""
    bundle = keys["bfv-8192"].owner.bundle
    other = keys["bfv-2048"].owner.bundle
    broken = {
        "context of another preset": lambda: dataclasses.replace(bundle, context=other.context),
        "garbage context": lambda: dataclasses.replace(bundle, context=b"\x01" * 40),
        "public key of another preset": lambda: dataclasses.replace(bundle, public_key=other.public_key),
        "truncated relin key": lambda: dataclasses.replace(bundle, relin_key=(bundle.relin_key or b"")[:-100]),
    }[change]()
    with pytest.raises(KeyBundleError) as caught:
        Evaluator.from_bundle(broken)
    assert message in str(caught.value)


def test_encryptor_from_bundle_encrypts_for_the_owner(keys) -> None:
    """An Encryptor built once from the public bundle encrypts many vectors the owner decrypts."""
    owner = keys["bfv-2048"].owner
    encryptor = Encryptor.from_bundle(KeyBundle.from_bytes(owner.bundle.to_bytes()))
    cts = [encryptor.encrypt([n, -n]) for n in range(50)]
    assert [owner.decrypt(ct, 2) for ct in cts] == [[n, -n] for n in range(50)]
    assert len({ct.data for ct in cts}) == 50


@pytest.mark.parametrize(
    ("preset", "values", "message"),
    [
        ("bfv-2048", [], "values must number 1..2048 (got 0)"),
        ("bfv-2048", [0] * 2049, "values must number 1..2048 (got 2049)"),
        ("bfv-2048", [3670017], "values[0] must be in [-3670016, 3670016] (got 3670017)"),
        ("bfv-2048", [1, 2.5], "values[1] must be an int (got float 2.5)"),
        ("bfv-2048", [True], "values[0] must be an int (got bool True)"),
        ("ckks-8192", [float("nan")], "values[0] must be finite"),
        ("ckks-8192", [2.0**20], "values[0] must be finite with |value| <= 524288"),
        ("ckks-8192", ["1"], "values[0] must be a real number (got str '1')"),
        ("ckks-8192", np.array([1.0, np.inf]), "values[1] must be finite"),
        ("ckks-8192", np.array([0.5, -(2.0**20)]), "values[1] must be finite with |value| <= 524288"),
        ("ckks-8192", np.array([True]), "values[0] must be a real number (got bool"),
        ("bfv-2048", np.array([0, 3670017]), "values[1] must be in [-3670016, 3670016] (got 3670017)"),
    ],
)
def test_encrypt_rejects_values_the_preset_cannot_hold(preset: str, values: list, message: str, keys) -> None:
    """Encryption refuses vectors of the wrong length, type or size instead of silently wrapping them."""
    with pytest.raises(ValidationError) as caught:
        keys[preset].owner.encrypt(values)
    assert message in str(caught.value)


@pytest.mark.parametrize(("length", "ok"), [(None, True), (1, True), (4096, True), (0, False), (4097, False)])
def test_decrypt_length_must_fit_the_slots(length, ok: bool, keys) -> None:
    """decrypt returns the first ``length`` slots (all when None) and refuses lengths outside 1..slots."""
    owner = keys["ckks-8192"].owner
    ct = owner.encrypt([1.0])
    if ok:
        assert len(owner.decrypt(ct, length)) == (length or get_preset("ckks-8192").slots)
    else:
        with pytest.raises(ValidationError, match=r'"length" must be in \[1, 4096\]'):
            owner.decrypt(ct, length)


def test_encryptor_and_evaluator_pickle_as_their_bundle(keys) -> None:
    """Pickled (as Ray does between processes), an Encryptor and an Evaluator are rebuilt from their bundle
    and keep working: the copy's results are byte-identical to the original's."""
    preset_keys = keys["bfv-8192"]
    encryptor = pickle.loads(pickle.dumps(Encryptor.from_bundle(preset_keys.owner.bundle)))
    evaluator = pickle.loads(pickle.dumps(preset_keys.evaluator))
    inputs = [encryptor.encrypt([4, 5]).to_bytes()]
    ours = execute("variance@1", preset_keys.evaluator, inputs, {}, time_limit_s=30)
    theirs = execute("variance@1", evaluator, inputs, {}, time_limit_s=30)
    assert ours.result_hash == theirs.result_hash
    assert preset_keys.owner.decrypt(theirs.outputs[1], 2) == [16, 25]


def test_owner_refuses_to_be_pickled(keys) -> None:
    """Pickling a SecretKeyOwner raises FheError pointing at the deliberate way to move a secret."""
    with pytest.raises(FheError, match="secret_key_bytes"):
        pickle.dumps(keys["bfv-2048"].owner)


def test_noise_budget_shrinks_with_work_and_is_bfv_only(keys) -> None:
    """The owner reports a BFV ciphertext's remaining noise budget, smaller after a multiplication; CKKS has none."""
    preset_keys = keys["bfv-8192"]
    fresh = preset_keys.owner.encrypt([3])
    (squares,) = execute("variance@1", preset_keys.evaluator, [fresh.to_bytes()], {}, 30).outputs[1:]
    assert 0 < preset_keys.owner.noise_budget_bits(squares) < preset_keys.owner.noise_budget_bits(fresh)
    with pytest.raises(ValidationError, match="noise budget is defined for bfv"):
        keys["ckks-8192"].owner.noise_budget_bits(keys["ckks-8192"].owner.encrypt([1.0]))
