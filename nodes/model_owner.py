"""The model owner role: trains its model on the digits, publishes it layer by layer, finishes inferences."""
from __future__ import annotations

import numpy as np

from cipherquorum.inference.data import load_split, validate_images
from cipherquorum.inference.leakage import fit_decoder, pinv_reconstruct, reconstruct
from cipherquorum.inference.repository import ModelRepository, PublishedModel
from cipherquorum.inference.train import TrainingConfig, train_model
from cipherquorum.storage import IndexedStore


class ModelOwner:
    """Trains a model on the training part of the fixed digits split, publishes it to the model repository
    and runs the remaining layers on the intermediates data users send (it never sees their images).

    It is also the attacker of the leakage measurement: ``rebuild`` is what it can make of an intermediate
    with its own model and training images.
    """

    def __init__(self, owner: str, store: IndexedStore, model_name: str = "digits-mlp",
                 config: TrainingConfig | None = None) -> None:
        self._owner = owner
        self._repository = ModelRepository(store)
        split = load_split()
        self._train = validate_images(split.train_images)
        self._model = train_model(self._train, split.train_labels, model_name, config or TrainingConfig())
        self._test_accuracy = float(np.mean(self._model.predict(validate_images(split.test_images))
                                            == split.test_labels))
        self._published: dict[int, PublishedModel] = {}

    @property
    def owner(self) -> str:
        """The owner's name in the repository's index."""
        return self._owner

    def publish(self) -> PublishedModel:
        """Publish every layer with its metadata as the model's next version; return it."""
        published = self._repository.publish(self._owner, self._model, self._test_accuracy)
        self._published[published.version] = published
        return published

    def finish(self, version: int, k: int, intermediate: np.ndarray) -> np.ndarray:
        """The classes for the output of the first ``k`` layers of model ``version`` (images x width).

        Raises ModelVersionNotFound, LayerRangeError for a bad k, ValidationError for a wrong intermediate.
        """
        return self._version(version).model.finish(intermediate, k)

    def rebuild(self, version: int, k: int, intermediate: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The owner's reconstruction of the images behind an intermediate: the least-squares decoder fitted
        on its training images, and (k = 1) the pseudo-inverse of its first layer. Pixels 0..16."""
        model = self._version(version).model
        model.check_split(k)
        decoded = reconstruct(fit_decoder(model, k, self._train), intermediate)
        return decoded, (pinv_reconstruct(model, intermediate, self._train) if k == 1 else None)

    def _version(self, version: int) -> PublishedModel:
        published = self._published.get(version)
        if published is None:
            name = self._model.name
            published = self._repository.load(self._owner, name, version)
            self._published[version] = published
        return published
