"""The model owner and data user as plain classes: publish, encrypt, run the first k layers, decrypt, finish."""
from __future__ import annotations

import numpy as np
import pytest

from cipherquorum.exceptions import ImageError, LayerRangeError, ModelVersionNotFound
from cipherquorum.fhe import KeyBundle, execute
from cipherquorum.inference.data import DigitsSplit
from cipherquorum.inference.partition import PRESET
from cipherquorum.nodes.data_user import DataUser
from cipherquorum.nodes.model_owner import ModelOwner
from cipherquorum.storage import LocalIndexedStore, MemoryBlobStore, VersionIndex
from cipherquorum.types import ExecStatus

IMAGES = 5


@pytest.fixture(scope="module")
def roles() -> tuple[LocalIndexedStore, ModelOwner, DataUser]:
    """A store, a model owner that published version 1, and a data user of that version."""
    store = LocalIndexedStore(MemoryBlobStore(), VersionIndex())
    owner = ModelOwner("lab", store)
    owner.publish()
    return store, owner, DataUser("user-0", store, "lab", "digits-mlp", 1)


@pytest.mark.parametrize("k", [2])
def test_a_users_digits_come_back_classified_as_the_plaintext_model_does(
        k: int, roles: tuple[LocalIndexedStore, ModelOwner, DataUser], digits: DigitsSplit) -> None:
    """The user's stored ciphertexts, run as a node would under its bundle, decrypt to an intermediate from
    which the owner's remaining layers give the plaintext model's classes."""
    store, owner, user = roles
    images = digits.test_images[:IMAGES]
    encrypted = user.encrypt_images(images)
    assert encrypted.batches == 1 and len(encrypted.input_refs) == 64
    spec = user.task_spec(encrypted, k, f"k={k}")
    assert spec.preset == PRESET and spec.key_bundle_ref == user.key_bundle_ref
    bundle = KeyBundle.from_bytes(store.get(user.key_bundle_ref))
    outcome = execute(spec.program, bundle, store.get_many(list(spec.input_refs)), spec.params, 60.0)
    assert outcome.status is ExecStatus.SUCCESS
    intermediate = user.decrypt(outcome.output_bytes(), k, IMAGES)
    model = user.model.model
    assert np.abs(intermediate - model.run(images / 16, 0, k)).max() < 1e-3
    assert np.array_equal(owner.finish(1, k, intermediate), model.predict(images / 16))


def test_the_users_bad_requests_get_typed_errors(roles: tuple[LocalIndexedStore, ModelOwner, DataUser],
                                                 digits: DigitsSplit) -> None:
    """A wrong image, a k outside the model and a missing version are refused with their own errors."""
    store, owner, user = roles
    with pytest.raises(ImageError):
        user.encrypt_images(np.zeros((2, 65)))
    encrypted = user.encrypt_images(digits.test_images[:2])
    with pytest.raises(LayerRangeError):
        user.task_spec(encrypted, 4, "k=4")
    with pytest.raises(ModelVersionNotFound, match="no version 2"):
        DataUser("user-1", store, "lab", "digits-mlp", 2)
    with pytest.raises(ModelVersionNotFound):
        owner.finish(9, 1, np.zeros((1, 32)))


def test_the_owner_rebuilds_images_from_what_it_receives(roles: tuple[LocalIndexedStore, ModelOwner, DataUser],
                                                         digits: DigitsSplit) -> None:
    """From the first layer's output the owner's decoder gets within 2 grey levels rms of the held-out images."""
    _store, owner, user = roles
    images = digits.test_images[:50]
    rebuilt, pinv = owner.rebuild(1, 1, user.model.model.run(images / 16, 0, 1))
    assert pinv is not None and rebuilt.shape == images.shape
    assert float(np.sqrt(np.mean((rebuilt - images) ** 2))) < 2.0
