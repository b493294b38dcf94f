"""Fixtures for the split-inference tests: the fixed digits split, the trained model, one CKKS key owner."""
from __future__ import annotations

import numpy as np
import pytest

from cipherquorum.fhe import Evaluator, SecretKeyOwner
from cipherquorum.inference.data import DigitsSplit, load_split, validate_images
from cipherquorum.inference.model import Model
from cipherquorum.inference.partition import PRESET, head_needs
from cipherquorum.inference.train import train_model


@pytest.fixture(scope="session")
def digits() -> DigitsSplit:
    """The fixed train/test split of the bundled digits."""
    return load_split()


@pytest.fixture(scope="session")
def model(digits: DigitsSplit) -> Model:
    """The digits model (64 -> 32, square, 32 -> 10) trained on the training images."""
    return train_model(validate_images(digits.train_images), digits.train_labels)


@pytest.fixture(scope="session")
def test_values(digits: DigitsSplit) -> np.ndarray:
    """The held-out test images, scaled to [0, 1]."""
    return validate_images(digits.test_images)


@pytest.fixture(scope="session")
def user_keys(model: Model) -> SecretKeyOwner:
    """A data user's keys on the split-inference preset, with the relinearization key the model needs."""
    return SecretKeyOwner.generate(PRESET, head_needs(model, model.depth))


@pytest.fixture(scope="session")
def node_evaluator(user_keys: SecretKeyOwner) -> Evaluator:
    """What a compute node holds: an evaluator loaded from the user's public bundle bytes."""
    return Evaluator.from_bundle(user_keys.bundle)
