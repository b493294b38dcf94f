"""Feature-major packing: ciphertext i of a batch holds value i of up to n/2 images, one image per slot."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cipherquorum.exceptions import ValidationError


def batch_count(images: int, slots: int) -> int:
    """How many batches of ``slots`` images hold ``images`` images."""
    return -(-images // slots)


def pack(values: np.ndarray, slots: int) -> list[np.ndarray]:
    """Return the batches of ``values`` (images x width): each a width x slots array (feature-major), the
    last one padded with zero images. Raises ValidationError for an empty input or slots < 1."""
    if values.ndim != 2 or not len(values):
        raise ValidationError(f"values to pack must be images x width with >= 1 image (got shape {values.shape})")
    if slots < 1:
        raise ValidationError(f'"slots" must be >= 1 (got slots={slots})')
    batches = []
    for start in range(0, len(values), slots):
        chunk = values[start:start + slots]
        batch = np.zeros((values.shape[1], slots))
        batch[:, :len(chunk)] = chunk.T
        batches.append(batch)
    return batches


def unpack(vectors: Sequence[Sequence[float]], width: int, images: int) -> np.ndarray:
    """Return images x width from decrypted result vectors (``width`` per batch, batches in order).

    Raises ValidationError if the vectors are not whole batches or hold fewer slots than the images.
    """
    if not vectors or len(vectors) % width:
        raise ValidationError(f"result vectors must be whole batches of {width} (got {len(vectors)})")
    columns = []
    for start in range(0, len(vectors), width):
        columns.append(np.array([np.asarray(v, dtype=np.float64) for v in vectors[start:start + width]]))
    values = np.concatenate(columns, axis=1).T
    if len(values) < images:
        raise ValidationError(f"result vectors hold {len(values)} image slots (need {images})")
    return values[:images]
