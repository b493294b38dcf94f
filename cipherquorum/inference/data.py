"""The real data: scikit-learn's bundled digits (8x8 images, pixels 0..16), a fixed split, and image checks."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cipherquorum.exceptions import ImageError

IMAGE_SHAPE = (8, 8)
PIXELS = 64
PIXEL_MAX = 16
"""Digits pixels are integers 0..16 (counts of set pixels in 4x4 blocks of the 32x32 original)."""
TEST_FRACTION = 0.3
SPLIT_SEED = 0


@dataclass(frozen=True)
class DigitsSplit:
    """The train and test images (rows of 64 pixels, 0..16) and labels of one fixed split."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def load_split(test_fraction: float = TEST_FRACTION, seed: int = SPLIT_SEED) -> DigitsSplit:
    """Return the bundled digits (1,797 images, read from the installed package, no network), split by a
    seeded, stratified shuffle: the same split every time for the same arguments."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data.astype(np.float64), digits.target.astype(np.int64), test_size=test_fraction,
        random_state=seed, stratify=digits.target)
    return DigitsSplit(x_train, y_train, x_test, y_test)


def validate_images(images: object) -> np.ndarray:
    """Return ``images`` as a float64 array of shape (count, 64), pixels scaled to [0, 1].

    Takes one 8x8 image, a (count, 8, 8) stack or (count, 64) rows of pixels in 0..PIXEL_MAX. Raises
    ImageError naming the shape or the first pixel that is not a finite number in range.
    """
    try:
        array = np.asarray(images, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ImageError(f"images must be numbers (got {type(images).__name__}: {exc})") from None
    if array.shape == IMAGE_SHAPE:
        array = array.reshape(1, PIXELS)
    elif array.ndim == 3 and array.shape[1:] == IMAGE_SHAPE:
        array = array.reshape(len(array), PIXELS)
    elif not (array.ndim == 2 and array.shape[1] == PIXELS):
        raise ImageError(f"images must be 8x8 (or rows of 64 pixels), one or a stack (got shape {array.shape})")
    if len(array) == 0:
        raise ImageError("images must hold at least one image (got shape (0, 64))")
    bad = ~np.isfinite(array) | (array < 0) | (array > PIXEL_MAX)
    if bad.any():
        image, pixel = (int(v) for v in np.argwhere(bad)[0])
        raise ImageError(f"image {image} pixel {pixel} must be in [0, {PIXEL_MAX}] (got {array[image, pixel]!r})")
    return array / PIXEL_MAX
