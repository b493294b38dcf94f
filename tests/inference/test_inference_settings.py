"""The [split_inference] scenario section reader: defaults, and each bad field refused by name."""
from __future__ import annotations

import pytest

from cipherquorum.exceptions import ScenarioError
from cipherquorum.inference.settings import read_settings
from cipherquorum.settings.toml import TableReader


def _read(table: dict) -> object:
    return read_settings(TableReader("test.toml", "split_inference", table))


def test_defaults_send_540_images_through_every_k() -> None:
    """An empty table: two users of 270 images, k = 1, 2 and 3, two market accounts."""
    settings = _read({})
    assert settings.users == 2 and settings.images == 540 and settings.ks == (1, 2, 3)  # type: ignore[attr-defined]
    assert settings.clients == 2 and settings.section == "split_inference"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("table", "message"), [
    ({"users": 0}, "users: must be >= 1"),
    ({"users": 3, "images_per_user": 200}, "images_per_user: users x images_per_user must be <= 540"),
    ({"ks": []}, "ks: must be distinct ints"),
    ({"ks": [1, 1]}, "ks: must be distinct ints"),
    ({"ks": [0, 2]}, "ks: item 0 must be in \\[1, 3\\] \\(got 0\\)"),
    ({"ks": [4]}, "ks: item 0 must be in \\[1, 3\\] \\(got 4\\)"),
    ({"ks": [True]}, "ks: item 0 must be an integer"),
    ({"ks": "1"}, "ks"),
    ({"model_version": -1}, "model_version: must be >= 0"),
    ({"time_limit_s": -2}, "time_limit_s: must be >= 0"),
    ({"oversized_batches": 65}, "oversized_batches: must be <= 64"),
    ({"colour": "red"}, "unknown field\\(s\\): colour"),
])
def test_bad_fields_are_refused_by_name(table: dict, message: str) -> None:
    """Each bad value raises ScenarioError naming the file, the field and the value."""
    with pytest.raises(ScenarioError, match=f"test.toml: split_inference.{message}" if "unknown" not in message
                       else message):
        _read(table)
