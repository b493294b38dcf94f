"""Aggregate programs over many respondents' BFV ciphertexts: sum, mean, histogram and variance."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
    padded,
)

MAX_WIDTH = 1024
"""Most values one respondent contributes to a sum, mean or variance (a slot stays free for the count)."""

MAX_BINS = 1024
"""Most histogram bins."""


@dataclass(frozen=True)
class MeanResult:
    """Per-value sums over ``count`` respondents and their means."""

    count: int
    sums: tuple[int, ...]
    means: tuple[float, ...]


@dataclass(frozen=True)
class VarianceResult:
    """Per-value sums, sums of squares, means and population variances over ``count`` respondents."""

    count: int
    sums: tuple[int, ...]
    sums_of_squares: tuple[int, ...]
    means: tuple[float, ...]
    variances: tuple[float, ...]


def _column_sums(plain_inputs: Sequence[Sequence[Number]], width: int, power: int = 1) -> list[int]:
    rows = [padded(vector, width, f"input {index}") for index, vector in enumerate(plain_inputs)]
    return [sum(int(row[j]) ** power for row in rows) for j in range(width)]


class SumProgram(Program):
    """Slot-wise sum of every input: each respondent contributes ``width`` values (params: width, default 1)."""

    name = "sum"
    version = 1
    scheme = "bfv"
    summary = "slot-wise sum of all inputs; params: width (values per input, default 1)"
    _width_param = "width"
    _width_default: int | None = 1
    _width_max = MAX_WIDTH

    def _width(self, params: Params) -> int:
        return int_param(params, self._width_param, low=1, high=self._width_max, default=self._width_default)

    def key_needs(self, params: Params) -> KeyNeeds:
        """Additions need no evaluation key."""
        return KeyNeeds()

    def validate_params(self, params: Params, n_inputs: int) -> None:
        """Take only the width parameter and at least one input."""
        check_param_names(self.ref, params, (self._width_param,))
        self._width(params)
        check_input_count(self.ref, n_inputs, 1)

    def _evaluate(self, ops: CipherOps, inputs: list[seal.PyCtxt], params: Params) -> list[seal.PyCtxt]:
        return [ops.sum(inputs)]

    def reference(self, plain_inputs: Sequence[Sequence[Number]], params: Params) -> list[PlainVector]:
        """One vector: the column sums of the inputs (each padded with zeros to the width)."""
        return [_column_sums(plain_inputs, self._width(params))]

    def decode(self, decrypted: Sequence[Sequence[Number]], params: Params) -> object:
        """The list of ``width`` sums."""
        return [int(v) for v in first_slots(decrypted, 1, self._width(params), self.ref)[0]]


class HistogramProgram(SumProgram):
    """Counts of one-hot answers: each input is a one-hot vector over ``bins`` options (params: bins)."""

    name = "histogram"
    summary = "counts of one-hot answers; params: bins"
    _width_param = "bins"
    _width_default = None
    _width_max = MAX_BINS


class MeanProgram(SumProgram):
    """Sums plus the respondent count in slot ``width``, so the mean is computed by the key owner."""

    name = "mean"
    summary = "column sums with the input count in slot <width>; params: width (default 1)"

    def _evaluate(self, ops: CipherOps, inputs: list[seal.PyCtxt], params: Params) -> list[seal.PyCtxt]:
        return [_sum_with_count(ops, inputs, self._width(params))]

    def reference(self, plain_inputs: Sequence[Sequence[Number]], params: Params) -> list[PlainVector]:
        """One vector: the ``width`` column sums followed by the number of inputs."""
        return [[*_column_sums(plain_inputs, self._width(params)), len(plain_inputs)]]

    def decode(self, decrypted: Sequence[Sequence[Number]], params: Params) -> object:
        """A MeanResult."""
        width = self._width(params)
        vector = [int(v) for v in first_slots(decrypted, 1, width + 1, self.ref)[0]]
        count, sums = vector[width], vector[:width]
        return MeanResult(count=count, sums=tuple(sums), means=tuple(s / count if count else 0.0 for s in sums))


class VarianceProgram(SumProgram):
    """Sums with the count, and sums of squares: results [sums + count, sums of squares] (params: width)."""

    name = "variance"
    summary = "[column sums + count, column sums of squares]; params: width (default 1)"

    def key_needs(self, params: Params) -> KeyNeeds:
        """Squaring needs the relinearization key."""
        return KeyNeeds(relin=True)

    def _evaluate(self, ops: CipherOps, inputs: list[seal.PyCtxt], params: Params) -> list[seal.PyCtxt]:
        sums = _sum_with_count(ops, inputs, self._width(params))
        squares = ops.square(inputs[0])
        for ctxt in inputs[1:]:
            ops.add_inplace(squares, ops.square(ctxt))
        return [sums, squares]

    def reference(self, plain_inputs: Sequence[Sequence[Number]], params: Params) -> list[PlainVector]:
        """Two vectors: column sums then the count; column sums of squares."""
        width = self._width(params)
        return [
            [*_column_sums(plain_inputs, width), len(plain_inputs)],
            _column_sums(plain_inputs, width, power=2),
        ]

    def decode(self, decrypted: Sequence[Sequence[Number]], params: Params) -> object:
        """A VarianceResult (population variance: E[x^2] - E[x]^2, from exact integer sums)."""
        width = self._width(params)
        first = first_slots(decrypted, 1, width + 1, self.ref)[0]
        second = first_slots(decrypted, 2, width, self.ref)[1]
        count, sums, squares = int(first[width]), [int(v) for v in first[:width]], [int(v) for v in second[:width]]
        return VarianceResult(
            count=count,
            sums=tuple(sums),
            sums_of_squares=tuple(squares),
            means=tuple(s / count if count else 0.0 for s in sums),
            variances=tuple((count * q - s * s) / (count * count) if count else 0.0 for s, q in zip(sums, squares)),
        )


def _sum_with_count(ops: CipherOps, inputs: list[seal.PyCtxt], width: int) -> seal.PyCtxt:
    """Sum the inputs and add the number of inputs into slot ``width`` (a plaintext, so deterministic)."""
    return ops.add_plain(ops.sum(inputs), [0] * width + [len(inputs)], "input count")
