"""The public schema owners agree on: each column's name, fixed-point scale and range, and the row check."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from eth_hash.auto import keccak

from cipherquorum.exceptions import OwnerDataError, ValidationError


@dataclass(frozen=True)
class Column:
    """One column: values in [low, high], encoded as round(value * scale), an integer."""

    name: str
    scale: int
    low: float
    high: float

    def __post_init__(self) -> None:
        if isinstance(self.scale, bool) or not isinstance(self.scale, int) or self.scale < 1:
            raise ValidationError(f'"scale" of column {self.name!r} must be an int >= 1 (got scale={self.scale!r})')
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low <= self.high):
            raise ValidationError(
                f"column {self.name!r} needs finite low <= high (got low={self.low!r}, high={self.high!r})"
            )

    @property
    def bound(self) -> int:
        """Largest |encoded value| a row in range can give."""
        return max(abs(round(self.low * self.scale)), abs(round(self.high * self.scale)), 1)


@dataclass(frozen=True)
class JointSchema:
    """The columns every owner's rows have, in order (for a regression, the target is the last one)."""

    columns: tuple[Column, ...]

    def __post_init__(self) -> None:
        if not self.columns:
            raise ValidationError("a joint schema needs at least one column (got none)")
        names = [column.name for column in self.columns]
        if len(set(names)) != len(names):
            raise ValidationError(f"column names must be distinct (got {names})")

    @property
    def names(self) -> tuple[str, ...]:
        """The column names."""
        return tuple(column.name for column in self.columns)

    @property
    def scales(self) -> np.ndarray:
        """Each column's scale, as floats."""
        return np.array([column.scale for column in self.columns], dtype=np.float64)

    @property
    def bounds(self) -> list[int]:
        """The bounds a joint-moments task takes: 1 for the ones column, then each column's bound."""
        return [1, *(column.bound for column in self.columns)]

    def digest(self) -> str:
        """A hash of the schema (names, scales, ranges): owners who encoded under another schema differ."""
        text = ";".join(f"{c.name}:{c.scale}:{c.low!r}:{c.high!r}" for c in self.columns)
        return "0x" + keccak(text.encode()).hex()

    def encode(self, rows: object, owner: str) -> np.ndarray:
        """Return the rows in fixed point (int64, one column per schema column).

        Raises OwnerDataError naming the owner, the row, the column and the value for rows that are not a
        2-D table of the schema's column count, or a value that is not finite or lies outside its range.
        """
        table = np.asarray(rows, dtype=np.float64) if not isinstance(rows, np.ndarray) else rows.astype(np.float64)
        if table.ndim != 2 or table.shape[1] != len(self.columns):
            raise OwnerDataError(
                f"owner {owner!r}: rows must have {len(self.columns)} columns ({', '.join(self.names)}) "
                f"(got shape {table.shape})"
            )
        for j, column in enumerate(self.columns):
            values = table[:, j]
            bad = np.flatnonzero(~np.isfinite(values) | (values < column.low) | (values > column.high))
            if bad.size:
                row = int(bad[0])
                raise OwnerDataError(
                    f"owner {owner!r}: row {row} column {column.name!r} must be in [{column.low}, {column.high}] "
                    f"(got {float(values[row])!r})"
                )
        return np.rint(table * self.scales).astype(np.int64)

    def decode(self, encoded: np.ndarray) -> np.ndarray:
        """The real values of fixed-point rows (what the encoding keeps of them)."""
        return np.asarray(encoded, dtype=np.float64) / self.scales


def outward_range(values: np.ndarray) -> tuple[float, float]:
    """[low, high] around ``values``, rounded outward to one significant digit of the largest |value|."""
    largest = float(np.max(np.abs(values))) or 1.0
    step = 10.0 ** math.floor(math.log10(largest))
    return math.floor(float(values.min()) / step) * step, math.ceil(float(values.max()) / step) * step


def schema_of(names: Sequence[str], table: np.ndarray, scales: Sequence[int]) -> JointSchema:
    """The schema published with a data set: each column's outward-rounded range and its scale."""
    return JointSchema(tuple(Column(name, int(scale), *outward_range(table[:, j]))
                             for j, (name, scale) in enumerate(zip(names, scales))))
