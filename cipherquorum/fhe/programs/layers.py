"""The first layers of a model on feature-major packed CKKS inputs: dense layers and square activations."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cipherquorum.exceptions import ValidationError
from cipherquorum.fhe import seal
from cipherquorum.fhe.evaluator import CipherOps, Number
from cipherquorum.fhe.keys import KeyNeeds
from cipherquorum.fhe.programs.base import (
    Params,
    PlainVector,
    Program,
    check_param_names,
    first_slots,
    int_param,
    number_list_param,
    padded,
)

LAYER_KINDS = ("dense", "square")
"""What a layer may be: a dense (affine) layer W x + b, or the square activation x**2 of each value."""
MAX_LAYERS = 8
"""Most layers one task runs (each takes one CKKS level, so a preset's levels bind first)."""
MAX_WIDTH = 256
"""Widest layer input or output: one ciphertext per value, so a task holds at most this many per batch."""
MAX_SLOTS = 2**15
"""Most images a ciphertext packs (n/2 of the largest ring degree)."""


@dataclass(frozen=True)
class LayerStack:
    """The layers a task runs, parsed from its params: kinds, widths (len(kinds) + 1) and dense weights."""

    kinds: tuple[str, ...]
    widths: tuple[int, ...]
    dense: tuple[tuple[np.ndarray, np.ndarray], ...]
    """(W as out x in, b as out) for each dense layer, in order."""
    images_per_ciphertext: int

    @property
    def in_width(self) -> int:
        """Values per image going in: ciphertexts per batch of inputs."""
        return self.widths[0]

    @property
    def out_width(self) -> int:
        """Values per image coming out: ciphertexts per batch of results."""
        return self.widths[-1]

    def forward(self, features: np.ndarray) -> np.ndarray:
        """Run the layers in float64 on ``features`` (in_width x images); return out_width x images."""
        values = features
        dense = iter(self.dense)
        for kind in self.kinds:
            if kind == "square":
                values = values * values
            else:
                weights, bias = next(dense)
                values = weights @ values + bias[:, None]
        return values


def parse_layers(params: Params) -> LayerStack:
    """Return the layer stack described by ``params``; raises ValidationError naming the first bad field.

    Params: ``kinds`` (each "dense" or "square"), ``widths`` (len(kinds) + 1 ints; a square keeps its width),
    ``weights`` (every dense layer's out x in matrix, row-major, one after another), ``biases`` (every dense
    layer's out values) and ``images_per_ciphertext`` (slots each weight fills; the packed images).
    """
    kinds = params.get("kinds")
    if not isinstance(kinds, (list, tuple)) or not 1 <= len(kinds) <= MAX_LAYERS:
        raise ValidationError(f'"kinds" must be a list of 1..{MAX_LAYERS} layer kinds (got kinds={kinds!r:.80})')
    for index, kind in enumerate(kinds):
        if kind not in LAYER_KINDS:
            raise ValidationError(f'"kinds[{index}]" must be one of {", ".join(LAYER_KINDS)} (got {kind!r:.40})')
    widths = params.get("widths")
    if not isinstance(widths, (list, tuple)) or len(widths) != len(kinds) + 1:
        raise ValidationError(f'"widths" must be a list of len(kinds) + 1 = {len(kinds) + 1} ints '
                              f"(got widths={widths!r:.80})")
    for index, width in enumerate(widths):
        if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= MAX_WIDTH:
            raise ValidationError(f'"widths[{index}]" must be an int in [1, {MAX_WIDTH}] (got {width!r:.40})')
    for index, kind in enumerate(kinds):
        if kind == "square" and widths[index] != widths[index + 1]:
            raise ValidationError(f'"widths" must keep the width across square layer {index} '
                                  f"(got {widths[index]} -> {widths[index + 1]})")
    shapes = [(widths[i + 1], widths[i]) for i, kind in enumerate(kinds) if kind == "dense"]
    dense: list[tuple[np.ndarray, np.ndarray]] = []
    if shapes:
        flat = np.array(number_list_param(params, "weights", kind=float, max_len=MAX_LAYERS * MAX_WIDTH**2))
        bias = np.array(number_list_param(params, "biases", kind=float, max_len=MAX_LAYERS * MAX_WIDTH))
        if len(flat) != sum(o * i for o, i in shapes) or len(bias) != sum(o for o, _ in shapes):
            raise ValidationError(
                f'"weights" and "biases" must hold {sum(o * i for o, i in shapes)} and {sum(o for o, _ in shapes)} '
                f"values for dense layers of shapes {shapes} (got {len(flat)} and {len(bias)})")
        w_at = b_at = 0
        for index, (rows, cols) in enumerate(shapes):
            weights = flat[w_at:w_at + rows * cols].reshape(rows, cols)
            for row in range(rows):
                if not weights[row].any():
                    raise ValidationError(f'"weights" of dense layer {index}, row {row} must hold a non-zero value '
                                          "(a zero product would not be encrypted)")
            dense.append((weights, bias[b_at:b_at + rows]))
            w_at, b_at = w_at + rows * cols, b_at + rows
    elif "weights" in params or "biases" in params:
        raise ValidationError('"weights" and "biases" must be absent when no layer is dense (got them)')
    images = int_param(params, "images_per_ciphertext", low=1, high=MAX_SLOTS)
    return LayerStack(tuple(kinds), tuple(widths), tuple(dense), images)


class PackedLayersProgram(Program):
    """The first layers of a model on images packed feature-major: input ciphertext i of a batch holds value i
    of up to n/2 images, one image per slot.

    A dense layer is then a plaintext scalar times each input ciphertext, summed across ciphertexts, then a
    rescale and the bias: no rotation at all, so no rotation keys. A square is a square, a relinearization and
    a rescale. Every layer takes one CKKS level. The inputs are one or more batches of ``widths[0]``
    ciphertexts; the results are ``widths[-1]`` ciphertexts per batch, in batch order.
    """

    name = "packed_layers"
    version = 1
    scheme = "ckks"
    summary = ("dense and square layers on feature-major packed inputs; params: kinds, widths, weights, biases, "
               "images_per_ciphertext")
    abs_tolerance = 1e-2
    """Holds for the digits model on ckks-8192-l3 (|W| <= ~2, inputs in [0, 1], values up to ~1e3); the tests
    and the workflow report the observed error, around 1e-4."""

    def key_needs(self, params: Params) -> KeyNeeds:
        """The relinearization key when a layer squares; never a rotation key."""
        return KeyNeeds(relin="square" in parse_layers(params).kinds)

    def validate_params(self, params: Params, n_inputs: int) -> None:
        """Take a well-formed layer stack and a whole number (>= 1) of input batches of ``widths[0]``."""
        check_param_names(self.ref, params, ("kinds", "widths", "weights", "biases", "images_per_ciphertext"))
        stack = parse_layers(params)
        if n_inputs < stack.in_width or n_inputs % stack.in_width:
            raise ValidationError(f"{self.ref} needs a whole number of batches of widths[0]={stack.in_width} "
                                  f"input ciphertexts (got {n_inputs})")

    def _evaluate(self, ops: CipherOps, inputs: list[seal.PyCtxt], params: Params) -> list[seal.PyCtxt]:
        stack = parse_layers(params)
        if len(stack.kinds) > ops.preset.max_level:
            raise ValidationError(f"{len(stack.kinds)} layers need as many CKKS levels; preset {ops.preset.name!r} "
                                  f"has {ops.preset.max_level}")
        if stack.images_per_ciphertext > ops.preset.slots:
            raise ValidationError(f'"images_per_ciphertext" must be <= {ops.preset.slots} slots of preset '
                                  f"{ops.preset.name!r} (got {stack.images_per_ciphertext})")
        results: list[seal.PyCtxt] = []
        for start in range(0, len(inputs), stack.in_width):
            results.extend(self._batch(ops, inputs[start:start + stack.in_width], stack))
        return results

    @staticmethod
    def _batch(ops: CipherOps, batch: list[seal.PyCtxt], stack: LayerStack) -> list[seal.PyCtxt]:
        values = batch
        dense = iter(stack.dense)
        width = stack.images_per_ciphertext
        for index, kind in enumerate(stack.kinds):
            if kind == "square":
                squared = []
                for ctxt in values:
                    result = ops.square(ctxt)
                    ops.rescale_inplace(result)
                    squared.append(result)
                values = squared
                continue
            weights, bias = next(dense)
            outputs = []
            for row, b in zip(weights, bias):
                acc = ops.sum_of_products((ctxt, np.full(width, float(w)), f"layer {index} weight {col}")
                                          for col, (w, ctxt) in enumerate(zip(row, values)) if w)
                if acc is None:
                    raise ValidationError(f'"weights" of layer {index} must hold a value that is non-zero at the '
                                          "preset's scale in every row (a zero product would not be encrypted)")
                ops.rescale_inplace(acc)
                outputs.append(ops.add_plain(acc, np.full(width, float(b)), f"layer {index} bias"))
            values = outputs
        return values

    def reference(self, plain_inputs: Sequence[Sequence[Number]], params: Params) -> list[PlainVector]:
        """``widths[-1]`` vectors per batch of ``widths[0]`` input vectors, each the layers' output per image slot."""
        stack = parse_layers(params)
        width = stack.images_per_ciphertext
        results: list[PlainVector] = []
        for start in range(0, len(plain_inputs), stack.in_width):
            rows = [padded(vector, width, f"input {start + i}")
                    for i, vector in enumerate(plain_inputs[start:start + stack.in_width])]
            out = stack.forward(np.array(rows, dtype=np.float64))
            results.extend([float(v) for v in row] for row in out)
        return results

    def decode(self, decrypted: Sequence[Sequence[Number]], params: Params) -> object:
        """The result vectors, each cut to ``images_per_ciphertext`` slots."""
        stack = parse_layers(params)
        return first_slots(decrypted, len(decrypted), stack.images_per_ciphertext, self.ref)
