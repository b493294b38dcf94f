"""Respondent profiles (Fig. 4): a public part, a private part under the respondent's key, one version per change."""
from __future__ import annotations

import random

import pytest

from cipherquorum.exceptions import CipherQuorumError, StaleProfileVersion, ValidationError
from cipherquorum.fhe import Ciphertext, KeyNeeds, SecretKeyOwner
from cipherquorum.marketstudy.keys import UserKeys, provide_keys
from cipherquorum.marketstudy.profiles import (
    PROFILE_KIND,
    ProfileBlob,
    ProfileValues,
    check_base_version,
    profile_blob,
    profile_of_row,
    public_of,
    read_profile,
    updated_profile,
)
from cipherquorum.storage import LocalIndexedStore
from cipherquorum.wire.codec import decode


def test_profiles_come_from_the_diabetes_rows_in_buckets() -> None:
    """Row 0 of scikit-learn's diabetes data (age 59, sex 2, bmi 32.1, bp 101) gives buckets (3, 1, 2, 2)."""
    assert profile_of_row(0).buckets == (3, 1, 2, 2)
    assert profile_of_row(442) == profile_of_row(0)


def test_each_change_is_a_new_version_and_the_current_one_decrypts(store: LocalIndexedStore) -> None:
    """A respondent publishes v1, changes to v2, and reads v2 back and decrypts it; v1 stays in the index."""
    keys = UserKeys("r1", "bfv-2048", KeyNeeds(), random.Random(1))
    [record] = provide_keys(store, [keys])
    first, second = profile_of_row(5), updated_profile(profile_of_row(5), 200)
    for base, values in ((0, first), (1, second)):
        current = len(store.versions("r1", PROFILE_KIND, PROFILE_KIND))
        check_base_version("r1", base, current)
        blob = store.put(profile_blob("r1", values, keys.owner, record.bundle_ref, base))
        store.publish_many([("r1", PROFILE_KIND, PROFILE_KIND, blob)])
    versions = store.versions("r1", PROFILE_KIND, PROFILE_KIND)
    assert [v.number for v in versions] == [1, 2] and versions[1].is_current
    current = store.get(store.current("r1", PROFILE_KIND, PROFILE_KIND).blob_id)
    assert read_profile(current, keys.owner) == second
    assert read_profile(store.get(versions[0].blob_id), keys.owner) == first
    assert public_of(current) == second.public()


def test_a_change_based_on_an_old_version_is_refused() -> None:
    """A profile change based on version 1 when version 2 is current is a StaleProfileVersion naming both."""
    with pytest.raises(StaleProfileVersion, match=r"respondent r9: .*version 1 .*current is 2"):
        check_base_version("r9", 1, 2)


def test_the_private_part_is_not_readable_under_another_key() -> None:
    """Another user's secret key does not decrypt the private part (it is not even a ciphertext of its bundle)."""
    owner, other = SecretKeyOwner.generate("bfv-2048"), SecretKeyOwner.generate("bfv-2048")
    values = profile_of_row(3)
    blob = decode(profile_blob("r1", values, owner, "0" * 64, 0), ProfileBlob)  # type: ignore[arg-type]
    decrypted = other.decrypt(Ciphertext.from_bytes(blob.private), 2)
    assert decrypted != values.private()


@pytest.mark.parametrize("buckets", [(0, 0, 0), (5, 0, 0, 0), (0, 2, 0, 0), (-1, 0, 0, 0), (0, 0, 0, True)])
def test_profile_values_outside_the_buckets_are_refused(buckets: tuple) -> None:
    """A profile with the wrong count of attributes or a bucket out of range is a ValidationError."""
    with pytest.raises(ValidationError):
        ProfileValues(buckets)


def test_reading_a_profile_with_the_wrong_preset_key_fails_typed() -> None:
    """Decrypting a profile with a key of another preset is a typed error, not a crash."""
    owner, other = SecretKeyOwner.generate("bfv-2048"), SecretKeyOwner.generate("bfv-8192")
    data = profile_blob("r1", profile_of_row(1), owner, "0" * 64, 0)  # type: ignore[arg-type]
    with pytest.raises(CipherQuorumError):
        read_profile(data, other)
