"""The one retry policy every storage caller uses: tried again while the storage restarts, until a deadline."""
from __future__ import annotations

from collections.abc import Callable

import pytest

from cipherquorum.exceptions import BlobNotFound, StorageRestarting, StorageUnavailable
from cipherquorum.nodes.storage_host import StorageRetry


class FakeTime:
    """A clock that moves only when the policy sleeps."""

    def __init__(self) -> None:
        self.now_s = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now_s

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now_s += seconds


def failing(errors: list[Exception]) -> tuple[Callable[[], str], list[int]]:
    """An attempt that raises ``errors`` one per try, then answers "blob"; and the count of tries."""
    tries = [0]

    def attempt() -> str:
        tries[0] += 1
        if errors:
            raise errors.pop(0)
        return "blob"

    return attempt, tries


def restarting(times: int) -> list[Exception]:
    return [StorageRestarting("storage.get_many: restarting") for _ in range(times)]


@pytest.mark.parametrize(("case", "errors", "until_s", "expected", "tries", "slept"), [
    ("answers at once", [], None, "blob", 1, []),
    ("back after two restarting answers", restarting(2), None, "blob", 3, [0.1, 0.2]),
    ("backoff doubles up to its cap", restarting(6), None, "blob", 7, [0.1, 0.2, 0.4, 0.8, 1.6, 2.0]),
    ("the last try comes at the deadline", restarting(2), 1000.25, "blob", 3, [0.1, 0.15]),
    ("restarting past the deadline", restarting(99), 1000.25, StorageUnavailable, 3, [0.1, 0.15]),
    ("restarting past the budget", restarting(99), None, StorageUnavailable, 35, None),
    ("a deadline already passed", restarting(1), 999.0, StorageUnavailable, 1, []),
    ("dead for good", [StorageUnavailable("storage: died")], None, StorageUnavailable, 1, []),
    ("a missing blob", [BlobNotFound("no blob")], None, BlobNotFound, 1, []),
])
def test_storage_calls_are_retried_while_the_storage_restarts_and_only_until_the_deadline(
        case: str, errors: list[Exception], until_s: float | None, expected: object, tries: int,
        slept: list[float] | None) -> None:
    """A restarting storage is waited for with exponential backoff; anything else, or a passed deadline, raises."""
    time = FakeTime()
    policy = StorageRetry(first_backoff_s=0.1, max_backoff_s=2.0, budget_s=60.0, clock=time.clock, sleep=time.sleep)
    attempt, counted = failing(list(errors))
    if isinstance(expected, type):
        with pytest.raises(expected) as raised:
            policy.call("fetch inputs", attempt, until_s=until_s)
        if expected is StorageUnavailable and errors and isinstance(errors[0], StorageRestarting):
            assert "fetch inputs" in str(raised.value) and f"{tries} tries" in str(raised.value)
    else:
        assert policy.call("fetch inputs", attempt, until_s=until_s) == expected
    assert counted[0] == tries
    if slept is not None:
        assert time.slept == slept
    assert time.now_s - 1000.0 <= 60.0 + 1e-9  # never past the budget
