"""Where items go in the n slots: three hash positions per field element, the requester's cuckoo table, and the
provider's bins (simple hashing under every position) split into bundles of parts of bounded size."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cipherquorum.exceptions import ProviderSetTooLarge, PsiQueryError
from cipherquorum.psi.field import Vector

HASH_COUNT = 3
"""Hash functions of the cuckoo table (CLR17 and APSI use three)."""
MAX_EVICTIONS = 500
"""Evictions one insertion may cause before the cuckoo table gives up."""
_MIX = (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB)
_MASK64 = (1 << 64) - 1


def positions(felts: Sequence[int] | Vector, slots: int) -> Vector:
    """Return the HASH_COUNT slot positions of each field element, shape (len(felts), HASH_COUNT).

    Position i is splitmix64(felt + i * golden) mod slots: both sides compute it from the field element alone.
    """
    values = np.asarray(felts, dtype=np.uint64)
    columns = []
    with np.errstate(over="ignore"):
        for index in range(HASH_COUNT):
            z = values + np.uint64((index + 1) * _MIX[0] & _MASK64)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(_MIX[1])
            z = (z ^ (z >> np.uint64(27))) * np.uint64(_MIX[2])
            z = z ^ (z >> np.uint64(31))
            columns.append((z % np.uint64(slots)).astype(np.int64))
    return np.stack(columns, axis=1) if columns else np.zeros((0, HASH_COUNT), dtype=np.int64)


@dataclass(frozen=True)
class CuckooTable:
    """The requester's table: ``slot_of[i]`` is the slot item i sits in; every slot holds at most one item."""

    slots: int
    slot_of: tuple[int, ...]

    @classmethod
    def build(cls, felts: Sequence[int], slots: int, seed: int = 0) -> CuckooTable:
        """Place each item at one of its positions, evicting by random walk (seeded, so it is reproducible).

        Raises PsiQueryError if there are more items than half the slots, or an insertion fails.
        """
        if len(felts) > slots // 2:
            raise PsiQueryError(f"requester items must number <= {slots // 2} (half the {slots} slots) "
                                f"(got {len(felts)})")
        choices = positions(felts, slots)
        rng = np.random.default_rng(seed)
        owner = np.full(slots, -1, dtype=np.int64)
        slot_of = np.full(len(felts), -1, dtype=np.int64)
        for start in range(len(felts)):
            item, evictions = start, 0
            while True:
                free = [int(p) for p in choices[item] if owner[p] < 0]
                if free:
                    owner[free[0]], slot_of[item] = item, free[0]
                    break
                if evictions >= MAX_EVICTIONS:
                    raise PsiQueryError(f"cuckoo hashing failed after {MAX_EVICTIONS} evictions at requester item "
                                        f"{start} of {len(felts)} (two items share all positions?)")
                slot = int(choices[item][rng.integers(HASH_COUNT)])
                evicted = int(owner[slot])
                owner[slot], slot_of[item] = item, slot
                slot_of[evicted] = -1
                item = evicted
                evictions += 1
        return cls(slots=slots, slot_of=tuple(int(s) for s in slot_of))

    def query_vector(self, felts: Sequence[int]) -> list[int]:
        """Return the n slot values of the query: each item's field element at its slot, 0 elsewhere."""
        vector = [0] * self.slots
        for felt, slot in zip(felts, self.slot_of):
            vector[slot] = int(felt)
        return vector


@dataclass(frozen=True)
class Bundles:
    """The provider's bins split into bundles: bundle b holds part b (at most ``part_size`` items) of each bin.

    ``felts[b]`` and ``labels[b]`` have shape (slots, part_size); ``counts[b][s]`` is how many are real.
    """

    part_size: int
    felts: tuple[Vector, ...]
    labels: tuple[Vector, ...]
    counts: tuple[Vector, ...]

    @property
    def count(self) -> int:
        """How many bundles there are (each gives one match result, and one label result when labeled)."""
        return len(self.felts)


def bundle_items(felts: Sequence[int], labels: Sequence[int] | None, slots: int, part_size: int,
                 max_bundles: int) -> Bundles:
    """Put each item into the bins of all its (distinct) positions and split every bin into parts.

    ``labels`` None: an unlabeled set (labels are then 0). Items keep their order inside a bin, so every
    replica builds the same bundles. Raises ProviderSetTooLarge when a bin holds more than
    ``max_bundles * part_size`` items.
    """
    table = positions(felts, slots)
    values = np.asarray(felts, dtype=np.int64)
    tags = np.asarray(labels if labels is not None else [0] * len(values), dtype=np.int64)
    rows = np.repeat(np.arange(len(values)), HASH_COUNT)
    bins = table.reshape(-1)
    first = np.ones(table.shape, dtype=bool)  # an item whose positions coincide goes in once
    for index in range(1, HASH_COUNT):
        first[:, index] = (table[:, :index] != table[:, index:index + 1]).all(axis=1)
    keep = first.reshape(-1)
    rows, bins = rows[keep], bins[keep]
    order = np.lexsort((rows, bins))  # by bin, then by item order
    rows, bins = rows[order], bins[order]
    loads = np.bincount(bins, minlength=slots)
    fullest = int(loads.max()) if len(loads) else 0
    if fullest > max_bundles * part_size:
        raise ProviderSetTooLarge(
            f"a provider bin holds {fullest} items but {max_bundles} bundles of part_size {part_size} hold "
            f"{max_bundles * part_size} (provider set of {len(values)} items in {slots} slots: raise max_bundles or "
            f"part_size, or split the set across tasks)")
    starts = np.concatenate(([0], np.cumsum(loads)[:-1]))
    rank = np.arange(len(bins)) - starts[bins]
    count = max(1, -(-fullest // part_size))
    felt_parts, label_parts, count_parts = [], [], []
    for bundle in range(count):
        chosen = (rank >= bundle * part_size) & (rank < (bundle + 1) * part_size)
        felt_grid = np.zeros((slots, part_size), dtype=np.int64)
        label_grid = np.zeros((slots, part_size), dtype=np.int64)
        column = rank[chosen] - bundle * part_size
        felt_grid[bins[chosen], column] = values[rows[chosen]]
        label_grid[bins[chosen], column] = tags[rows[chosen]]
        felt_parts.append(felt_grid)
        label_parts.append(label_grid)
        count_parts.append(np.clip(loads - bundle * part_size, 0, part_size).astype(np.int64))
    return Bundles(part_size, tuple(felt_parts), tuple(label_parts), tuple(count_parts))
