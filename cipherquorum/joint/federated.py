"""Federated logistic regression in plaintext parts: local training, fixed-point updates, the averaged model.

Each round (FedAvg): owner k trains from the global weights on its rows and encodes ``rows_k * w_k`` (clipped,
in fixed point) followed by ``rows_k``; the nodes sum the encoded updates under the aggregation key; the key
holder decrypts only the sum and divides by the total rows. Weights carry the bias last.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cipherquorum.exceptions import MaskedTotalInvalid, PlainCapacityExceeded, ValidationError
from cipherquorum.joint.schema import JointSchema


@dataclass(frozen=True)
class TrainingTerms:
    """How every owner trains and encodes a round: epochs of full-batch gradient descent, step, L2 penalty,
    the fixed-point ``weight_scale`` and the clip on |weight|."""

    local_epochs: int
    learning_rate: float
    l2: float
    weight_scale: int
    weight_clip: float


def scale_features(features: np.ndarray, schema: JointSchema) -> np.ndarray:
    """Min-max scale each feature to [0, 1] with the schema's public ranges (no owner's statistics used)."""
    lows = np.array([c.low for c in schema.columns])
    spans = np.array([c.high - c.low for c in schema.columns])
    return (np.asarray(features, dtype=np.float64) - lows) / np.where(spans > 0, spans, 1.0)


def train_logistic(weights: np.ndarray, features: np.ndarray, labels: np.ndarray, terms: TrainingTerms,
                   epochs: int | None = None) -> np.ndarray:
    """Return ``weights`` (bias last) after ``epochs`` (default terms.local_epochs) of full-batch gradient
    descent on the L2-penalized logistic loss."""
    design = np.column_stack([features, np.ones(len(features))])
    w = np.array(weights, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    penalty = np.ones_like(w)
    penalty[-1] = 0.0  # no penalty on the bias
    for _ in range(terms.local_epochs if epochs is None else epochs):
        predicted = 1.0 / (1.0 + np.exp(-(design @ w)))
        gradient = design.T @ (predicted - y) / len(y) + terms.l2 * penalty * w
        w = w - terms.learning_rate * gradient
    return w


def accuracy(weights: np.ndarray, features: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of rows whose predicted class (probability >= 0.5) is their label."""
    scores = np.column_stack([features, np.ones(len(features))]) @ np.asarray(weights, dtype=np.float64)
    return float(np.mean((scores >= 0.0) == (np.asarray(labels) == 1)))


def check_update_capacity(total_rows: int, terms: TrainingTerms, plain_bound: int) -> None:
    """Raise PlainCapacityExceeded unless the sum of every owner's update (at most total_rows * clip * scale
    per slot) stays within the BFV plain range."""
    largest = total_rows * round(terms.weight_clip * terms.weight_scale)
    if largest > plain_bound:
        raise PlainCapacityExceeded(
            f"an update sum over {total_rows} rows can reach {largest}, past the plain modulus bound {plain_bound} "
            f"(got weight_clip={terms.weight_clip}, weight_scale={terms.weight_scale})"
        )


def encode_update(weights: np.ndarray, rows: int, terms: TrainingTerms) -> list[int]:
    """The owner's update: ``rows * round(clip(w) * scale)`` for each weight, then ``rows``."""
    clipped = np.clip(np.asarray(weights, dtype=np.float64), -terms.weight_clip, terms.weight_clip)
    return [int(rows) * int(v) for v in np.rint(clipped * terms.weight_scale)] + [int(rows)]


def average_from_sum(summed: Sequence[int], terms: TrainingTerms) -> np.ndarray:
    """The averaged weights from the decrypted sum of updates; raises ValidationError when no rows were summed."""
    *weighted, rows = (int(v) for v in summed)
    if rows < 1:
        raise ValidationError(f"the summed update counts no rows (got rows={rows})")
    return np.array(weighted, dtype=np.float64) / (rows * terms.weight_scale)


def check_update_total(summed: Sequence[int], min_rows: int, max_rows: int, terms: TrainingTerms) -> list[int]:
    """Return the decrypted sum of masked updates once it lies where honest updates can put it.

    Raises MaskedTotalInvalid (naming the slot and the value) for a row count outside [min_rows, max_rows] or
    a weighted slot past rows * clip * scale: what a sum whose masks did not cancel shows.
    """
    values = [int(v) for v in summed]
    if not values:
        raise ValidationError("the summed update holds no slot (got an empty vector)")
    rows = values[-1]
    if not min_rows <= rows <= max_rows:
        raise MaskedTotalInvalid(f"the summed update's row count must be in [{min_rows}, {max_rows}]: the masks did "
                                 f"not cancel or an update is wrong (got rows={rows})")
    limit = rows * round(terms.weight_clip * terms.weight_scale)
    for index, value in enumerate(values[:-1]):
        if abs(value) > limit:
            raise MaskedTotalInvalid(f"the summed weight {index} must be within +-{limit} over {rows} rows "
                                     f"(got {value})")
    return values
