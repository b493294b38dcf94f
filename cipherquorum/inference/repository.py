"""The model repository in storage: each layer a blob with its metadata, a model card listing them, versioned."""
from __future__ import annotations

from dataclasses import dataclass

from cipherquorum.exceptions import ModelVersionNotFound, VersionNotFound
from cipherquorum.inference.model import Layer, Model
from cipherquorum.inference.partition import LayerMeta, layer_metadata
from cipherquorum.storage import IndexedStore, Publication
from cipherquorum.types import BlobId
from cipherquorum.wire.codec import decode, encode, message

MODEL_KIND = "model"
LAYER_KIND = "model-layer"


@message("PublishedLayer")
@dataclass(frozen=True)
class PublishedLayer:
    """One layer as stored: its weights and its metadata."""

    layer: Layer
    meta: LayerMeta


@message("ModelCard")
@dataclass(frozen=True)
class ModelCard:
    """What the index's "model" entry points at: the model's name, owner, its layers' blobs in order and its
    metadata (so a data user chooses k and makes its keys before fetching any weights)."""

    name: str
    owner: str
    layer_refs: tuple[str, ...]
    layers: tuple[LayerMeta, ...]
    test_accuracy: float


@dataclass(frozen=True)
class PublishedModel:
    """A model version as a data user finds it: its version number, the card's blob, the card and the model."""

    version: int
    card_ref: BlobId
    card: ModelCard
    model: Model


class ModelRepository:
    """Publishes and finds models in an IndexedStore: (owner, "model", name) versions point at model cards,
    (owner, "model-layer", "name/i") versions at each layer."""

    def __init__(self, store: IndexedStore) -> None:
        self._store = store

    def publish(self, owner: str, model: Model, test_accuracy: float) -> PublishedModel:
        """Store every layer and the card, and make them the current version in one index transaction."""
        metas = layer_metadata(model)
        layer_refs = self._store.put_many([encode(PublishedLayer(layer, meta))
                                           for layer, meta in zip(model.layers, metas)])
        card = ModelCard(model.name, owner, tuple(layer_refs), metas, float(test_accuracy))
        card_ref = self._store.put(encode(card))
        rows = [Publication(owner, LAYER_KIND, f"{model.name}/{i}", ref) for i, ref in enumerate(layer_refs)]
        versions = self._store.publish_many([*rows, Publication(owner, MODEL_KIND, model.name, card_ref)])
        return PublishedModel(versions[-1].number, card_ref, card, model)

    def card(self, owner: str, name: str, version: int | None = None) -> tuple[int, BlobId, ModelCard]:
        """The version number, blob id and card of a model version (the current one when None).

        Raises ModelVersionNotFound naming the model and the versions it has.
        """
        try:
            if version is None:
                found = self._store.current(owner, MODEL_KIND, name)
            else:
                known = self._store.versions(owner, MODEL_KIND, name)
                matches = [v for v in known if v.number == version]
                if not matches:
                    raise ModelVersionNotFound(
                        f"model {name!r} of {owner} has no version {version!r} "
                        f"(versions: {', '.join(str(v.number) for v in known) or 'none'})")
                found = matches[0]
        except VersionNotFound:
            raise ModelVersionNotFound(f"no model {name!r} is published by {owner}") from None
        return found.number, found.blob_id, decode(self._store.get(found.blob_id), ModelCard)

    def load(self, owner: str, name: str, version: int | None = None) -> PublishedModel:
        """The model version with every layer; raises ModelVersionNotFound."""
        number, card_ref, card = self.card(owner, name, version)
        blobs = self._store.get_many([BlobId(ref) for ref in card.layer_refs])
        layers = tuple(decode(blob, PublishedLayer).layer for blob in blobs)
        return PublishedModel(number, card_ref, card, Model(card.name, layers))
