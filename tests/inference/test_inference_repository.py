"""The model repository: layers published as blobs with metadata, versioned in the index, found again."""
from __future__ import annotations

import pytest

from cipherquorum.exceptions import ModelVersionNotFound
from cipherquorum.inference.model import Model
from cipherquorum.inference.partition import PRESET, PROGRAM
from cipherquorum.inference.repository import LAYER_KIND, MODEL_KIND, ModelRepository
from cipherquorum.storage import LocalIndexedStore, MemoryBlobStore, VersionIndex


@pytest.fixture
def store() -> LocalIndexedStore:
    """An in-memory blob store with an in-memory index."""
    return LocalIndexedStore(MemoryBlobStore(), VersionIndex())


def test_a_published_model_loads_back_with_its_layer_metadata(store: LocalIndexedStore, model: Model) -> None:
    """Publishing stores each layer and a card; loading gives the same model and per-layer metadata."""
    repository = ModelRepository(store)
    published = repository.publish("lab", model, 0.97)
    loaded = repository.load("lab", model.name)
    assert loaded.version == published.version == 1
    assert loaded.model == model
    metas = loaded.card.layers
    assert [(m.kind, m.in_width, m.out_width, m.relin, m.rotation_steps) for m in metas] == [
        ("dense", 64, 32, False, ()), ("square", 32, 32, True, ()), ("dense", 32, 10, False, ())]
    assert {m.preset for m in metas} == {PRESET} and {m.program for m in metas} == {PROGRAM}
    assert [v.number for v in store.versions("lab", LAYER_KIND, f"{model.name}/1")] == [1]
    assert store.current("lab", MODEL_KIND, model.name).blob_id == published.card_ref


def test_each_publication_is_a_new_version_and_old_ones_stay(store: LocalIndexedStore, model: Model) -> None:
    """A second publication becomes current; version 1 can still be loaded."""
    repository = ModelRepository(store)
    repository.publish("lab", model, 0.97)
    retrained = Model(model.name, model.layers[:2])
    repository.publish("lab", retrained, 0.5)
    assert repository.load("lab", model.name).model == retrained
    assert repository.load("lab", model.name, 1).model == model
    assert repository.load("lab", model.name, 2).version == 2


@pytest.mark.parametrize(("owner", "name", "version", "message"), [
    ("lab", "digits-mlp", 7, "has no version 7 \\(versions: 1\\)"),
    ("lab", "digits-mlp", 0, "has no version 0"),
    ("lab", "other", None, "no model 'other'"),
    ("someone", "digits-mlp", 1, "has no version 1 \\(versions: none\\)"),
])
def test_a_model_version_that_does_not_exist_is_refused(store: LocalIndexedStore, model: Model, owner: str,
                                                        name: str, version: int | None, message: str) -> None:
    """Asking for a missing model or version raises ModelVersionNotFound naming it and the known versions."""
    ModelRepository(store).publish("lab", model, 0.97)
    with pytest.raises(ModelVersionNotFound, match=message):
        ModelRepository(store).load(owner, name, version)
