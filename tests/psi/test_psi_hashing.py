"""Cuckoo hashing of the requester's items, simple hashing and bin splitting of the provider's, windowing."""
from __future__ import annotations

import numpy as np
import pytest

from cipherquorum.exceptions import ProviderSetTooLarge, PsiQueryError, ValidationError
from cipherquorum.psi.hashing import HASH_COUNT, CuckooTable, bundle_items, positions
from cipherquorum.psi.windowing import PowerPlan, sent_powers


def test_the_cuckoo_table_puts_each_item_at_one_of_its_positions_alone() -> None:
    """Every item sits at one of its three hash positions, and no two items share a slot."""
    felts = [int(v) for v in np.random.default_rng(3).choice(2**30, size=200, replace=False)]
    table = CuckooTable.build(felts, 512)
    where = positions(felts, 512)
    assert len(set(table.slot_of)) == len(felts)
    assert all(slot in where[i] for i, slot in enumerate(table.slot_of))
    vector = table.query_vector(felts)
    assert [vector[slot] for slot in table.slot_of] == felts


def test_more_requester_items_than_half_the_slots_are_refused() -> None:
    """A requester set past half the table is refused with PsiQueryError naming the count."""
    with pytest.raises(PsiQueryError, match=r"<= 8 .*got 9"):
        CuckooTable.build(list(range(9)), 16)


def test_the_provider_puts_each_item_in_every_bin_of_its_positions() -> None:
    """Simple hashing: an item appears once in each distinct bin of its positions, in parts of <= part_size."""
    felts = [int(v) for v in np.random.default_rng(4).choice(2**30, size=300, replace=False)]
    labels = list(range(300))
    bundles = bundle_items(felts, labels, 64, 4, 16)
    where = positions(felts, 64)
    placed: dict[int, set[int]] = {}
    for b in range(bundles.count):
        assert bundles.counts[b].max() <= 4
        for slot in range(64):
            for j in range(int(bundles.counts[b][slot])):
                felt = int(bundles.felts[b][slot, j])
                index = felts.index(felt)
                assert int(bundles.labels[b][slot, j]) == labels[index]
                placed.setdefault(index, set()).add(slot)
    assert all(placed[i] == {int(p) for p in where[i]} for i in range(300))
    assert sum(int(c.sum()) for c in bundles.counts) == sum(len(set(map(int, where[i]))) for i in range(300))
    assert HASH_COUNT == 3


def test_a_bin_fuller_than_the_bundles_hold_is_refused() -> None:
    """More items in a bin than max_bundles * part_size gives ProviderSetTooLarge naming both numbers."""
    with pytest.raises(ProviderSetTooLarge, match=r"holds \d+ items but 1 bundles of part_size 2 hold 2"):
        bundle_items(list(range(1, 40)), None, 4, 2, 1)


@pytest.mark.parametrize("part_size, window_bits, sent, depth", [
    (16, 2, (1, 2, 3, 4, 8, 12, 16), 1),
    (16, 1, (1, 2, 4, 8, 16), 2),
    (4, 2, (1, 2, 3, 4), 0),
    (8, 3, (1, 2, 3, 4, 5, 6, 7, 8), 0),
])
def test_windowing_sends_few_powers_and_builds_every_other(part_size: int, window_bits: int, sent: tuple,
                                                           depth: int) -> None:
    """The plan sends the windowed powers, builds each power up to part_size from powers already there."""
    plan = PowerPlan.build(part_size, window_bits)
    assert plan.sent == sent == sent_powers(part_size, window_bits)
    assert plan.depth == depth
    have = set(plan.sent)
    for target, left, right in plan.products:
        assert left in have and right in have and left + right == target
        have.add(target)
    assert have >= set(range(1, part_size + 1))


@pytest.mark.parametrize("part_size, window_bits", [(0, 1), (4, 0), (4, 9)])
def test_windowing_refuses_sizes_out_of_range(part_size: int, window_bits: int) -> None:
    """A part size below 1 or a window outside 1..8 bits is refused naming both."""
    with pytest.raises(ValidationError, match="part_size"):
        sent_powers(part_size, window_bits)
