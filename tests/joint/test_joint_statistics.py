"""Statistics and the regression from exact joint sums equal numpy's on the pooled rows."""
from __future__ import annotations

import numpy as np
import pytest

from cipherquorum.exceptions import ValidationError
from cipherquorum.fhe.programs.joint import MomentSums
from cipherquorum.joint.data import load_dataset, split_shares, stats_schema
from cipherquorum.joint.moments import (
    largest_difference,
    lstsq_regression,
    plain_sums,
    reference_statistics,
    solve_regression,
    statistics_from_sums,
)

DIABETES = load_dataset("diabetes")
SCHEMA = stats_schema(DIABETES, 10_000, 1)


def _pooled_encoded() -> np.ndarray:
    shares, _ = split_shares(DIABETES, 3, seed=11)
    return np.vstack([SCHEMA.encode(share.table(), share.owner) for share in shares])


def test_sums_of_the_owners_add_up_to_the_pooled_sums() -> None:
    """Per-owner sums added together are the pooled sums (what the nodes' slot-wise addition relies on)."""
    shares, _ = split_shares(DIABETES, 3, seed=11)
    parts = [plain_sums(SCHEMA.encode(share.table(), share.owner)) for share in shares]
    total = plain_sums(_pooled_encoded())
    assert total.count == sum(p.count for p in parts) == DIABETES.rows
    added = sum(np.array(p.products, dtype=object) for p in parts)
    assert np.array_equal(np.array(total.products, dtype=object), added)


def test_statistics_equal_numpy_on_the_fixed_point_rows() -> None:
    """Mean, variance, covariance and correlation from the sums equal np.mean/var/cov/corrcoef to 1e-9."""
    encoded = _pooled_encoded()
    stats = statistics_from_sums(plain_sums(encoded), SCHEMA)
    reference = reference_statistics(SCHEMA.decode(encoded))
    assert stats.count == reference.count == 442
    assert largest_difference(stats, reference) < 1e-9
    assert stats.correlation[0][0] == pytest.approx(1.0)


def test_regression_equals_lstsq_on_the_fixed_point_rows_and_is_near_the_raw_fit() -> None:
    """The normal equations' solution equals np.linalg.lstsq on the same rows within 1e-6 of the largest
    coefficient, and lstsq on the raw float rows within 0.5% of it (the fixed point rounds at 1e-4)."""
    encoded = _pooled_encoded()
    fit = solve_regression(plain_sums(encoded), SCHEMA)
    rows = SCHEMA.decode(encoded)
    exact = lstsq_regression(rows[:, :-1], rows[:, -1])
    raw = lstsq_regression(DIABETES.features, DIABETES.target)
    scale = float(np.max(np.abs(raw.as_array())))
    assert largest_difference(fit, exact) <= 1e-6 * scale
    assert largest_difference(fit, raw) <= 5e-3 * scale


def test_statistics_need_a_row_and_regression_a_solvable_system() -> None:
    """No rows, or X^T X singular (a constant feature), gives a ValidationError instead of NaNs."""
    empty = MomentSums(0, (0, 0), ((0, 0), (0, 0)))
    with pytest.raises(ValidationError, match="count=0"):
        statistics_from_sums(empty, stats_schema(DIABETES, 1, 1))
    constant = plain_sums(np.array([[1, 5], [1, 7], [1, 9]]))
    with pytest.raises(ValidationError, match="singular"):
        from cipherquorum.joint.schema import Column, JointSchema
        solve_regression(constant, JointSchema((Column("x", 1, 0, 2), Column("y", 1, 0, 10))))
