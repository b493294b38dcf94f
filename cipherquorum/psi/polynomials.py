"""The plaintext polynomials a node evaluates on the query, one coefficient vector per power, with the mask folded in.

Per bundle and slot, P(X) = prod (X - y) over the part's items and L(X) interpolates their (padded) labels.
The match result is r * P(x) (0 exactly where x is one of the part's items, uniform non-zero elsewhere) and
the label result L(x) + r' * P(x) (the label where P(x) = 0, uniform elsewhere), as in CLR17's labeled mode.
The masks r, r' are drawn from a generator seeded with the task's inputs, so every replica draws the same.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from cipherquorum.psi.field import Vector, interpolate, mul, poly_from_roots
from cipherquorum.psi.hashing import Bundles

_MASK = b"cipherquorum/psi/mask"


@dataclass(frozen=True)
class BundleCoefficients:
    """One bundle's plaintext coefficients, shape (slots, part_size + 1), lowest degree first."""

    match: Vector
    label: Vector | None


def mask_generator(seed: bytes, bundle: int) -> np.random.Generator:
    """Return the generator of bundle ``bundle``'s masks, from the task's seed."""
    digest = hashlib.sha256(_MASK + seed + bundle.to_bytes(4, "big")).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(digest[:16], "big")))


def _dummy_points(felts: Vector, counts: Vector, t: int) -> Vector:
    """Return the part's points padded to part_size with distinct dummy xs not among its items."""
    rows, width = felts.shape
    column = np.arange(width)
    real = column[None, :] < counts[:, None]
    xs = felts.copy()
    offset = np.zeros(rows, dtype=np.int64)
    for _ in range(64):
        dummies = (t - 1 - column[None, :] - offset[:, None] * width) % t
        xs = np.where(real, felts, dummies)
        ordered = np.sort(xs, axis=1)
        clash = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1) if width > 1 else np.zeros(rows, dtype=bool)
        if not clash.any():
            return xs
        offset = offset + clash
    raise AssertionError("no distinct dummy points after 64 shifts (the part's items repeat)")  # items are distinct


def bundle_coefficients(bundles: Bundles, t: int, seed: bytes, labeled: bool) -> list[BundleCoefficients]:
    """Return the masked coefficients of every bundle: P's roots are the part's items, L interpolates labels."""
    result = []
    for index in range(bundles.count):
        felts, labels, counts = bundles.felts[index], bundles.labels[index], bundles.counts[index]
        slots, width = felts.shape
        rng = mask_generator(seed, index)
        match_mask: Vector = np.asarray(rng.integers(1, t, size=slots, dtype=np.int64))
        label_mask: Vector = np.asarray(rng.integers(1, t, size=slots, dtype=np.int64))
        roots = poly_from_roots(felts, counts, t)
        match = mul(roots, match_mask[:, None], t)
        label = None
        if labeled:
            xs = _dummy_points(felts, counts, t)
            ys = np.where(np.arange(width)[None, :] < counts[:, None], labels, 0)
            through = interpolate(xs, ys, t)
            label = np.zeros((slots, width + 1), dtype=np.int64)
            label[:, :width] = through
            label = (label + mul(roots, label_mask[:, None], t)) % t
        result.append(BundleCoefficients(match=match, label=label))
    return result
