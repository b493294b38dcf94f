"""PSI items and labels: what hashes to the field, and the typed errors for what does not."""
from __future__ import annotations

import pytest

from cipherquorum.exceptions import PsiItemError
from cipherquorum.psi.items import check_items, check_labels, item_bytes


@pytest.mark.parametrize("item, message", [
    (1.5, "got float"),
    (None, "got NoneType"),
    (True, "got bool"),
    ([1, 2], "got list"),
    ({"id": 1}, "got dict"),
    (b"", "got 0 bytes"),
    ("", "got 0 bytes"),
    (2**300, "got 301 bits"),
    ("\ud800", "valid Unicode"),
    (b"x" * 2000, "got 2000 bytes"),
])
def test_an_item_that_does_not_hash_to_the_field_is_refused_naming_it(item: object, message: str) -> None:
    """An item that is not non-empty bytes, str or int (of bounded size) raises PsiItemError naming the field."""
    with pytest.raises(PsiItemError, match=r"requester_items\[1\].*" + message):
        check_items(["ok", item], "requester_items")


def test_bytes_text_and_ints_are_distinct_items() -> None:
    """b"7", "7" and 7 are three items; -7 and 7 differ; a repeated item is refused naming both places."""
    assert len({item_bytes(b"7"), item_bytes("7"), item_bytes(7), item_bytes(-7)}) == 4
    with pytest.raises(PsiItemError, match=r'"p\[2\]" repeats "p\[0\]"'):
        check_items(["a", "b", "a"], "p")


@pytest.mark.parametrize("labels, message", [
    ([1, 2], "one label per item"),
    ([1, 2, -1], r"labels\[2\].*got -1"),
    ([1, 2, 101], r"labels\[2\].*\[0, 101\)"),
    ([1, "2", 3], r"labels\[1\]"),
    ([1, True, 3], r"labels\[1\]"),
])
def test_bad_labels_are_refused_naming_the_label(labels: list, message: str) -> None:
    """Labels must be one int in [0, bound) per item."""
    with pytest.raises(PsiItemError, match=message):
        check_labels(labels, 3, 101, "labels")
