"""Joint moments over several owners' BFV row chunks: the count, column sums and every sum of products.

Layout of one input (a "chunk" of rows, made by ``pack_chunk``): columns ``0..C-1`` of a row sit in a block of
``W`` slots (W the power of two >= C); a BFV row of ``row_slots`` slots holds ``row_slots / W`` blocks, and
both BFV rows are used, so a chunk holds ``2 * row_slots / W`` rows. Column 0 is 1 for a row that exists and 0
for padding, so its sums give the count and the column sums.

The program multiplies each chunk by itself rotated by s = 0..C-1 (slot ``b*W + i`` then holds
``x[i] * x[i+s]`` of that row), sums over chunks, folds the blocks of each BFV row together with rotations by
W, 2W, ... (every block then holds the total over all rows of that BFV row), and keeps block ``s`` of the
product with shift ``s`` (a plaintext mask). One result ciphertext: slot ``h*row_slots + s*W + i`` holds the
BFV row h's part of sum over rows of ``x[i] * x[i+s]``; the two parts add to the total. No single row, and no
sum over fewer than every row of a BFV row, is left in the result.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cipherquorum.exceptions import PlainCapacityExceeded, ValidationError
from cipherquorum.fhe import seal
from cipherquorum.fhe.evaluator import CipherOps, Number
from cipherquorum.fhe.keys import KeyNeeds
from cipherquorum.fhe.programs.base import (
    Params,
    PlainVector,
    Program,
    check_input_count,
    check_param_names,
    first_slots,
    int_param,
    number_list_param,
)

MAX_COLUMNS = 64
"""Most columns (the ones column included) a joint-moments task takes."""
MAX_ROW_SLOTS = 16384
"""Largest BFV row (n/2) a task may name: n = 32768."""


@dataclass(frozen=True)
class MomentSums:
    """Exact integer sums over every row of every owner: ``count``, ``sums[j]`` and ``products[i][j]``.

    Indexes run over the data columns (the ones column dropped): ``sums[j]`` is the sum of column j,
    ``products[i][j]`` the sum of column i times column j (symmetric).
    """

    count: int
    sums: tuple[int, ...]
    products: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class MomentsLayout:
    """Where a joint-moments task puts things: ``columns`` C (ones column first), block ``width`` W, BFV row."""

    columns: int
    row_slots: int

    @property
    def width(self) -> int:
        """W: the power of two >= C that one row's block takes."""
        return 1 << (self.columns - 1).bit_length()

    @property
    def slots(self) -> int:
        """Slots of one ciphertext: both BFV rows."""
        return 2 * self.row_slots

    @property
    def rows_per_chunk(self) -> int:
        """Rows one input ciphertext holds: a block per row in each of the two BFV rows."""
        return self.slots // self.width

    @property
    def fold_steps(self) -> tuple[int, ...]:
        """Rotations W, 2W, ... below row_slots that sum every block of a BFV row into each block."""
        steps, step = [], self.width
        while step < self.row_slots:
            steps.append(step)
            step *= 2
        return tuple(steps)

    def mask(self, shift: int) -> list[int]:
        """1 at block ``shift`` slots ``0..C-1-shift`` of both BFV rows, 0 elsewhere."""
        vector = [0] * self.slots
        for half in (0, self.row_slots):
            for i in range(self.columns - shift):
                vector[half + shift * self.width + i] = 1
        return vector


def layout_of(params: Params) -> MomentsLayout:
    """The layout the params name; raises ValidationError for a columns or row_slots value out of range."""
    columns = int_param(params, "columns", low=2, high=MAX_COLUMNS)
    row_slots = int_param(params, "row_slots", low=2, high=MAX_ROW_SLOTS)
    if row_slots & (row_slots - 1):
        raise ValidationError(f'"row_slots" must be a power of two (got row_slots={row_slots})')
    layout = MomentsLayout(columns, row_slots)
    if layout.width * columns > row_slots:  # block s of shift s must exist for every s < C
        raise ValidationError(
            f'"columns" must satisfy width*columns <= row_slots={row_slots} '
            f"(got columns={columns}, width={layout.width})"
        )
    return layout


def bounds_of(params: Params, columns: int) -> list[int]:
    """The per-column bounds on |value| (column 0, the ones column, has bound 1)."""
    bounds = number_list_param(params, "bounds", kind=int, max_len=MAX_COLUMNS)
    if len(bounds) != columns:
        raise ValidationError(f'"bounds" must hold one bound per column ({columns}) (got {len(bounds)})')
    if bounds[0] != 1 or any(bound < 1 for bound in bounds):
        raise ValidationError(f'"bounds" must be >= 1 each, with bounds[0]=1 for the ones column (got {bounds})')
    return bounds


def check_moment_capacity(bounds: Sequence[int], rows: int, plain_bound: int) -> None:
    """Raise PlainCapacityExceeded unless ``rows`` rows of values within ``bounds`` keep every sum of products
    (at most rows * max(bound)**2) inside the BFV plain range [-plain_bound, plain_bound]."""
    largest = rows * max(bounds) ** 2
    if largest > plain_bound:
        raise PlainCapacityExceeded(
            f"a sum of products over {rows} rows with bounds up to {max(bounds)} can reach {largest}, past the "
            f"plain modulus bound {plain_bound}: lower the scale or the rows, or choose a preset with a larger "
            f"plain modulus (got rows={rows}, bounds={list(bounds)})"
        )


def pack_chunk(rows: Sequence[Sequence[int]], layout: MomentsLayout) -> list[int]:
    """Return the slot vector of up to ``rows_per_chunk`` rows, each of the C-1 data columns (the ones column
    is added here). Raises ValidationError for too many rows or a row of the wrong length."""
    if len(rows) > layout.rows_per_chunk:
        raise ValidationError(f"a chunk holds <= {layout.rows_per_chunk} rows (got {len(rows)})")
    vector = [0] * layout.slots
    for index, row in enumerate(rows):
        if len(row) != layout.columns - 1:
            raise ValidationError(f"row {index} must hold {layout.columns - 1} values (got {len(row)})")
        start = index * layout.width
        vector[start] = 1
        vector[start + 1:start + layout.columns] = [int(v) for v in row]
    return vector


def moment_slots(chunks: Sequence[Sequence[Number]], layout: MomentsLayout) -> np.ndarray:
    """The plaintext of the result: for each chunk, the product of its slots with its own slots rotated by
    s within each BFV row, summed over chunks and blocks, block s kept (int64; callers check capacity first)."""
    width, row_slots, columns = layout.width, layout.row_slots, layout.columns
    result = np.zeros(layout.slots, dtype=np.int64)
    for half in (0, row_slots):
        rows = np.array([list(chunk[half:half + row_slots]) + [0] * (row_slots - len(chunk[half:half + row_slots]))
                         for chunk in chunks], dtype=np.int64)
        for shift in range(columns):
            products = rows * np.roll(rows, -shift, axis=1)
            block_total = products.sum(axis=0).reshape(row_slots // width, width).sum(axis=0)
            start = half + shift * width
            result[start:start + columns - shift] = block_total[:columns - shift]
    return result


def decode_moments(vector: Sequence[Number], layout: MomentsLayout) -> MomentSums:
    """Turn the result's slots into MomentSums (adding the two BFV rows' parts)."""
    width, row_slots, columns = layout.width, layout.row_slots, layout.columns
    total = [[0] * columns for _ in range(columns)]
    for shift in range(columns):
        for i in range(columns - shift):
            slot = shift * width + i
            value = int(vector[slot]) + int(vector[row_slots + slot])
            total[i][i + shift] = total[i + shift][i] = value
    return MomentSums(
        count=total[0][0],
        sums=tuple(total[0][1:]),
        products=tuple(tuple(row[1:]) for row in total[1:]),
    )


class JointMomentsProgram(Program):
    """Count, column sums and sums of products of all owners' rows (params: columns, bounds, row_slots).

    ``columns`` counts the ones column; ``bounds[j]`` bounds |value| of column j, so that the program refuses
    inputs whose sums could wrap past the plain modulus; ``row_slots`` must be the preset's n/2.
    """

    name = "joint_moments"
    version = 1
    scheme = "bfv"
    summary = "count, sums and sums of products over row chunks; params: columns, bounds, row_slots"

    def key_needs(self, params: Params) -> KeyNeeds:
        """Relinearization, rotation by 1 (the shifts) and by W, 2W, ... (the fold)."""
        layout = layout_of(params)
        return KeyNeeds(relin=True, rotation_steps=(1, *layout.fold_steps))

    def validate_params(self, params: Params, n_inputs: int) -> None:
        """Take columns, bounds and row_slots, and at least one input chunk."""
        check_param_names(self.ref, params, ("columns", "bounds", "row_slots"))
        layout = layout_of(params)
        bounds_of(params, layout.columns)
        check_input_count(self.ref, n_inputs, 1)

    def _evaluate(self, ops: CipherOps, inputs: list[seal.PyCtxt], params: Params) -> list[seal.PyCtxt]:
        layout = layout_of(params)
        if ops.preset.row_slots != layout.row_slots:
            raise ValidationError(
                f'"row_slots" must be the preset\'s {ops.preset.row_slots} (got row_slots={layout.row_slots})'
            )
        check_moment_capacity(bounds_of(params, layout.columns), len(inputs) * layout.rows_per_chunk,
                              ops.preset.plain_bound)
        shifted: list[seal.PyCtxt | None] = [None] * layout.columns
        for chunk in inputs:
            rotated = chunk
            for shift in range(layout.columns):
                if shift:
                    rotated = ops.rotate(rotated, 1)
                product = ops.multiply(chunk, rotated)
                acc = shifted[shift]
                if acc is None:
                    shifted[shift] = product
                else:
                    ops.add_inplace(acc, product)
        result = None
        for shift, acc in enumerate(shifted):
            assert acc is not None  # one product per input and shift
            for step in layout.fold_steps:
                ops.add_inplace(acc, ops.rotate(acc, step))
            kept = ops.multiply_plain(acc, layout.mask(shift), f"block mask {shift}")
            if result is None:
                result = kept
            else:
                ops.add_inplace(result, kept)
        assert result is not None
        return [result]

    def reference(self, plain_inputs: Sequence[Sequence[Number]], params: Params) -> list[PlainVector]:
        """One vector of every slot: what the result decrypts to for these chunk vectors.

        Raises ValidationError for a chunk longer than the ciphertext or a value past its column's bound.
        """
        layout = layout_of(params)
        bounds = bounds_of(params, layout.columns)
        for index, chunk in enumerate(plain_inputs):
            if len(chunk) > layout.slots:
                raise ValidationError(f"input {index} must hold <= {layout.slots} values (got {len(chunk)})")
            for slot, value in enumerate(chunk):
                column = slot % layout.width
                limit = bounds[column] if column < layout.columns else 0
                if abs(int(value)) > limit:
                    raise ValidationError(
                        f"input {index} slot {slot} (column {column}) must be within +-{limit} (got {value})"
                    )
        return [[int(v) for v in moment_slots(plain_inputs, layout)]]

    def decode(self, decrypted: Sequence[Sequence[Number]], params: Params) -> object:
        """A MomentSums."""
        layout = layout_of(params)
        return decode_moments(first_slots(decrypted, 1, layout.slots, self.ref)[0], layout)
