"""Fixtures for the FHE tests: one key owner per preset (keys for every program in the tests' parameter
ranges), evaluators loaded from the bundle bytes, and a helper that runs a program end to end."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest

from cipherquorum.fhe import (
    Ciphertext,
    Deadline,
    Evaluator,
    KeyBundle,
    KeyNeeds,
    SecretKeyOwner,
    get_program,
)

MAX_FEATURES = 8
"""Longest weight vector the weighted-score tests draw (rotation keys 1, 2, 4)."""

MAX_LAYER_DIM = 6
"""Largest m and d the linear-layer tests draw (rotation keys 1 and -1..-6)."""

TEST_NEEDS = {
    "bfv-2048": KeyNeeds(),
    "bfv-8192": KeyNeeds(relin=True, rotation_steps=(1, 2, 4)),
    "ckks-8192": KeyNeeds(relin=True, rotation_steps=(1, *range(-MAX_LAYER_DIM, 0))),
}


@dataclass(frozen=True)
class Keys:
    """A preset's key owner and two evaluators loaded separately from the same bundle bytes."""

    owner: SecretKeyOwner
    evaluator: Evaluator
    other_evaluator: Evaluator


@pytest.fixture(scope="session")
def keys() -> dict[str, Keys]:
    """Keys for the presets the shared FHE tests use (TEST_NEEDS), by preset name."""
    made = {}
    for name, needs in TEST_NEEDS.items():
        owner = SecretKeyOwner.generate(name, needs)
        data = owner.bundle.to_bytes()
        made[name] = Keys(
            owner=owner,
            evaluator=Evaluator.from_bundle(KeyBundle.from_bytes(data)),
            other_evaluator=Evaluator.from_bundle(KeyBundle.from_bytes(data)),
        )
    return made


@pytest.fixture(scope="session")
def stranger() -> SecretKeyOwner:
    """A second bfv-8192 owner, whose keys nobody else's ciphertexts were made with."""
    return SecretKeyOwner.generate("bfv-8192")


RunProgram = Callable[..., tuple[list[Ciphertext], list[list]]]


@pytest.fixture(scope="session")
def run_program(keys: dict[str, Keys]) -> RunProgram:
    """Return run(ref, preset, plain_inputs, params, evaluator="evaluator"): encrypt the inputs, run the
    program, and return (result ciphertexts, decrypted first slots of each, as long as the reference's)."""

    def run(
        ref: str, preset: str, plain_inputs: Sequence[Sequence[float]], params: dict, evaluator: str = "evaluator"
    ) -> tuple[list[Ciphertext], list[list]]:
        program = get_program(ref)
        preset_keys = keys[preset]
        inputs = [preset_keys.owner.encrypt(vector) for vector in plain_inputs]
        outputs = program.run(getattr(preset_keys, evaluator), inputs, params, Deadline(60))
        expected = program.reference(plain_inputs, params)
        decrypted = [preset_keys.owner.decrypt(ct, len(vector)) for ct, vector in zip(outputs, expected)]
        return outputs, decrypted

    return run
