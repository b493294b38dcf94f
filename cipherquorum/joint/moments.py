"""Statistics from the joint sums: means, variances, covariance, correlation, and the regression they solve.

The sums are exact integers in fixed point (``MomentSums``); everything here turns them into real units. The
plaintext references compute the same from the pooled rows with numpy, by another path (np.cov, np.corrcoef,
np.linalg.lstsq), so that a mistake in the sums or in the algebra shows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cipherquorum.exceptions import ValidationError
from cipherquorum.fhe.programs.joint import MomentSums
from cipherquorum.joint.schema import JointSchema


@dataclass(frozen=True)
class JointStatistics:
    """Per-column means and population variances, the covariance and correlation matrices, over ``count`` rows."""

    count: int
    means: tuple[float, ...]
    variances: tuple[float, ...]
    covariance: tuple[tuple[float, ...], ...]
    correlation: tuple[tuple[float, ...], ...]


@dataclass(frozen=True)
class Regression:
    """A least-squares fit target = intercept + coefficients . features."""

    intercept: float
    coefficients: tuple[float, ...]

    def as_array(self) -> np.ndarray:
        """Intercept first, then the coefficients."""
        return np.array([self.intercept, *self.coefficients])


def plain_sums(encoded_rows: np.ndarray) -> MomentSums:
    """The reference: count, column sums and X^T X of the pooled fixed-point rows, exactly (Python ints)."""
    table = np.asarray(encoded_rows, dtype=object)
    products = table.T.dot(table) if table.size else np.zeros((table.shape[1], table.shape[1]), dtype=object)
    return MomentSums(count=int(table.shape[0]), sums=tuple(int(v) for v in table.sum(axis=0)),
                      products=tuple(tuple(int(v) for v in row) for row in products))


def statistics_from_sums(sums: MomentSums, schema: JointSchema) -> JointStatistics:
    """Means, variances, covariance and correlation in real units; raises ValidationError for a count of 0."""
    if sums.count < 1:
        raise ValidationError(f"statistics need at least one row (got count={sums.count})")
    scales = schema.scales
    count = float(sums.count)
    totals = np.array(sums.sums, dtype=np.float64) / scales
    products = np.array(sums.products, dtype=np.float64) / np.outer(scales, scales)
    means = totals / count
    covariance = products / count - np.outer(means, means)
    spread = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        correlation = np.where(np.outer(spread, spread) > 0, covariance / np.outer(spread, spread), 0.0)
    return JointStatistics(int(sums.count), _vector(means), _vector(np.diag(covariance)), _matrix(covariance),
                           _matrix(correlation))


def reference_statistics(rows: np.ndarray) -> JointStatistics:
    """The same statistics computed by numpy on the pooled rows (real units)."""
    table = np.asarray(rows, dtype=np.float64)
    covariance = np.atleast_2d(np.cov(table, rowvar=False, bias=True))
    return JointStatistics(int(table.shape[0]), _vector(table.mean(axis=0)), _vector(table.var(axis=0)),
                           _matrix(covariance), _matrix(np.atleast_2d(np.corrcoef(table, rowvar=False))))


def solve_regression(sums: MomentSums, schema: JointSchema) -> Regression:
    """Solve the normal equations (X^T X) b = X^T y, X the features with an intercept column, y the last column.

    Raises ValidationError when the schema has no feature column or X^T X is singular.
    """
    columns = len(schema.columns)
    if columns < 2:
        raise ValidationError(f"a regression needs features and a target (got {columns} column)")
    scales = schema.scales
    full = np.empty((columns + 1, columns + 1), dtype=np.float64)
    full[0, 0] = sums.count
    full[0, 1:] = full[1:, 0] = np.array(sums.sums, dtype=np.float64) / scales
    full[1:, 1:] = np.array(sums.products, dtype=np.float64) / np.outer(scales, scales)
    xtx, xty = full[:columns, :columns], full[:columns, columns]
    try:
        beta = np.linalg.solve(xtx, xty)
    except np.linalg.LinAlgError:
        raise ValidationError(
            f"X^T X is singular over {sums.count} rows: the regression has no unique solution"
        ) from None
    return Regression(float(beta[0]), _vector(beta[1:]))


def lstsq_regression(features: np.ndarray, target: np.ndarray) -> Regression:
    """The reference fit: numpy's least squares on the pooled rows with an intercept column."""
    design = np.column_stack([np.ones(len(features)), np.asarray(features, dtype=np.float64)])
    beta = np.linalg.lstsq(design, np.asarray(target, dtype=np.float64), rcond=None)[0]
    return Regression(float(beta[0]), _vector(beta[1:]))


def largest_difference(left: object, right: object) -> float:
    """max |left - right| over two equally shaped results (dataclasses of numbers, or arrays)."""
    return float(np.max(np.abs(_flat(left) - _flat(right))))


def _flat(value: object) -> np.ndarray:
    if isinstance(value, (JointStatistics, Regression)):
        parts = [np.ravel(np.asarray(getattr(value, name), dtype=np.float64))
                 for name in value.__dataclass_fields__]
        return np.concatenate(parts)
    return np.ravel(np.asarray(value, dtype=np.float64))


def _vector(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def _matrix(values: np.ndarray) -> tuple[tuple[float, ...], ...]:
    return tuple(_vector(row) for row in values)
