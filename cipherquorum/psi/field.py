"""Arithmetic modulo the BFV plain modulus t on numpy arrays: products, inverses, roots to coefficients, interpolation.

Every value is an int64 in [0, t); t < 2**31 keeps each product below 2**62, so no step overflows.
"""
from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cipherquorum.exceptions import ValidationError

Vector = npt.NDArray[np.int64]
"""An int64 array of field elements in [0, t)."""

MAX_MODULUS = 2**31
"""Largest plain modulus these routines take (a product of two elements must fit in int64)."""


def check_modulus(t: int) -> None:
    """Raise ValidationError unless ``3 <= t < MAX_MODULUS``."""
    if isinstance(t, bool) or not isinstance(t, int) or not 3 <= t < MAX_MODULUS:
        raise ValidationError(f'"plain_modulus" must be an int in [3, 2**31) for PSI (got plain_modulus={t!r})')


def mul(a: Vector, b: Vector | int, t: int) -> Vector:
    """Return a * b mod t element-wise."""
    return (a * b) % t


def power(a: Vector, exponent: int, t: int) -> Vector:
    """Return a ** exponent mod t element-wise (square and multiply)."""
    result = np.ones_like(a)
    base = a % t
    while exponent:
        if exponent & 1:
            result = mul(result, base, t)
        base = mul(base, base, t)
        exponent >>= 1
    return result


def inverse(a: Vector, t: int) -> Vector:
    """Return the inverse of each element mod the prime t; raises ValidationError if one is 0.

    Montgomery's batch inversion along the last axis: prefix products, one exponentiation per row, and a
    backward pass, so a (rows, k) array costs about 3k products of rows elements instead of 45k.
    """
    if np.any(a % t == 0):
        raise ValidationError("cannot invert 0 modulo the plain modulus (two interpolation points coincide)")
    if a.ndim != 2:
        return power(a, t - 2, t)
    width = a.shape[1]
    if width == 0:
        return a.copy()
    prefix = np.empty_like(a)
    prefix[:, 0] = a[:, 0] % t
    for j in range(1, width):
        prefix[:, j] = mul(prefix[:, j - 1], a[:, j], t)
    running = power(prefix[:, -1], t - 2, t)  # the inverse of each row's whole product
    result = np.empty_like(a)
    for j in range(width - 1, 0, -1):
        result[:, j] = mul(running, prefix[:, j - 1], t)
        running = mul(running, a[:, j], t)
    result[:, 0] = running
    return result


def poly_from_roots(roots: Vector, counts: Vector, t: int) -> Vector:
    """Return the monic polynomials with the given roots, one per row, coefficients lowest degree first.

    ``roots`` has shape (rows, width); row r uses its first ``counts[r]`` roots (a row with none gives 1).
    The result has shape (rows, width + 1).
    """
    rows, width = roots.shape
    coeffs = np.zeros((rows, width + 1), dtype=np.int64)
    coeffs[:, 0] = 1
    for j in range(width):
        active = counts > j
        root = roots[:, j]
        shifted = np.zeros_like(coeffs)
        shifted[:, 1:] = coeffs[:, :-1]
        product = (shifted - mul(coeffs, root[:, None], t)) % t
        coeffs = np.where(active[:, None], product, coeffs)
    return coeffs


def interpolate(xs: Vector, ys: Vector, t: int) -> Vector:
    """Return, per row, the polynomial of degree < width through the points (xs[r, j], ys[r, j]).

    ``xs`` rows must hold distinct values. Newton's divided differences, then expansion to coefficients
    (lowest degree first, shape (rows, width)). Raises ValidationError if two xs of a row coincide.
    """
    rows, width = xs.shape
    table = ys.copy() % t
    newton = [table[:, 0].copy()]
    for level in range(1, width):
        numerator = (table[:, 1:width - level + 1] - table[:, :width - level]) % t
        denominator = (xs[:, level:] - xs[:, :width - level]) % t
        table = mul(numerator, inverse(denominator, t), t)
        newton.append(table[:, 0].copy())
    coeffs = np.zeros((rows, width), dtype=np.int64)
    basis = np.zeros((rows, width), dtype=np.int64)
    basis[:, 0] = 1
    for j in range(width):
        coeffs = (coeffs + mul(basis, newton[j][:, None], t)) % t
        if j + 1 < width:
            shifted = np.zeros_like(basis)
            shifted[:, 1:] = basis[:, :-1]
            basis = (shifted - mul(basis, xs[:, j][:, None], t)) % t
    return coeffs


def evaluate(coeffs: Vector, xs: Vector, t: int) -> Vector:
    """Return each row's polynomial (lowest degree first) at its x, by Horner's rule."""
    result = np.zeros(coeffs.shape[0], dtype=np.int64)
    for j in range(coeffs.shape[1] - 1, -1, -1):
        result = (mul(result, xs, t) + coeffs[:, j]) % t
    return result
