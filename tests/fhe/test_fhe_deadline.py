"""The cooperative time limit that programs check between FHE operations."""
from __future__ import annotations

import math

import pytest

from cipherquorum.exceptions import ProgramTimeout, ValidationError
from cipherquorum.fhe import Deadline


class FakeClock:
    """A monotonic clock a test moves by hand."""

    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


def test_deadline_passes_after_its_limit() -> None:
    """check() is silent before the limit and raises ProgramTimeout naming step, elapsed time and limit after."""
    clock = FakeClock()
    deadline = Deadline(2.5, clock=clock)
    clock.now_s += 2.5
    deadline.check("square")
    assert not deadline.expired() and deadline.remaining_s() == 0.0
    clock.now_s += 0.25
    assert deadline.expired() and deadline.elapsed_s() == 2.75
    with pytest.raises(ProgramTimeout, match=r"time limit of 2.5 s exceeded at square \(elapsed 2.750 s\)"):
        deadline.check("square")


def test_unlimited_deadline_does_not_pass() -> None:
    """Deadline.unlimited() never raises in any realistic run."""
    deadline = Deadline.unlimited()
    deadline.check()
    assert deadline.remaining_s() > 1e11


@pytest.mark.parametrize("limit", [0, -1.0, math.inf, math.nan, True, "5"])
def test_invalid_time_limits_are_rejected(limit: object) -> None:
    """A time limit must be a finite number > 0."""
    with pytest.raises(ValidationError, match='"time_limit_s" must be a finite number > 0'):
        Deadline(limit)  # type: ignore[arg-type]
