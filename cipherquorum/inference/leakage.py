"""How much of an input the model owner can rebuild from the intermediate it receives after k layers."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cipherquorum.inference.data import PIXEL_MAX
from cipherquorum.inference.model import Model


@dataclass(frozen=True)
class LeakageResult:
    """Reconstruction errors in pixel units (pixels range 0..16) for one k, over the attacked images.

    ``rmse_px`` is the least-squares decoder's error; ``pinv_rmse_px`` the pseudo-inverse of the known first
    layer (k = 1 only, else None); ``baseline_rmse_px`` guessing the owner's mean training image, which needs
    no intermediate at all. ``explained`` = 1 - mse / baseline mse: 1 is a perfect rebuild, 0 learns nothing.
    """

    k: int
    images: int
    rmse_px: float
    max_abs_px: float
    pinv_rmse_px: float | None
    baseline_rmse_px: float
    explained: float

    @property
    def rmse_of_range(self) -> float:
        """The decoder's rmse as a fraction of the pixel range."""
        return self.rmse_px / PIXEL_MAX


def fit_decoder(model: Model, k: int, train_images: np.ndarray) -> np.ndarray:
    """The owner's attack: least squares from [intermediate, 1] to pixels (0..16), fitted on its own training
    images (scaled to [0, 1]) run through its own first k layers. Returns the (width + 1) x 64 map."""
    features = _features(model.run(train_images, 0, k))
    solution, *_ = np.linalg.lstsq(features, train_images * PIXEL_MAX, rcond=None)
    return solution


def reconstruct(decoder: np.ndarray, intermediate: np.ndarray) -> np.ndarray:
    """Pixels (0..16, clipped) the decoder rebuilds from an intermediate (images x width)."""
    return np.clip(_features(intermediate) @ decoder, 0, PIXEL_MAX)


def pinv_reconstruct(model: Model, intermediate: np.ndarray, prior_images: np.ndarray) -> np.ndarray:
    """Pixels rebuilt from the first dense layer's output alone: the prior mean plus the pseudo-inverse of W
    applied to what the mean does not explain (the least-norm correction)."""
    layer = model.layers[0]
    weights, bias = layer.matrix(), np.array(layer.bias)
    mean = prior_images.mean(axis=0)
    corrected = mean + (intermediate - bias - mean @ weights.T) @ np.linalg.pinv(weights).T
    return np.clip(corrected * PIXEL_MAX, 0, PIXEL_MAX)


def measure_leakage(model: Model, k: int, train_images: np.ndarray, test_images: np.ndarray,
                    intermediate: np.ndarray) -> tuple[LeakageResult, np.ndarray]:
    """Attack ``intermediate`` (the first k layers' output on ``test_images``, as the owner received it) and
    return the errors and the rebuilt images (pixels, images x 64)."""
    rebuilt = reconstruct(fit_decoder(model, k, train_images), intermediate)
    pinv = pinv_reconstruct(model, intermediate, train_images) if k == 1 else None
    return score_rebuild(k, rebuilt, test_images, train_images, pinv), rebuilt


def score_rebuild(k: int, rebuilt: np.ndarray, test_images: np.ndarray, train_images: np.ndarray,
                  pinv_rebuilt: np.ndarray | None = None) -> LeakageResult:
    """The errors of ``rebuilt`` (pixels) against ``test_images`` (scaled to [0, 1]); the baseline guesses the
    mean of ``train_images``."""
    truth = test_images * PIXEL_MAX
    baseline = np.broadcast_to(train_images.mean(axis=0) * PIXEL_MAX, truth.shape)
    mse, base_mse = float(np.mean((rebuilt - truth) ** 2)), float(np.mean((baseline - truth) ** 2))
    pinv = _rmse(pinv_rebuilt, truth) if pinv_rebuilt is not None else None
    return LeakageResult(k, len(truth), float(np.sqrt(mse)), float(np.abs(rebuilt - truth).max()), pinv,
                         float(np.sqrt(base_mse)), 1.0 - mse / base_mse)


def _features(intermediate: np.ndarray) -> np.ndarray:
    return np.hstack([intermediate, np.ones((len(intermediate), 1))])


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))
