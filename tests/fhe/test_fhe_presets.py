"""FHE parameter presets: their rules, their lookup, and the bfv-2048 budget for a 10,000-respondent study."""
from __future__ import annotations

import dataclasses

import pytest

from cipherquorum.exceptions import UnknownPreset, ValidationError
from cipherquorum.fhe import PRESETS, Encryptor, execute, get_preset
from cipherquorum.types import ExecStatus

STUDY_SIZE = 10_000


def test_presets_name_their_scheme_and_slots() -> None:
    """Scenarios can name bfv-2048, bfv-8192 and ckks-8192 (among others); BFV batches n slots, CKKS n/2."""
    assert {name: (PRESETS[name].scheme, PRESETS[name].slots) for name in ("bfv-2048", "bfv-8192", "ckks-8192")} == {
        "bfv-2048": ("bfv", 2048),
        "bfv-8192": ("bfv", 8192),
        "ckks-8192": ("ckks", 4096),
    }
    assert all(p.slots == (p.n if p.scheme == "bfv" else p.n // 2) for p in PRESETS.values())
    assert get_preset("bfv-2048").plain_bound == 3_670_016
    assert not get_preset("bfv-2048").supports_key_switching


def test_unknown_preset_lists_the_known_names() -> None:
    """get_preset raises UnknownPreset naming the preset and listing the known ones."""
    known = f"known: {', '.join(sorted(PRESETS))}"
    with pytest.raises(UnknownPreset, match=f"No FHE preset is named 'bfv-4096' \\({known}\\)"):
        get_preset("bfv-4096")


@pytest.mark.parametrize(
    ("base", "fields", "message"),
    [
        ("bfv-8192", {"scheme": "bgv"}, '"scheme" must be "bfv" or "ckks"'),
        ("bfv-8192", {"sec": 100}, '"sec" must be one of [128, 192, 256]'),
        ("bfv-8192", {"n": 3000}, '"n" must be one of'),
        ("bfv-8192", {"qi_sizes": (60, 60, 60, 60)}, '"qi_sizes" must total <= 218 bits for n=8192 at sec=128'),
        ("bfv-8192", {"sec": 192}, '"qi_sizes" must total <= 152 bits'),
        ("bfv-8192", {"qi_sizes": (61, 60)}, '"qi_sizes" must be primes of 20..60 bits'),
        ("bfv-8192", {"plain_modulus": 40961}, '"plain_modulus" must be a prime = 1 mod 2n=16384'),
        ("bfv-8192", {"plain_modulus": 16385 * 3}, '"plain_modulus" must be a prime'),
        ("bfv-8192", {"scale_bits": 40}, '"scale_bits" must be None for bfv'),
        ("ckks-8192", {"scale_bits": 60}, '"scale_bits" must be in [20, 60)'),
        ("ckks-8192", {"plain_modulus": 65537}, '"plain_modulus" must be None for ckks'),
        ("ckks-8192", {"qi_sizes": (60, 60)}, '"qi_sizes" must hold >= 3 primes for ckks'),
    ],
)
def test_inconsistent_presets_are_rejected(base: str, fields: dict, message: str) -> None:
    """A preset whose fields contradict each other or the security bound is refused, naming the field."""
    with pytest.raises(ValidationError) as caught:
        dataclasses.replace(PRESETS[base], **fields)
    assert message in str(caught.value)


@pytest.fixture(scope="module")
def study_encryptor(keys) -> Encryptor:
    """An encryptor under the bfv-2048 study key, as a respondent uses it."""
    return Encryptor.from_bundle(keys["bfv-2048"].owner.bundle)


@pytest.mark.slow
def test_bfv_2048_sums_a_10000_respondent_study_at_the_top_of_its_range(keys, study_encryptor) -> None:
    """Summing 10,000 independent bfv-2048 ciphertexts decrypts exactly, up to the plain bound."""
    owner = keys["bfv-2048"].owner
    per_respondent = get_preset("bfv-2048").plain_bound // STUDY_SIZE
    inputs = [study_encryptor.encrypt([per_respondent, -per_respondent, 1]).to_bytes() for _ in range(STUDY_SIZE)]
    outcome = execute("mean@1", owner.bundle, inputs, {"width": 3}, time_limit_s=120)
    assert outcome.status == ExecStatus.SUCCESS, outcome.detail
    total = per_respondent * STUDY_SIZE
    assert owner.decrypt(outcome.outputs[0], 4) == [total, -total, STUDY_SIZE, STUDY_SIZE]


def test_bfv_2048_survives_the_worst_case_noise_of_one_ciphertext_added_10000_times(keys, study_encryptor) -> None:
    """The same ciphertext added 10,000 times (noise growing linearly, not as a random walk) still decrypts."""
    owner = keys["bfv-2048"].owner
    one = study_encryptor.encrypt([367, -1]).to_bytes()
    outcome = execute("sum@1", owner.bundle, [one] * STUDY_SIZE, {"width": 2}, time_limit_s=120)
    assert owner.decrypt(outcome.outputs[0], 2) == [367 * STUDY_SIZE, -STUDY_SIZE]
