"""A program's time limit: a monotonic deadline checked between FHE operations, raising ProgramTimeout."""
from __future__ import annotations

import math
import time
from collections.abc import Callable

from cipherquorum.exceptions import ProgramTimeout, ValidationError

Clock = Callable[[], float]

UNLIMITED_S = 1e12
"""The limit of ``Deadline.unlimited()``: about 31,700 years."""


class Deadline:
    """A point on a monotonic clock after which a program must stop.

    Programs call ``check()`` between SEAL operations (each takes milliseconds), so an overrun is noticed
    within one operation and the hosting process keeps running. ``clock`` is injectable for tests.
    """

    def __init__(self, time_limit_s: float, *, clock: Clock = time.monotonic) -> None:
        """Start the clock now; raises ValidationError unless ``time_limit_s`` is a finite number > 0."""
        if isinstance(time_limit_s, bool) or not isinstance(time_limit_s, (int, float)) or not (
            math.isfinite(time_limit_s) and time_limit_s > 0
        ):
            raise ValidationError(f'"time_limit_s" must be a finite number > 0 (got time_limit_s={time_limit_s!r})')
        self._clock = clock
        self._time_limit_s = float(time_limit_s)
        self._started_s = clock()

    @classmethod
    def unlimited(cls) -> Deadline:
        """Return a deadline that never passes (for tools and tests that must not time out)."""
        return cls(UNLIMITED_S)

    @property
    def time_limit_s(self) -> float:
        """The limit this deadline was started with."""
        return self._time_limit_s

    def elapsed_s(self) -> float:
        """Seconds since the deadline was started."""
        return self._clock() - self._started_s

    def remaining_s(self) -> float:
        """Seconds left before the deadline (negative once it has passed)."""
        return self._time_limit_s - self.elapsed_s()

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return self.remaining_s() < 0

    def check(self, step: str = "") -> None:
        """Raise ProgramTimeout, naming the step, the elapsed time and the limit, if the deadline has passed."""
        elapsed_s = self.elapsed_s()
        if elapsed_s > self._time_limit_s:
            where = f" at {step}" if step else ""
            raise ProgramTimeout(
                f"time limit of {self._time_limit_s:g} s exceeded{where} (elapsed {elapsed_s:.3f} s)"
            )
