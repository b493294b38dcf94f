"""Ctrl-C during a run's task phase: recorded in a flag as well as raised, so a wait that swallows it still ends."""
from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def sigint_recorded() -> Iterator[threading.Event]:
    """Within the block, SIGINT sets the yielded event and then raises KeyboardInterrupt as Python's own handler
    does. A library call that catches the KeyboardInterrupt (or ignores SIGINT) cannot hide it: the driver's
    loops look at the event too. Outside the main thread (where signals cannot be handled) the event is never set.
    """
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def record(signum: int, frame: FrameType | None) -> None:
        flag.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, record)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


__all__ = ["sigint_recorded"]
