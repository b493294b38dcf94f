"""The digits data, the model's training, its split after k layers, and the checks on images and k."""
from __future__ import annotations

import numpy as np
import pytest

from cipherquorum.exceptions import ImageError, LayerRangeError, ValidationError
from cipherquorum.inference.data import DigitsSplit, load_split, validate_images
from cipherquorum.inference.model import Layer, Model
from cipherquorum.inference.packing import pack, unpack
from cipherquorum.inference.train import train_model


def test_the_split_is_fixed_and_holds_540_test_images(digits: DigitsSplit) -> None:
    """The same stratified split every time: 1,257 training and 540 held-out images."""
    again = load_split()
    assert len(digits.train_images) == 1257 and len(digits.test_images) == 540
    assert np.array_equal(again.test_images, digits.test_images)
    assert np.array_equal(again.test_labels, digits.test_labels)


def test_training_is_deterministic_and_accurate(digits: DigitsSplit, model: Model, test_values: np.ndarray) -> None:
    """Training twice gives the same weights, and the model gets >= 95% of the held-out images right."""
    again = train_model(validate_images(digits.train_images), digits.train_labels)
    assert again == model
    assert np.mean(model.predict(test_values) == digits.test_labels) >= 0.95
    assert [layer.kind for layer in model.layers] == ["dense", "square", "dense"]


@pytest.mark.parametrize("k", [1, 2, 3])
def test_finishing_after_k_layers_gives_the_whole_models_classes(k: int, model: Model,
                                                                 test_values: np.ndarray) -> None:
    """The owner's remaining layers on the first k layers' output give the same classes as the whole model."""
    assert np.array_equal(model.finish(model.run(test_values, 0, k), k), model.predict(test_values))


@pytest.mark.parametrize("k", [0, 4, -1, 1.5, True, "2"])
def test_k_outside_the_models_layers_is_refused(k: object, model: Model) -> None:
    """k must be an int in 1..depth; anything else raises LayerRangeError naming k."""
    with pytest.raises(LayerRangeError, match='"k" must be an int in \\[1, 3\\]'):
        model.check_split(k)  # type: ignore[arg-type]


@pytest.mark.parametrize("shape", [(32,), (8, 7), (2, 63), (3, 8, 9), (0, 64)])
def test_an_image_of_the_wrong_shape_is_refused(shape: tuple[int, ...]) -> None:
    """Anything but 8x8 images or rows of 64 pixels raises ImageError naming the shape."""
    with pytest.raises(ImageError, match="shape"):
        validate_images(np.zeros(shape))


@pytest.mark.parametrize("pixel", [-1.0, 16.5, 17.0, float("nan"), float("inf")])
def test_a_pixel_out_of_range_is_refused(pixel: float) -> None:
    """A pixel outside 0..16 (or not finite) raises ImageError naming the image and pixel."""
    image = np.zeros((2, 64))
    image[1, 5] = pixel
    with pytest.raises(ImageError, match="image 1 pixel 5"):
        validate_images(image)


def test_images_that_are_not_numbers_are_refused() -> None:
    """A stack of strings is an ImageError, not a crash."""
    with pytest.raises(ImageError, match="numbers"):
        validate_images([["a"] * 64])


def test_one_8x8_image_and_a_stack_are_accepted_scaled() -> None:
    """An 8x8 image and a stack of them become rows of 64 values in [0, 1]."""
    assert validate_images(np.full((8, 8), 16)).tolist() == [[1.0] * 64]
    assert validate_images(np.zeros((3, 8, 8))).shape == (3, 64)


def test_intermediate_of_the_wrong_width_is_refused(model: Model) -> None:
    """The owner refuses an intermediate whose width is not layer k's output."""
    with pytest.raises(ValidationError, match="images x 32"):
        model.finish(np.zeros((2, 10)), 1)


@pytest.mark.parametrize(("layers", "message"), [
    ((), "at least one layer"),
    ((Layer.square(4), Layer.square(5)), "must take 4 values"),
])
def test_a_model_whose_layers_do_not_chain_is_refused(layers: tuple[Layer, ...], message: str) -> None:
    """Layers must chain, and a model needs one."""
    with pytest.raises(ValidationError, match=message):
        Model("m", layers)


def test_packing_round_trips_feature_major() -> None:
    """Packed batches hold feature i of each image in slot order; unpacking gives the images back."""
    values = np.arange(5 * 3, dtype=float).reshape(5, 3)
    batches = pack(values, 2)
    assert len(batches) == 3 and batches[0].shape == (3, 2)
    assert batches[0][:, 1].tolist() == values[1].tolist()
    vectors = [list(row) for batch in batches for row in batch]
    assert np.array_equal(unpack(vectors, 3, 5), values)
