"""The model as layers (dense or square), its plaintext forward pass, and the split after k layers."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cipherquorum.exceptions import LayerRangeError, ValidationError
from cipherquorum.wire.codec import message

DENSE = "dense"
SQUARE = "square"


@message("ModelLayer")
@dataclass(frozen=True)
class Layer:
    """One layer: a dense W x + b (``weights`` out x in, ``bias`` out) or a square activation (no weights)."""

    kind: str
    in_width: int
    out_width: int
    weights: tuple[float, ...] = ()
    """Row-major, out_width x in_width (dense only)."""
    bias: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in (DENSE, SQUARE):
            raise ValidationError(f'"kind" must be {DENSE!r} or {SQUARE!r} (got kind={self.kind!r})')
        if self.kind == SQUARE and (self.in_width != self.out_width or self.weights or self.bias):
            raise ValidationError(f"a square layer keeps its width and has no weights (got {self.in_width} -> "
                                  f"{self.out_width}, {len(self.weights)} weights)")
        if self.kind == DENSE and (len(self.weights) != self.in_width * self.out_width
                                   or len(self.bias) != self.out_width):
            raise ValidationError(f"a dense layer {self.in_width} -> {self.out_width} holds "
                                  f"{self.in_width * self.out_width} weights and {self.out_width} biases "
                                  f"(got {len(self.weights)} and {len(self.bias)})")

    @classmethod
    def dense(cls, weights: np.ndarray, bias: np.ndarray) -> Layer:
        """A dense layer from an out x in matrix and an out vector."""
        out_width, in_width = weights.shape
        return cls(DENSE, int(in_width), int(out_width), tuple(float(w) for w in weights.ravel()),
                   tuple(float(b) for b in bias))

    @classmethod
    def square(cls, width: int) -> Layer:
        """The square activation over ``width`` values."""
        return cls(SQUARE, width, width)

    def matrix(self) -> np.ndarray:
        """The weights as an out x in array (dense only)."""
        return np.array(self.weights, dtype=np.float64).reshape(self.out_width, self.in_width)

    def apply(self, values: np.ndarray) -> np.ndarray:
        """This layer on ``values`` (images x in_width); returns images x out_width."""
        if self.kind == SQUARE:
            return values * values
        return values @ self.matrix().T + np.array(self.bias)


@dataclass(frozen=True)
class Model:
    """A named sequence of layers, each one's output the next one's input."""

    name: str
    layers: tuple[Layer, ...]

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValidationError(f"model {self.name!r} must hold at least one layer")
        for index, (before, after) in enumerate(zip(self.layers, self.layers[1:])):
            if before.out_width != after.in_width:
                raise ValidationError(f"layer {index + 1} of model {self.name!r} must take {before.out_width} "
                                      f"values (got in_width={after.in_width})")

    @property
    def depth(self) -> int:
        """How many layers the model has."""
        return len(self.layers)

    @property
    def in_width(self) -> int:
        """Values per input."""
        return self.layers[0].in_width

    def check_split(self, k: int) -> int:
        """Return ``k`` if it is a number of initial layers this model has (1..depth); raises LayerRangeError."""
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= self.depth:
            raise LayerRangeError(f'"k" must be an int in [1, {self.depth}], the layers of model {self.name!r} '
                                  f"(got k={k!r})")
        return k

    def run(self, values: np.ndarray, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Layers ``start`` .. ``stop`` - 1 on ``values`` (images x width) in float64."""
        for layer in self.layers[start:stop]:
            values = layer.apply(values)
        return values

    def head(self, k: int) -> Sequence[Layer]:
        """The first ``k`` layers (the ones the data user runs under FHE); raises LayerRangeError."""
        return self.layers[:self.check_split(k)]

    def predict(self, values: np.ndarray) -> np.ndarray:
        """The class of each input: the argmax of the last layer's output."""
        return np.argmax(self.run(values), axis=1)

    def finish(self, intermediate: np.ndarray, k: int) -> np.ndarray:
        """The classes from the output of the first ``k`` layers (images x width): the remaining layers, then
        the argmax. Raises LayerRangeError for a bad k, ValidationError for a wrong width."""
        self.check_split(k)
        array = np.asarray(intermediate, dtype=np.float64)
        width = self.layers[k - 1].out_width
        if array.ndim != 2 or array.shape[1] != width or not np.isfinite(array).all():
            raise ValidationError(f"intermediate after {k} layers must be finite, images x {width} "
                                  f"(got shape {array.shape})")
        return np.argmax(self.run(array, k), axis=1)
