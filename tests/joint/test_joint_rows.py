"""Owners' rows: the split of a bundled data set, the schema's fixed point, and the typed refusals of bad rows."""
from __future__ import annotations

import numpy as np
import pytest

from cipherquorum.exceptions import OwnerDataError, ValidationError
from cipherquorum.joint.data import ShareSpec, load_dataset, pooled, split_shares, stats_schema
from cipherquorum.joint.schema import Column, JointSchema

DIABETES = load_dataset("diabetes")
SCHEMA = stats_schema(DIABETES, 10_000, 1)


def test_shares_are_disjoint_and_cover_the_rows() -> None:
    """Three owners' shares hold every row of the data set once, none twice, with a seeded shuffle."""
    shares, test = split_shares(DIABETES, 3, seed=5)
    assert [s.owner for s in shares] == ["owner-0", "owner-1", "owner-2"] and test.rows == 0
    assert sum(s.rows for s in shares) == DIABETES.rows
    together = pooled(shares).table()
    assert sorted(map(tuple, together)) == sorted(map(tuple, DIABETES.table()))
    assert np.array_equal(split_shares(DIABETES, 3, seed=5)[0][1].features, shares[1].features)


def test_a_share_spec_loads_the_same_share_in_another_process() -> None:
    """An owner given a ShareSpec loads exactly the share split_shares gives it (its rows are read there)."""
    shares, _ = split_shares(DIABETES, 4, seed=9, rows=200, test_fraction=0.25)
    assert np.array_equal(ShareSpec("diabetes", 4, 2, 9, 200, 0.25).load().table(), shares[2].table())


def test_schema_encodes_rows_in_fixed_point() -> None:
    """Each value becomes round(value * scale), and the ranges contain every row of the data set."""
    encoded = SCHEMA.encode(DIABETES.table(), "all")
    assert encoded.dtype == np.int64
    assert np.array_equal(encoded[:, -1], DIABETES.target.astype(np.int64))
    assert np.max(np.abs(SCHEMA.decode(encoded) - DIABETES.table())) <= 0.5 / 10_000 + 1e-12
    assert SCHEMA.bounds[0] == 1 and max(SCHEMA.bounds[1:-1]) <= 2000


def _rows_with(row: int, column: int, value: float) -> np.ndarray:
    table = DIABETES.table()[:5].copy()
    table[row, column] = value
    return table


@pytest.mark.parametrize(("rows", "message"), [
    (DIABETES.table()[:5, :-1], r"rows must have 11 columns .* \(got shape \(5, 10\)\)"),
    (np.column_stack([DIABETES.table()[:5], np.zeros(5)]), r"must have 11 columns .* \(got shape \(5, 12\)\)"),
    (DIABETES.table()[0], r"\(got shape \(11,\)\)"),
    (_rows_with(3, 0, 0.75), r"row 3 column 'age' must be in \[-0.2, 0.2\] \(got 0.75\)"),
    (_rows_with(1, 10, -4.0), r"row 1 column 'target' must be in \[0.0, 400.0\] \(got -4.0\)"),
    (_rows_with(2, 2, float("nan")), r"row 2 column 'bmi' must be in .* \(got nan\)"),
])
def test_bad_rows_are_refused_with_the_value(rows: np.ndarray, message: str) -> None:
    """Rows with the wrong column count, out of range or not finite give OwnerDataError naming owner and value."""
    with pytest.raises(OwnerDataError, match=r"owner 'owner-1': .*" + message):
        SCHEMA.encode(rows, "owner-1")


@pytest.mark.parametrize(("call", "message"), [
    (lambda: split_shares(DIABETES, 2, 1), '"owners" must be >= 3'),
    (lambda: split_shares(DIABETES, 3, 1, rows=443), '"rows" must be in [0, 442]'),
    (lambda: split_shares(DIABETES, 5, 1, rows=4), '"owners" must be <= the rows they share (4)'),
    (lambda: split_shares(DIABETES, 3, 1, test_fraction=0.95), '"test_fraction" must be in [0, 0.9)'),
    (lambda: load_dataset("iris"), "no bundled data set is named 'iris'"),
    (lambda: Column("x", 0, 0.0, 1.0), '"scale" of column \'x\' must be an int >= 1'),
    (lambda: Column("x", 1, 2.0, 1.0), "needs finite low <= high"),
    (lambda: JointSchema((Column("x", 1, 0, 1), Column("x", 1, 0, 1))), "column names must be distinct"),
])
def test_bad_splits_and_schemas_are_refused(call, message: str) -> None:  # type: ignore[no-untyped-def]
    """Each broken split or schema gives a ValidationError that names the value."""
    with pytest.raises(ValidationError) as raised:
        call()
    assert message in str(raised.value)
