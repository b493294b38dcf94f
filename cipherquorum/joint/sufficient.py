"""An owner's local sufficient statistics as one additive integer vector, and the analyst's check of the total.

The vector of C data columns is [count, sum_0 .. sum_(C-1), products p_ij for i <= j (row by row)]: 1 + C +
C(C+1)/2 slots. Vectors add slot-wise, so the nodes' sum@1 over every owner's (masked) vector is the vector of
the pooled rows, and ``moments_from_total`` turns it back into the MomentSums the statistics take, once the
values lie where rows in the schema's ranges can put them (masks that did not cancel fail that check).
"""
from __future__ import annotations

from collections.abc import Sequence

from cipherquorum.exceptions import MaskedTotalInvalid, ValidationError
from cipherquorum.fhe.programs.joint import MomentSums


def moment_width(columns: int) -> int:
    """Slots of the vector for ``columns`` data columns."""
    return 1 + columns + columns * (columns + 1) // 2


def moment_vector(sums: MomentSums) -> list[int]:
    """[count, column sums, upper-triangle products] of ``sums`` (exact Python ints)."""
    columns = len(sums.sums)
    upper = [int(sums.products[i][j]) for i in range(columns) for j in range(i, columns)]
    return [int(sums.count), *(int(v) for v in sums.sums), *upper]


def moments_from_total(total: Sequence[int], bounds: Sequence[int], min_rows: int, max_rows: int) -> MomentSums:
    """The MomentSums of a decrypted total vector, checked against what rows within ``bounds`` can give.

    ``bounds`` holds each data column's largest |encoded value|. Raises ValidationError for a vector of the
    wrong length, MaskedTotalInvalid (naming the slot and the value) for a count outside [min_rows, max_rows],
    a column sum past count * bound, a product past count * bound_i * bound_j, a negative square sum, or a
    correlation above 1 (p_ij^2 > p_ii p_jj): what a total whose masks did not cancel shows.
    """
    columns = len(bounds)
    if len(total) != moment_width(columns):
        raise ValidationError(f"a moment vector of {columns} columns has {moment_width(columns)} slots "
                              f"(got {len(total)})")
    values = [int(v) for v in total]
    count = values[0]
    if not min_rows <= count <= max_rows:
        raise MaskedTotalInvalid(f"the decrypted count must be in [{min_rows}, {max_rows}] rows: the masks did not "
                                 f"cancel or a contribution is wrong (got count={count})")
    sums = values[1:1 + columns]
    for j, (value, bound) in enumerate(zip(sums, bounds)):
        if abs(value) > count * bound:
            raise MaskedTotalInvalid(f"the decrypted sum of column {j} must be within +-{count * bound} over "
                                     f"{count} rows (got sum={value})")
    products = [[0] * columns for _ in range(columns)]
    position = 1 + columns
    for i in range(columns):
        for j in range(i, columns):
            products[i][j] = products[j][i] = values[position]
            position += 1
    for i in range(columns):
        if not 0 <= products[i][i] <= count * bounds[i] ** 2:
            raise MaskedTotalInvalid(f"the decrypted square sum of column {i} must be in [0, "
                                     f"{count * bounds[i] ** 2}] (got {products[i][i]})")
        for j in range(i + 1, columns):
            if products[i][j] ** 2 > products[i][i] * products[j][j]:
                raise MaskedTotalInvalid(f"the decrypted product sum of columns {i} and {j} exceeds Cauchy-Schwarz "
                                         f"(got {products[i][j]})")
    return MomentSums(count=count, sums=tuple(sums), products=tuple(tuple(row) for row in products))
