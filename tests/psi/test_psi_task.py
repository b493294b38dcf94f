"""A psi@1 task's params: every rule is checked and a bad value is named, a too large provider set refused."""
from __future__ import annotations

import pytest

from cipherquorum.exceptions import ProviderSetTooLarge, PsiItemError, ValidationError
from cipherquorum.psi.task import PsiTask, capacity

T = 1073692673
SLOTS = 8192
GOOD = {"items": [5, 9, 12], "labels": [1, 2, 3], "part_size": 8, "window_bits": 2, "max_bundles": 4,
        "query_digest": "ab" * 32}


def test_good_params_round_trip() -> None:
    """A task read from params gives back the same params, and its plan sends the windowed powers."""
    task = PsiTask.from_params(GOOD, SLOTS, T)
    assert task.to_params() == GOOD
    assert task.labeled and task.plan.sent == (1, 2, 3, 4, 8)


@pytest.mark.parametrize("change, error, message", [
    ({"colour": 1}, ValidationError, "no parameter 'colour'"),
    ({"part_size": 0}, ValidationError, r'"part_size" must be an int in \[1, 64\]'),
    ({"window_bits": 5}, ValidationError, "window_bits"),
    ({"max_bundles": "4"}, ValidationError, "max_bundles"),
    ({"items": []}, ValidationError, "non-empty list"),
    ({"items": [5, T, 12]}, PsiItemError, r"items\[1\].*got 1073692673"),
    ({"items": [5, 1.5, 12]}, PsiItemError, r"items\[1\]"),
    ({"items": [5, 9, 5]}, PsiItemError, r'"items\[2\]" repeats "items\[0\]"'),
    ({"labels": [1, 2]}, PsiItemError, "one label per item"),
    ({"labels": [1, -2, 3]}, PsiItemError, r"labels\[1\]"),
    ({"query_digest": "xyz"}, ValidationError, "query_digest"),
    ({"part_size": 64, "window_bits": 1}, ValidationError, "multiplications deep"),
])
def test_bad_params_are_refused_naming_the_parameter(change: dict, error: type, message: str) -> None:
    """Each broken rule raises the typed error whose message names the parameter and the value."""
    with pytest.raises(error, match=message):
        PsiTask.from_params({**GOOD, **change}, SLOTS, T)


def test_a_provider_set_larger_than_its_parameters_allow_is_refused() -> None:
    """More items than slots * part_size * max_bundles / 3 raises ProviderSetTooLarge naming both counts."""
    room = capacity(64, 2, 1)
    params = {**GOOD, "items": list(range(room + 1)), "part_size": 2, "max_bundles": 1}
    del params["labels"]
    with pytest.raises(ProviderSetTooLarge, match=rf'"items" must number <= {room} .*got {room + 1} items'):
        PsiTask.from_params(params, 64, T)
    fits = PsiTask.from_params({**params, "items": list(range(room))}, 64, T)
    with pytest.raises(ProviderSetTooLarge, match="a provider bin holds"):
        fits.bundles(64)  # fits the count, but hashing fills some bin past 2 items
