"""The OPRF: the requester gets the provider's keyed hash of its own items only, and storage readers get nothing."""
from __future__ import annotations

import hashlib

import pytest

from cipherquorum.exceptions import PsiQueryError
from cipherquorum.psi.items import check_items
from cipherquorum.psi.oprf import BlindedItems, OprfKey, field_element, hash_to_point
from cipherquorum.psi.published import publish_set, split_sets

T = 1073692673


def test_the_unblinded_answer_is_the_providers_own_hash_of_the_item() -> None:
    """k*H(x) reached through blinding equals the provider's direct hash of x, and differs for other items."""
    key = OprfKey.from_seed(b"bank")
    encoded = check_items(["alice", "bob", 7], "items")
    blinded = BlindedItems(encoded)
    outputs = blinded.unblind(key.evaluate(blinded.points))
    assert outputs == key.hash_items(encoded)
    assert len(set(outputs)) == 3
    assert OprfKey.from_seed(b"other bank").hash_items(encoded) != outputs


def test_the_provider_never_sees_the_hashed_item() -> None:
    """What the provider receives is a fresh blinding each time: neither H(x) nor the same point twice."""
    encoded = check_items(["alice"], "items")
    first, second = BlindedItems(encoded).points, BlindedItems(encoded).points
    assert first != second
    assert hash_to_point(encoded[0]).format(compressed=True) not in first + second


def test_a_storage_reader_cannot_tell_which_items_the_provider_published() -> None:
    """Attack: hashing candidate ids without the provider's key (plainly, or under a guessed key) matches none of
    the published field elements, though the candidates include every item the provider holds."""
    provider = [f"{i:012d}" for i in range(300)]
    published = publish_set(OprfKey.from_seed(b"bank").hash_items(check_items(provider, "p")), None, T)
    guessed = OprfKey.from_seed(b"guess").hash_items(check_items(provider, "p"))
    plain = [hashlib.sha256(item.encode()).digest() for item in provider]
    for outputs in (guessed, plain):
        assert not {field_element(o, published.salt, T) for o in outputs} & set(published.items)


def test_a_published_set_has_distinct_elements_and_splits_into_tasks() -> None:
    """The salt keeps a set's field elements distinct, even in a tiny field; a set splits into capped tasks."""
    outputs = OprfKey.from_seed(b"bank").hash_items(check_items(list(range(40)), "p"))
    small = publish_set(outputs, None, 1021)
    assert len(set(small.items)) == 40
    parts = split_sets(outputs, list(range(40)), T, 15)
    assert [len(p.items) for p in parts] == [15, 15, 10]
    assert all(p.labels is not None and len(p.labels) == len(p.items) for p in parts)


@pytest.mark.parametrize("point, message", [
    (b"\x02" + b"\x00" * 32, "not a point"),
    (b"\x05" * 33, "not a point"),
    (b"\x02" * 10, "33-byte"),
    ("02ab", "33-byte"),
])
def test_the_provider_refuses_a_blinded_point_that_does_not_parse(point: object, message: str) -> None:
    """A blinded item that is not a compressed secp256k1 point raises PsiQueryError naming its index."""
    with pytest.raises(PsiQueryError, match=r"blinded\[1\].*" + message):
        OprfKey.from_seed(b"bank").evaluate([BlindedItems([b"sx"]).points[0], point])  # type: ignore[list-item]
