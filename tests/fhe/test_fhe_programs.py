"""Every FHE program against its plaintext reference, its determinism across evaluators, and the registry."""
from __future__ import annotations

import math

import pytest
from eth_hash.auto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cipherquorum.exceptions import UnknownProgram, ValidationError
from cipherquorum.fhe import PRESETS, Deadline, get_program, list_programs, program_by_id, program_id, result_hash

from .conftest import MAX_FEATURES, MAX_LAYER_DIM, TEST_NEEDS

SMALL_INT = st.integers(min_value=-1000, max_value=1000)
UNIT = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)


@st.composite
def sum_case(draw: st.DrawFn) -> tuple[list, dict]:
    width = draw(st.integers(1, 4))
    rows = draw(st.lists(st.lists(SMALL_INT, min_size=width, max_size=width), min_size=1, max_size=6))
    return rows, {"width": width}


@st.composite
def histogram_case(draw: st.DrawFn) -> tuple[list, dict]:
    bins = draw(st.integers(1, 8))
    picks = draw(st.lists(st.integers(0, bins - 1), min_size=1, max_size=8))
    return [[int(j == pick) for j in range(bins)] for pick in picks], {"bins": bins}


@st.composite
def weighted_score_case(draw: st.DrawFn) -> tuple[list, dict]:
    weights = draw(st.lists(SMALL_INT, min_size=1, max_size=MAX_FEATURES).filter(any))
    rows = draw(st.lists(st.lists(SMALL_INT, min_size=len(weights), max_size=len(weights)), min_size=1, max_size=3))
    return rows, {"weights": tuple(weights)}


@st.composite
def pin_case(draw: st.DrawFn) -> tuple[list, dict]:
    a = draw(st.integers(-511, 511).filter(bool))
    b = draw(st.integers(-(2**20), 2**20))
    return [[draw(st.integers(0, 999_999))]], {"a": a, "b": b}


@st.composite
def linear_square_case(draw: st.DrawFn) -> tuple[list, dict]:
    m, d = draw(st.integers(1, MAX_LAYER_DIM)), draw(st.integers(1, MAX_LAYER_DIM))
    weights = draw(st.lists(UNIT, min_size=m * d, max_size=m * d).filter(lambda ws: max(map(abs, ws)) > 1e-3))
    bias = draw(st.lists(UNIT, min_size=m, max_size=m))
    rows = draw(st.lists(st.lists(UNIT, min_size=d, max_size=d), min_size=1, max_size=2))
    return rows, {"weights": tuple(weights), "bias": tuple(bias)}


CASES = {
    "sum@1": sum_case(),
    "mean@1": sum_case(),
    "variance@1": sum_case(),
    "histogram@1": histogram_case(),
    "weighted_score@1": weighted_score_case(),
    "pin_challenge@1": pin_case(),
    "linear_square@1": linear_square_case(),
}

SAMPLES = {
    "sum@1": ([[3, -4], [5, 6], [-7, 8]], {"width": 2}),
    "mean@1": ([[3, -4], [5, 6], [-7, 8]], {"width": 2}),
    "variance@1": ([[3, -4], [5, 6], [-7, 8]], {"width": 2}),
    "histogram@1": ([[0, 1, 0], [1, 0, 0], [0, 1, 0]], {"bins": 3}),
    "weighted_score@1": ([[1, 2, 3], [-4, 5, -6]], {"weights": (7, -8, 9)}),
    "pin_challenge@1": ([[123456]], {"a": 37, "b": -1000}),
    "linear_square@1": ([[0.5, -0.25, 1.0]], {"weights": (0.1, 0.2, 0.3, -0.4, 0.5, -0.6), "bias": (0.05, -0.5)}),
}

PROGRAM_ON_PRESET = [(ref, name) for name, preset in PRESETS.items() for ref in preset.programs
                     if ref in CASES and name in TEST_NEEDS]
"""The core programs on the shared presets; a workflow's programs (inference, PSI, ...) have their own tests."""


def assert_matches(ref: str, got: list[list], expected: list[list]) -> None:
    program = get_program(ref)
    if program.abs_tolerance == 0:
        assert got == expected
        return
    assert len(got) == len(expected)
    for got_vector, expected_vector in zip(got, expected):
        for g, e in zip(got_vector, expected_vector, strict=True):
            assert math.isclose(g, e, abs_tol=program.abs_tolerance), (got_vector, expected_vector)


@pytest.mark.parametrize(("ref", "preset"), PROGRAM_ON_PRESET)
def test_program_result_decrypts_to_plaintext_reference(ref: str, preset: str, run_program) -> None:
    """For every program on every preset it runs on, decrypt(program(encrypt(x))) equals the reference on
    random inputs: exactly for BFV, within the program's stated tolerance for CKKS; decode agrees too."""
    program = get_program(ref)

    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(case=CASES[ref])
    def check(case: tuple[list, dict]) -> None:
        plain_inputs, params = case
        _outputs, decrypted = run_program(ref, preset, plain_inputs, params)
        assert_matches(ref, decrypted, program.reference(plain_inputs, params))
        if program.abs_tolerance == 0:
            assert program.decode(decrypted, params) == program.plain_result(plain_inputs, params)

    check()


@pytest.mark.parametrize(("ref", "preset"), PROGRAM_ON_PRESET)
def test_separately_loaded_evaluators_give_byte_identical_results(ref: str, preset: str, keys) -> None:
    """Two evaluators built from the same bundle bytes (separate Pyfhel objects) produce byte-identical
    results, and so the same result hash, on the same input ciphertexts."""
    plain_inputs, params = SAMPLES[ref]
    preset_keys = keys[preset]
    inputs = [preset_keys.owner.encrypt(vector) for vector in plain_inputs]
    program = get_program(ref)
    first = program.run(preset_keys.evaluator, inputs, params, Deadline(60))
    second = program.run(preset_keys.other_evaluator, inputs, params, Deadline(60))
    again = program.run(preset_keys.evaluator, inputs, params, Deadline(60))
    assert [ct.data for ct in first] == [ct.data for ct in second] == [ct.data for ct in again]
    assert result_hash(first) == result_hash(second)


@pytest.mark.parametrize("ref", sorted(SAMPLES))
def test_decode_of_reference_is_the_human_result(ref: str) -> None:
    """plain_result is decode applied to the reference, and it gives the documented human result."""
    plain_inputs, params = SAMPLES[ref]
    program = get_program(ref)
    expected = {
        "sum@1": [1, 10],
        "histogram@1": [1, 2, 0],
        "weighted_score@1": [7 - 16 + 27, -28 - 40 - 54],
        "pin_challenge@1": 37 * 123456 - 1000,
    }
    result = program.plain_result(plain_inputs, params)
    if ref in expected:
        assert result == expected[ref]
    elif ref == "mean@1":
        assert (result.count, result.sums, result.means) == (3, (1, 10), (1 / 3, 10 / 3))
    elif ref == "variance@1":
        assert result.count == 3 and result.sums_of_squares == (83, 116)
        assert result.variances == pytest.approx([83 / 3 - 1 / 9, 116 / 3 - 100 / 9])
    else:
        assert result == [pytest.approx([(0.05 - 0.05 + 0.3 + 0.05) ** 2, (-0.2 - 0.125 - 0.6 - 0.5) ** 2])]


@pytest.mark.parametrize(
    ("ref", "params", "n_inputs", "message"),
    [
        ("sum@1", {"width": 0}, 1, '"width" must be an int in [1, 1024]'),
        ("sum@1", {"bins": 3}, 1, "takes no parameter 'bins'"),
        ("sum@1", {}, 0, "needs >= 1 input"),
        ("mean@1", {"width": 1.5}, 1, '"width" must be an int'),
        ("variance@1", {"width": 1025}, 1, '"width" must be an int in [1, 1024]'),
        ("histogram@1", {}, 1, 'parameter "bins" is required'),
        ("histogram@1", {"bins": True}, 1, '"bins" must be an int'),
        ("weighted_score@1", {"weights": ()}, 1, '"weights" must be a list of 1..1024'),
        ("weighted_score@1", {"weights": (0, 0)}, 1, '"weights" must hold a non-zero value'),
        ("weighted_score@1", {"weights": (1.5,)}, 1, '"weights[0]" must be an int'),
        ("weighted_score@1", {}, 1, '"weights" must be a list'),
        ("pin_challenge@1", {"a": 0, "b": 1}, 1, '"a" must hold a non-zero value'),
        ("pin_challenge@1", {"a": 512, "b": 1}, 1, '"a" must be an int in [-511, 511]'),
        ("pin_challenge@1", {"a": 2}, 1, 'parameter "b" is required'),
        ("pin_challenge@1", {"a": 2, "b": 1}, 2, "needs exactly 1 input"),
        ("linear_square@1", {"weights": (1.0, 2.0, 3.0), "bias": (0.0, 0.0)}, 1, "m*d values"),
        ("linear_square@1", {"weights": (1.0, "x"), "bias": (0.0,)}, 1, '"weights[1]" must be a real number'),
        ("linear_square@1", {"weights": (0.0, 0.0), "bias": (1.0,)}, 1, '"weights" must hold a non-zero value'),
        ("linear_square@1", {"weights": (1.0,)}, 1, '"bias" must be a list'),
    ],
)
def test_invalid_params_are_rejected_naming_the_parameter(ref: str, params: dict, n_inputs: int, message: str) -> None:
    """validate_params raises ValidationError naming the parameter or input count that breaks a rule."""
    with pytest.raises(ValidationError) as caught:
        get_program(ref).validate_params(params, n_inputs)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("ref", "plain_inputs", "params", "message"),
    [
        ("sum@1", [[1, 2, 3]], {"width": 2}, "input 0 must hold <= 2 values"),
        ("weighted_score@1", [[1, 2, 3]], {"weights": (1, 2)}, "input 0 must hold <= 2 values"),
        ("pin_challenge@1", [[1_000_000]], {"a": 1, "b": 0}, "a PIN must be an int in [0, 999999]"),
        ("linear_square@1", [[1.0, 2.0]], {"weights": (1.0,), "bias": (0.0,)}, "input 0 must hold <= 1 values"),
    ],
)
def test_reference_rejects_inputs_outside_the_program_contract(ref: str, plain_inputs, params, message) -> None:
    """The reference refuses plaintexts the program does not define a result for, naming the input."""
    with pytest.raises(ValidationError) as caught:
        get_program(ref).reference(plain_inputs, params)
    assert message in str(caught.value)


def test_key_needs_list_only_the_rotations_a_program_uses() -> None:
    """Programs ask for just the rotation steps their params need (a bundle then carries only those keys)."""
    assert get_program("sum@1").key_needs({}).is_empty()
    assert get_program("variance@1").key_needs({}).relin
    assert get_program("weighted_score@1").key_needs({"weights": (1,) * 5}).rotation_steps == (1, 2, 4)
    assert get_program("weighted_score@1").key_needs({"weights": (1,)}).rotation_steps == ()
    layer = {"weights": (1.0,) * 12, "bias": (0.0,) * 3}
    assert get_program("linear_square@1").key_needs(layer).rotation_steps == (-4, 1)
    assert get_program("linear_square@1").key_needs({"weights": (1.0,), "bias": (0.0,)}).rotation_steps == ()


def test_registry_lists_every_program_and_resolves_ids() -> None:
    """list_programs names the core programs (and the workflows' own); program_id is keccak256 of the ref, and
    maps back to it."""
    refs = list_programs()
    assert set(CASES) <= set(refs) and list(refs) == sorted(refs)
    for ref in refs:
        assert program_id(ref) == keccak(ref.encode())
        assert program_by_id(program_id(ref)) is get_program(ref)
        assert get_program(ref).ref == ref
    assert program_id("nope@1") == keccak(b"nope@1")


@pytest.mark.parametrize(
    ("ref", "message"),
    [("nope@1", "'nope@1'; known: histogram@1"), ("sum@2", "'sum@2'; known"), ("sum", '(a ref is "name@version")')],
)
def test_unknown_program_error_names_it_and_lists_the_known(ref: str, message: str) -> None:
    """get_program raises UnknownProgram naming the ref and listing the registered ones."""
    with pytest.raises(UnknownProgram) as caught:
        get_program(ref)
    assert message in str(caught.value)


def test_unknown_program_id_is_rejected() -> None:
    """program_by_id raises UnknownProgram naming an id no program has."""
    with pytest.raises(UnknownProgram, match="0x" + "ab" * 32):
        program_by_id(b"\xab" * 32)


@pytest.mark.parametrize(("ref", "preset"), PROGRAM_ON_PRESET)
def test_every_preset_program_is_registered_with_its_scheme(ref: str, preset: str) -> None:
    """A preset lists only registered programs of its own scheme."""
    assert get_program(ref).scheme == PRESETS[preset].scheme
