"""The first layers of an ML model on CKKS: a linear layer followed by a square activation."""
from __future__ import annotations

from collections.abc import Iterator, Sequence

from cipherquorum.exceptions import ValidationError
from cipherquorum.fhe import seal
from cipherquorum.fhe.evaluator import CipherOps, Number
from cipherquorum.fhe.keys import KeyNeeds
from cipherquorum.fhe.programs.base import (
    Params,
    PlainVector,
    Program,
    check_input_count,
    check_not_all_zero,
    check_param_names,
    first_slots,
    number_list_param,
    padded,
)

MAX_LAYER_DIM = 256
"""Most inputs (d) and outputs (m) of the linear layer."""


def _layer(params: Params) -> tuple[list[list[float]], list[float]]:
    """Return (W as m rows of d, b) from the flat row-major ``weights`` and the m-long ``bias``."""
    bias = number_list_param(params, "bias", kind=float, max_len=MAX_LAYER_DIM)
    flat = number_list_param(params, "weights", kind=float, max_len=MAX_LAYER_DIM * MAX_LAYER_DIM)
    m = len(bias)
    if len(flat) % m or not 1 <= len(flat) // m <= MAX_LAYER_DIM:
        raise ValidationError(
            f'"weights" must hold m*d values, row-major, with m=len(bias)={m} and 1 <= d <= {MAX_LAYER_DIM} '
            f"(got {len(flat)} values)"
        )
    d = len(flat) // m
    return [flat[i * d:(i + 1) * d] for i in range(m)], bias


def _copies(m: int, d: int) -> int:
    """Copies of x laid end to end so that slot i + k holds x[(i + k) mod d] for every i < m, k < d."""
    return -(-(m + d - 1) // d)


class LinearSquareProgram(Program):
    """(W x + b)^2 for each input vector x of d reals, W an m x d matrix and b an m vector, all plaintext.

    Diagonal method: x is tiled (rotations by -d), rotated by 1 d-1 times and each rotation multiplied by one
    generalized diagonal of W; then a rescale, the bias, a square and a rescale. The m results sit in slots
    0..m-1, the other slots are ~0. Needs rotation keys for steps 1 and -d only, and the relinearization key.
    """

    name = "linear_square"
    version = 1
    scheme = "ckks"
    summary = "(Wx+b)^2 per input; params: weights (m*d reals, row-major), bias (m reals)"
    abs_tolerance = 1e-3
    """Holds for |x|, |W|, |b| <= 1 and d <= 64 on ckks-8192 (scale 2**40); the benchmark reports the
    observed error, around 1e-6."""

    def key_needs(self, params: Params) -> KeyNeeds:
        """Relinearization, and rotation by 1 (when d > 1) and by -d (when x must be tiled)."""
        weights, bias = _layer(params)
        m, d = len(bias), len(weights[0])
        steps = ((1,) if d > 1 else ()) + ((-d,) if _copies(m, d) > 1 else ())
        return KeyNeeds(relin=True, rotation_steps=steps)

    def validate_params(self, params: Params, n_inputs: int) -> None:
        """Take weights and bias of matching shape, weights not all zero, and at least one input."""
        check_param_names(self.ref, params, ("weights", "bias"))
        weights, _bias = _layer(params)
        check_not_all_zero("weights", [w for row in weights for w in row])
        check_input_count(self.ref, n_inputs, 1)

    def _evaluate(self, ops: CipherOps, inputs: list[seal.PyCtxt], params: Params) -> list[seal.PyCtxt]:
        weights, bias = _layer(params)
        m, d = len(bias), len(weights[0])
        diagonals = [[weights[i][(i + k) % d] for i in range(m)] for k in range(d)]
        return [self._one(ops, ctxt, diagonals, bias, d) for ctxt in inputs]

    @staticmethod
    def _one(
        ops: CipherOps, x: seal.PyCtxt, diagonals: list[list[float]], bias: list[float], d: int
    ) -> seal.PyCtxt:
        tiled, shifted = ops.copy(x), x
        for _ in range(_copies(len(bias), d) - 1):
            shifted = ops.rotate(shifted, -d)
            ops.add_inplace(tiled, shifted)
        def diagonal_terms() -> Iterator[tuple[seal.PyCtxt, list[float], str]]:
            rotated = tiled
            for k, diagonal in enumerate(diagonals):
                if k:
                    rotated = ops.rotate(rotated, 1)
                yield rotated, diagonal, f"diagonal {k} of weights"

        acc = ops.sum_of_products(diagonal_terms())
        if acc is None:
            raise ValidationError(
                '"weights" must hold a value that is non-zero at the preset\'s scale (a zero product would not '
                "be encrypted)"
            )
        ops.rescale_inplace(acc)
        activated = ops.square(ops.add_plain(acc, bias, "bias"))
        ops.rescale_inplace(activated)
        return activated

    def reference(self, plain_inputs: Sequence[Sequence[Number]], params: Params) -> list[PlainVector]:
        """One m-long vector per input: (W x + b)^2 in float64."""
        weights, bias = _layer(params)
        d = len(weights[0])
        results: list[PlainVector] = []
        for index, vector in enumerate(plain_inputs):
            x = [float(v) for v in padded(vector, d, f"input {index}")]
            results.append([(sum(w * v for w, v in zip(row, x)) + b) ** 2 for row, b in zip(weights, bias)])
        return results

    def decode(self, decrypted: Sequence[Sequence[Number]], params: Params) -> object:
        """The list of m activations per result."""
        m = len(_layer(params)[1])
        return [[float(v) for v in vector] for vector in first_slots(decrypted, len(decrypted), m, self.ref)]
