"""Keys of seed 000 (Fig. 3): generated locally, published with a sample block, checked, regenerated as versions."""
from __future__ import annotations

import random

import pytest

from cipherquorum.exceptions import KeyCheckFailed
from cipherquorum.fhe import KeyNeeds, SecretKeyOwner
from cipherquorum.marketstudy.keys import (
    BUNDLE_KIND,
    KeyOutcome,
    UserKeys,
    check_keys,
    generate_keys,
    provide_keys,
    published_keys,
)
from cipherquorum.storage import LocalIndexedStore


def _user(name: str) -> UserKeys:
    return UserKeys(name, "bfv-2048", KeyNeeds(), random.Random(name))


def test_first_keys_are_generated_then_checked_at_the_same_version(store: LocalIndexedStore) -> None:
    """A user without keys generates them (version 1); providing them again checks them and keeps version 1."""
    users = [_user("alice"), _user("bob")]
    first = provide_keys(store, users)
    assert [(r.outcome, r.version) for r in first] == [(KeyOutcome.GENERATED, 1)] * 2
    again = provide_keys(store, users)
    assert [(r.outcome, r.version) for r in again] == [(KeyOutcome.CHECKED, 1)] * 2
    assert again[0].bundle_ref == store.current("alice", BUNDLE_KIND, "bfv-2048").blob_id


def test_a_replaced_bundle_fails_the_check_and_new_keys_become_version_2(store: LocalIndexedStore) -> None:
    """A foreign bundle published under a user's name is found by the sample check; the user regenerates."""
    alice, mallory = _user("alice"), _user("mallory")
    provide_keys(store, [alice, mallory])
    foreign = published_keys(store, "mallory", "bfv-2048")
    store.publish_many([("alice", BUNDLE_KIND, "bfv-2048", foreign.bundle_ref)])
    [report] = provide_keys(store, [alice])
    assert report.outcome is KeyOutcome.REGENERATED and report.version == 3  # 1 own, 2 foreign, 3 new
    assert "alice" in report.refusal
    [checked] = provide_keys(store, [alice])
    assert checked.outcome is KeyOutcome.CHECKED


def test_a_lost_secret_fails_the_check_and_is_regenerated(store: LocalIndexedStore) -> None:
    """A user whose secret is gone cannot decrypt its sample; it gets new keys as a new version."""
    alice = _user("alice")
    provide_keys(store, [alice])
    alice.lose_secret()
    [report] = provide_keys(store, [alice])
    assert (report.outcome, report.version) == (KeyOutcome.REGENERATED, 2)


@pytest.mark.parametrize("case", ["foreign bundle", "foreign sample", "garbage bundle", "other preset"])
def test_check_keys_refuses_what_does_not_fit_the_local_secret(case: str) -> None:
    """Each mismatch between the published blobs and the local keys is a KeyCheckFailed naming the user."""
    rng = random.Random(1)
    _, local, blobs = generate_keys("bfv-2048", KeyNeeds(), rng)
    _, _, other = generate_keys("bfv-2048", KeyNeeds(), rng)
    bundle, sample = blobs.bundle, blobs.sample
    if case == "foreign bundle":
        bundle = other.bundle
    elif case == "foreign sample":
        sample = other.sample
    elif case == "garbage bundle":
        bundle = b"\x00" * 40
    else:
        bundle = SecretKeyOwner.generate("bfv-8192").bundle.to_bytes()
    with pytest.raises(KeyCheckFailed, match="user carol"):
        check_keys("carol", local, bundle, sample)
    assert check_keys("carol", local, blobs.bundle, blobs.sample).bundle.to_bytes() == blobs.bundle
