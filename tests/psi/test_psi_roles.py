"""The PSI roles as plain classes: bad input is refused with typed errors before anything is encrypted or sent."""
from __future__ import annotations

import pytest

from cipherquorum.exceptions import PsiItemError, PsiQueryError
from cipherquorum.fhe.programs.psi import PSI_PRESET
from cipherquorum.nodes.psi_provider import PsiProvider
from cipherquorum.nodes.psi_requester import PsiRequester

T = 1073692673


@pytest.mark.parametrize("items, message", [
    (["a", 2.5], r"requester_items\[1\].*float"),
    (["a", None], r"requester_items\[1\].*NoneType"),
    (["a", "a"], "repeats"),
])
def test_a_requester_refuses_items_that_do_not_hash_to_the_field(items: list, message: str) -> None:
    """The requester's items are checked before keys are made: PsiItemError names the item."""
    with pytest.raises(PsiItemError, match=message):
        PsiRequester(items, PSI_PRESET)


def test_a_requester_set_larger_than_half_the_slots_is_refused() -> None:
    """More requester items than half the preset's 8192 slots raise PsiQueryError naming the count."""
    with pytest.raises(PsiQueryError, match=r"<= 4096 .*got 4097"):
        PsiRequester(list(range(4097)), PSI_PRESET)


def test_a_provider_refuses_bad_items_and_labels() -> None:
    """The provider checks its items and that each label is an int in the field."""
    with pytest.raises(PsiItemError, match=r"provider_items\[0\]"):
        PsiProvider([b""], None, b"bank", T)
    with pytest.raises(PsiItemError, match=r"labels\[1\].*\[0, 1073692673\)"):
        PsiProvider(["a", "b"], [1, T], b"bank", T)


def test_a_requester_reads_only_queries_it_made() -> None:
    """Reading results before any OPRF answer, or under a salt never queried, raises PsiQueryError."""
    requester = PsiRequester(["a", "b"], PSI_PRESET)
    with pytest.raises(PsiQueryError, match="no OPRF answers"):
        requester.query(0, 8, 1)
    with pytest.raises(PsiQueryError, match="salt 3"):
        requester.read(3, [b"x"], False)
    with pytest.raises(PsiQueryError, match="OPRF answers must number 2"):
        requester.receive_oprf([b"x"])
