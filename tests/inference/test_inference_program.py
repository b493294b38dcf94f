"""The packed_layers@1 CKKS program against the plaintext model, its params checks and its agreed statuses."""
from __future__ import annotations

import numpy as np
import pytest

from cipherquorum.exceptions import ValidationError
from cipherquorum.fhe import Deadline, Evaluator, SecretKeyOwner, execute, get_program
from cipherquorum.inference.model import Model
from cipherquorum.inference.packing import pack, unpack
from cipherquorum.inference.partition import PROGRAM, head_params
from cipherquorum.types import ExecStatus

IMAGES = 6


def _encrypt(keys: SecretKeyOwner, values: np.ndarray) -> list:
    return [keys.encrypt(list(row)) for batch in pack(values, len(values)) for row in batch]


@pytest.mark.parametrize("k", [1, 2, 3])
def test_first_k_layers_under_fhe_match_the_plaintext_model(k: int, model: Model, test_values: np.ndarray,
                                                             user_keys: SecretKeyOwner,
                                                             node_evaluator: Evaluator) -> None:
    """The first k layers run on packed ciphertexts decrypt to the plaintext model's values within 1e-3."""
    values = test_values[:IMAGES]
    params = head_params(model, k, IMAGES)
    outputs = get_program(PROGRAM).run(node_evaluator, _encrypt(user_keys, values), params, Deadline.unlimited())
    got = unpack([user_keys.decrypt(ct, IMAGES) for ct in outputs], model.layers[k - 1].out_width, IMAGES)
    expected = model.run(values, 0, k)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-3
    assert [ct.level for ct in outputs] == [k] * len(outputs)


def test_reference_is_the_plaintext_model(model: Model, test_values: np.ndarray) -> None:
    """The program's plaintext reference on the packed vectors equals the model's own forward pass."""
    values = test_values[:IMAGES]
    reference = get_program(PROGRAM).reference([list(row) for row in pack(values, IMAGES)[0]],
                                               head_params(model, 3, IMAGES))
    assert np.allclose(unpack(reference, 10, IMAGES), model.run(values))


def test_two_batches_in_one_task_give_each_batch_its_results(model: Model, test_values: np.ndarray,
                                                             user_keys: SecretKeyOwner,
                                                             node_evaluator: Evaluator) -> None:
    """A task of two batches returns widths[-1] results per batch, in batch order."""
    values = test_values[:2 * IMAGES]
    inputs = [user_keys.encrypt(list(row)) for batch in pack(values, IMAGES) for row in batch]
    outputs = get_program(PROGRAM).run(node_evaluator, inputs, head_params(model, 1, IMAGES), Deadline.unlimited())
    got = unpack([user_keys.decrypt(ct, IMAGES) for ct in outputs], 32, 2 * IMAGES)
    assert np.abs(got - model.run(values, 0, 1)).max() < 1e-3


def _with(params: dict, **changes: object) -> dict:
    return {**params, **changes}


@pytest.mark.parametrize(("change", "message"), [
    ({"kinds": []}, "kinds"),
    ({"kinds": ["dense", "relu", "dense"]}, "kinds[1]"),
    ({"widths": [64, 32, 32]}, "widths"),
    ({"widths": [64, 32, 31, 10]}, "square layer 1"),
    ({"widths": [64, 32, 32, 0]}, "widths[3]"),
    ({"weights": [0.5] * 10}, "weights"),
    ({"biases": [0.0]}, "biases"),
    ({"images_per_ciphertext": 0}, "images_per_ciphertext"),
    ({"colour": 1}, "colour"),
])
def test_bad_params_are_refused_naming_the_field(change: dict, message: str, model: Model) -> None:
    """Each malformed parameter gives a ValidationError that names it."""
    params = _with(head_params(model, 3, IMAGES), **change)
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        get_program(PROGRAM).validate_params(params, 64)


def test_an_all_zero_weight_row_is_refused(model: Model) -> None:
    """A dense row of zeros would leave an output unencrypted, so the params are refused."""
    params = head_params(model, 1, IMAGES)
    weights = list(params["weights"])  # type: ignore[call-overload]
    weights[:64] = [0.0] * 64
    with pytest.raises(ValidationError, match="row 0"):
        get_program(PROGRAM).validate_params(_with(params, weights=weights), 64)


@pytest.mark.parametrize("inputs", [0, 63, 65, 100])
def test_inputs_must_be_whole_batches(inputs: int, model: Model) -> None:
    """The input count must be a positive multiple of the first width."""
    with pytest.raises(ValidationError, match="whole number of batches"):
        get_program(PROGRAM).validate_params(head_params(model, 1, IMAGES), inputs)


def test_a_ciphertext_under_other_parameters_is_agreed_input_invalid(model: Model, test_values: np.ndarray,
                                                                     user_keys: SecretKeyOwner) -> None:
    """Inputs encrypted under ckks-8192 sent to a task under the user's ckks-8192-l3 bundle give INPUT_INVALID."""
    foreign = SecretKeyOwner.generate("ckks-8192")
    inputs = [foreign.encrypt(list(row)).to_bytes() for row in pack(test_values[:IMAGES], IMAGES)[0]]
    outcome = execute(PROGRAM, user_keys.bundle, inputs, head_params(model, 1, IMAGES), 60.0)
    assert outcome.status is ExecStatus.INPUT_INVALID
    assert "ckks-8192" in outcome.detail


def test_a_task_past_its_time_limit_is_agreed_timeout(model: Model, test_values: np.ndarray,
                                                      user_keys: SecretKeyOwner,
                                                      node_evaluator: Evaluator) -> None:
    """Four batches of 4096 slots cannot finish in 0.5 s: the status is TIMEOUT and no result is kept."""
    batch = [user_keys.encrypt(list(row)).to_bytes() for row in pack(test_values[:IMAGES], IMAGES)[0]]
    outcome = execute(PROGRAM, node_evaluator, batch * 4, head_params(model, 3, 4096), 0.5)
    assert outcome.status is ExecStatus.TIMEOUT
    assert outcome.outputs == ()


def test_more_layers_than_the_preset_has_levels_is_input_invalid(user_keys: SecretKeyOwner,
                                                                 test_values: np.ndarray) -> None:
    """Four layers on a three-level preset are refused as INPUT_INVALID before any operation."""
    params = {"kinds": ["square"] * 4, "widths": [64] * 5, "images_per_ciphertext": IMAGES}
    batch = [user_keys.encrypt(list(row)).to_bytes() for row in pack(test_values[:IMAGES], IMAGES)[0]]
    outcome = execute(PROGRAM, user_keys.bundle, batch, params, 60.0)
    assert outcome.status is ExecStatus.INPUT_INVALID
    assert "levels" in outcome.detail
