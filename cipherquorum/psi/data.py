"""The seed's example as data: a bank's list of customer ids with income classes, a car vendor's client ids.

Identifiers are synthetic (no bundled data set holds people's ids): 12-digit customer numbers drawn without
repetition from the run's seed; the income class is one of INCOME_CLASSES.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

INCOME_CLASSES = ("low", "lower-middle", "middle", "upper-middle", "high")
"""The provider's labels, by index."""


@dataclass(frozen=True)
class PsiData:
    """One round's sets: the provider's ids and labels, and the requester's ids (``overlap`` share in common)."""

    provider: tuple[str, ...]
    labels: tuple[int, ...]
    requester: tuple[str, ...]


def make_data(seed: str, round_index: int, provider_items: int, requester_items: int, overlap: float) -> PsiData:
    """Return the round's sets, reproducible from ``seed``; the requester's other ids are not the provider's."""
    digest = hashlib.sha256(f"cipherquorum/psi/data/{seed}/{round_index}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "big"))
    shared = min(provider_items, round(requester_items * overlap))
    total = provider_items + requester_items - shared
    numbers = rng.choice(10**12, size=total, replace=False)
    ids = [f"{int(number):012d}" for number in numbers]
    provider = tuple(ids[:provider_items])
    picks = rng.choice(provider_items, size=shared, replace=False)
    requester = [provider[int(i)] for i in picks] + ids[provider_items:]
    order = rng.permutation(len(requester))
    labels = tuple(int(v) for v in rng.integers(0, len(INCOME_CLASSES), size=provider_items))
    return PsiData(provider, labels, tuple(requester[int(i)] for i in order))
