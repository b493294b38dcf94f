"""Federated logistic regression in plaintext: fixed-point updates average exactly and the model learns."""
from __future__ import annotations

import numpy as np
import pytest

from cipherquorum.exceptions import PlainCapacityExceeded, ValidationError
from cipherquorum.fhe import get_preset
from cipherquorum.joint.data import features_schema, load_dataset, pooled, split_shares
from cipherquorum.joint.federated import (
    TrainingTerms,
    accuracy,
    average_from_sum,
    check_update_capacity,
    encode_update,
    scale_features,
    train_logistic,
)

CANCER = load_dataset("breast_cancer")
SCHEMA = features_schema(CANCER)
TERMS = TrainingTerms(local_epochs=25, learning_rate=4.0, l2=1e-4, weight_scale=10_000, weight_clip=20.0)


def test_the_sum_of_updates_averages_to_the_row_weighted_mean() -> None:
    """sum_k rows_k * round(w_k * S) / (sum_k rows_k * S) is the FedAvg mean of the weights, to 1/S."""
    weights = [np.array([0.5, -1.25, 3.0]), np.array([1.0, 0.0, -2.0]), np.array([-0.3, 0.7, 0.1])]
    rows = [10, 30, 60]
    summed = np.sum([encode_update(w, n, TERMS) for w, n in zip(weights, rows)], axis=0)
    expected = sum(n * w for w, n in zip(weights, rows)) / sum(rows)
    assert summed[-1] == 100
    assert np.max(np.abs(average_from_sum(summed.tolist(), TERMS) - expected)) <= 0.5 / TERMS.weight_scale


def test_updates_are_clipped_to_the_declared_bound() -> None:
    """A weight past weight_clip is encoded at the clip, so the declared capacity holds."""
    assert encode_update(np.array([100.0, -100.0]), 2, TERMS) == [2 * 200_000, -2 * 200_000, 2]


def test_federated_rounds_approach_the_central_model() -> None:
    """Five FedAvg rounds over three owners reach the accuracy of central training within 3 points."""
    shares, test = split_shares(CANCER, 3, seed=4, test_fraction=0.2)
    weights = np.zeros(len(SCHEMA.columns) + 1)
    for _ in range(5):
        summed = np.sum([encode_update(train_logistic(weights, scale_features(s.features, SCHEMA), s.target, TERMS),
                                       s.rows, TERMS) for s in shares], axis=0)
        weights = average_from_sum(summed.tolist(), TERMS)
    everyone = pooled(shares)
    central = train_logistic(np.zeros_like(weights), scale_features(everyone.features, SCHEMA), everyone.target,
                             TERMS, epochs=5 * TERMS.local_epochs)
    x_test = scale_features(test.features, SCHEMA)
    assert accuracy(central, x_test, test.target) > 0.9
    assert accuracy(weights, x_test, test.target) >= accuracy(central, x_test, test.target) - 0.03


def test_capacity_check_refuses_updates_that_could_wrap() -> None:
    """Rows x clip x scale past the preset's plain bound is refused before anything is encrypted."""
    bound = get_preset("bfv-8192").plain_bound
    check_update_capacity(569, TERMS, bound)
    with pytest.raises(PlainCapacityExceeded, match="over 3000 rows"):
        check_update_capacity(3000, TERMS, bound)


def test_an_empty_sum_is_refused() -> None:
    """A sum that counts no rows gives a ValidationError, not a division by zero."""
    with pytest.raises(ValidationError, match="rows=0"):
        average_from_sum([0, 0, 0], TERMS)
