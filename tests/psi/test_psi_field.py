"""Field arithmetic modulo the plain modulus: polynomials from roots, interpolation, inverses."""
from __future__ import annotations

import numpy as np
import pytest

from cipherquorum.exceptions import ValidationError
from cipherquorum.fhe import seal
from cipherquorum.psi.field import check_modulus, evaluate, interpolate, inverse, poly_from_roots

T = 1073692673


def test_a_polynomial_from_roots_vanishes_exactly_at_its_roots() -> None:
    """Each row's polynomial is 0 at each of its first ``count`` roots and non-zero elsewhere; no roots gives 1."""
    rng = np.random.default_rng(1)
    roots = rng.integers(0, T, size=(3, 5), dtype=np.int64)
    counts = np.array([5, 2, 0], dtype=np.int64)
    coeffs = poly_from_roots(roots, counts, T)
    for j in range(5):
        values = evaluate(coeffs, roots[:, j], T)
        assert values[0] == 0
        assert (values[1] == 0) == (j < 2)
        assert values[2] == 1
    assert evaluate(coeffs, np.array([7, 7, 7], dtype=np.int64), T).all()


def test_interpolation_passes_through_every_point() -> None:
    """The interpolated polynomial of each row takes the row's y at each of its x."""
    rng = np.random.default_rng(2)
    xs = np.stack([rng.choice(10**9, size=6, replace=False) for _ in range(4)]).astype(np.int64)
    ys = rng.integers(0, T, size=(4, 6), dtype=np.int64)
    coeffs = interpolate(xs, ys, T)
    for j in range(6):
        assert (evaluate(coeffs, xs[:, j], T) == ys[:, j]).all()


@pytest.mark.parametrize("bad", [0, 2, 2**31, True, 3.0])
def test_a_modulus_outside_the_int64_range_is_refused(bad: object) -> None:
    """check_modulus refuses moduli whose products would overflow int64, or that are not ints."""
    with pytest.raises(ValidationError, match="plain_modulus"):
        check_modulus(bad)  # type: ignore[arg-type]


def test_zero_has_no_inverse() -> None:
    """Inverting 0 raises ValidationError (two interpolation points coincide)."""
    with pytest.raises(ValidationError, match="coincide"):
        inverse(np.array([3, 0], dtype=np.int64), T)
    assert (inverse(np.array([3], dtype=np.int64), T) * 3 % T == 1).all()


@pytest.mark.parametrize("values, verdict", [
    (np.array([0, 5, -5], dtype=np.int64), None),
    (np.array([0, 6, 1], dtype=np.int64), r"coefficient\[1\] must be in \[-5, 5\] \(got 6\)"),
    (np.array([-6], dtype=np.int32), r"coefficient\[0\] .*got -6"),
])
def test_coefficient_arrays_are_checked_against_the_plain_range(values: np.ndarray, verdict: str | None) -> None:
    """The vectorized check psi@1's coefficient arrays take refuses a value past the bound, naming its index."""
    if verdict is None:
        assert seal.as_int64(values, "coefficient", 5).tolist() == [0, 5, -5]
    else:
        with pytest.raises(ValidationError, match=verdict):
            seal.as_int64(values, "coefficient", 5)
