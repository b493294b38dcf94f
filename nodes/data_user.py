"""The data user role: encrypts its images under its own CKKS key, asks for the first k layers, decrypts."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cipherquorum.exceptions import ValidationError
from cipherquorum.fhe import Ciphertext, KeyNeeds, SecretKeyOwner
from cipherquorum.inference.data import validate_images
from cipherquorum.inference.packing import pack, unpack
from cipherquorum.inference.partition import PRESET, PROGRAM, head_params
from cipherquorum.inference.repository import ModelRepository, PublishedModel
from cipherquorum.nodes.client import TaskSpec
from cipherquorum.storage import IndexedStore
from cipherquorum.types import BlobId


@dataclass(frozen=True)
class EncryptedImages:
    """A user's images as stored ciphertexts: ``width`` per batch (one per pixel), batches in order."""

    images: int
    images_per_ciphertext: int
    input_refs: tuple[BlobId, ...]
    width: int

    @property
    def batches(self) -> int:
        """How many batches of ``width`` ciphertexts the images fill."""
        return len(self.input_refs) // self.width


class DataUser:
    """One data user: its own CKKS keys (the secret never leaves this object), a model chosen from the
    repository, its images packed feature-major and encrypted, and the intermediates it decrypts."""

    def __init__(self, name: str, store: IndexedStore, owner: str, model: str, version: int | None = None,
                 preset: str = PRESET) -> None:
        """Find the model (raises ModelVersionNotFound), make keys for every layer's needs, store the bundle."""
        self._name = name
        self._store = store
        self._model = ModelRepository(store).load(owner, model, version)
        needs = KeyNeeds.union(meta.needs for meta in self._model.card.layers)
        self._keys = SecretKeyOwner.generate(preset, needs)
        self._key_bundle_ref = store.put(self._keys.bundle.to_bytes())

    @property
    def key_bundle_ref(self) -> BlobId:
        """The stored public key bundle the user's tasks run under."""
        return self._key_bundle_ref

    @property
    def model(self) -> PublishedModel:
        """The model version the user chose."""
        return self._model

    def encrypt_images(self, images: object) -> EncryptedImages:
        """Validate (raises ImageError), pack and encrypt ``images`` (pixels 0..16) and store the ciphertexts."""
        values = validate_images(images)
        slots = self._keys.preset.slots
        per_ciphertext = min(len(values), slots)
        blobs = [self._keys.encrypt(list(row)).to_bytes() for batch in pack(values, per_ciphertext) for row in batch]
        refs = self._store.put_many(blobs)
        return EncryptedImages(len(values), per_ciphertext, tuple(refs), values.shape[1])

    def task_spec(self, encrypted: EncryptedImages, k: int, label: str, *, repeat: int = 1,
                  images_per_ciphertext: int | None = None, time_limit_s: float | None = None) -> TaskSpec:
        """The market task that runs the first ``k`` layers on ``encrypted`` (raises LayerRangeError).

        ``repeat`` sends the batches that many times in one task and ``images_per_ciphertext`` widens the
        weights to more slots: together they make a batch larger than the user's images.
        """
        width = images_per_ciphertext or encrypted.images_per_ciphertext
        params = head_params(self._model.model, k, width)
        return TaskSpec(label=label, program=PROGRAM, input_refs=encrypted.input_refs * repeat, params=params,
                        key_bundle_ref=self._key_bundle_ref, preset=self._keys.preset.name,
                        time_limit_s=time_limit_s)

    def foreign_task_spec(self, images: object, preset: str, label: str) -> TaskSpec:
        """A task under this user's key bundle whose inputs are ciphertexts under another preset's parameters
        (a fresh key of ``preset``): the nodes must agree on INPUT_INVALID."""
        if preset == self._keys.preset.name:
            raise ValidationError(f'"preset" must differ from the user\'s {preset!r} for a foreign ciphertext')
        values = validate_images(images)
        other = SecretKeyOwner.generate(preset)
        blobs = [other.encrypt(list(row)).to_bytes() for row in pack(values, len(values))[0]]
        params = head_params(self._model.model, 1, len(values))
        return TaskSpec(label=label, program=PROGRAM, input_refs=tuple(self._store.put_many(blobs)), params=params,
                        key_bundle_ref=self._key_bundle_ref, preset=self._keys.preset.name)

    def decrypt(self, outputs: Sequence[bytes], k: int, images: int) -> np.ndarray:
        """The intermediate (images x width of layer k) from a task's result ciphertexts."""
        width = self._model.model.layers[self._model.model.check_split(k) - 1].out_width
        count = min(images, self._keys.preset.slots)
        vectors = [self._keys.decrypt(Ciphertext.from_bytes(blob), count) for blob in outputs]
        return unpack(vectors, width, images)
