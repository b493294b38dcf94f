"""The leakage measurement: the owner's least-squares rebuild of inputs from the intermediate after k layers."""
from __future__ import annotations

import numpy as np

from cipherquorum.inference.data import PIXEL_MAX, DigitsSplit, validate_images
from cipherquorum.inference.figures import reconstruction_svg
from cipherquorum.inference.leakage import measure_leakage, pinv_reconstruct
from cipherquorum.inference.model import Layer, Model


def test_the_first_layers_output_leaks_most_and_every_k_beats_guessing(digits: DigitsSplit, model: Model,
                                                                       test_values: np.ndarray) -> None:
    """The decoder rebuilds held-out digits from every k's intermediate better than the mean image does, and
    better from fewer layers: k=1 gives the smallest error."""
    train = validate_images(digits.train_images)
    results = [measure_leakage(model, k, train, test_values, model.run(test_values, 0, k))[0] for k in (1, 2, 3)]
    assert all(r.rmse_px < r.baseline_rmse_px for r in results)
    assert results[0].rmse_px < results[1].rmse_px < results[2].rmse_px
    assert results[0].pinv_rmse_px is not None and results[0].pinv_rmse_px < results[0].baseline_rmse_px
    assert results[0].rmse_px < 2.0  # under 2 of the 16 grey levels: the "obfuscated" intermediate is readable


def test_an_invertible_first_layer_gives_the_image_back_exactly(digits: DigitsSplit) -> None:
    """With a square, full-rank first layer the pseudo-inverse attack rebuilds every pixel."""
    rng = np.random.default_rng(1)
    weights = rng.normal(size=(64, 64))
    model = Model("wide", (Layer.dense(weights, rng.normal(size=64)),))
    values = validate_images(digits.test_images[:5])
    rebuilt = pinv_reconstruct(model, model.run(values, 0, 1), validate_images(digits.train_images))
    assert np.abs(rebuilt - values * PIXEL_MAX).max() < 1e-6


def test_the_svg_draws_originals_and_every_rebuild(digits: DigitsSplit) -> None:
    """The figure holds one 8x8 grid of cells per image and row, with each row's label."""
    images = digits.test_images[:3]
    svg = reconstruction_svg(images, [("k=1", images), ("k=2 <x>", images)], "rebuilds")
    assert svg.startswith("<svg") and svg.count("<rect") == 3 * 3 * 64
    assert "k=2 &lt;x&gt;" in svg
    assert "rgb(0,0,0)" in svg  # a blank pixel is black
