"""The model cut into layers for the market: each layer's metadata, and the task params of the first k."""
from __future__ import annotations

from dataclasses import dataclass

from cipherquorum.exceptions import ValidationError
from cipherquorum.fhe import KeyNeeds, get_preset
from cipherquorum.inference.model import DENSE, SQUARE, Model
from cipherquorum.wire.codec import message

PROGRAM = "packed_layers@1"
"""The program the first k layers run as."""
PRESET = "ckks-8192-l3"
"""The CKKS preset every layer of the digits model fits (three levels: dense, square, dense)."""


@message("LayerMeta")
@dataclass(frozen=True)
class LayerMeta:
    """What a data user needs to know of layer ``index`` before running it: its kind and shape, the CKKS
    levels it takes, its evaluation keys (relinearization, rotation steps) and the smallest preset it fits
    when it runs as layer ``index`` of the head."""

    index: int
    kind: str
    in_width: int
    out_width: int
    levels: int
    relin: bool
    rotation_steps: tuple[int, ...]
    preset: str
    program: str

    @property
    def needs(self) -> KeyNeeds:
        """The evaluation keys the layer needs."""
        return KeyNeeds(relin=self.relin, rotation_steps=self.rotation_steps)


def layer_metadata(model: Model, preset: str = PRESET) -> tuple[LayerMeta, ...]:
    """Metadata of every layer: one level each, relinearization for squares, no rotations (feature-major
    packing). Raises ValidationError if the model is deeper than ``preset`` has levels."""
    fhe = get_preset(preset)
    if model.depth > fhe.max_level:
        raise ValidationError(f"model {model.name!r} has {model.depth} layers; preset {preset!r} has "
                              f"{fhe.max_level} levels")
    return tuple(LayerMeta(index, layer.kind, layer.in_width, layer.out_width, 1, layer.kind == SQUARE, (),
                           preset, PROGRAM) for index, layer in enumerate(model.layers))


def head_needs(model: Model, k: int) -> KeyNeeds:
    """The evaluation keys the first ``k`` layers need; raises LayerRangeError for a bad k."""
    return KeyNeeds.union(meta.needs for meta in layer_metadata(model)[:model.check_split(k)])


def head_params(model: Model, k: int, images_per_ciphertext: int) -> dict[str, object]:
    """The ``packed_layers@1`` params that run the first ``k`` layers over ciphertexts packing
    ``images_per_ciphertext`` images; raises LayerRangeError for a bad k."""
    layers = model.head(k)
    dense = [layer for layer in layers if layer.kind == DENSE]
    params: dict[str, object] = {
        "kinds": [layer.kind for layer in layers],
        "widths": [layers[0].in_width, *(layer.out_width for layer in layers)],
        "images_per_ciphertext": images_per_ciphertext,
    }
    if dense:
        params["weights"] = [w for layer in dense for w in layer.weights]
        params["biases"] = [b for layer in dense for b in layer.bias]
    return params
