"""Ctrl-C during the task phase is recorded as well as raised, so a call that swallows it cannot hide it."""
from __future__ import annotations

import os
import signal
import threading

import pytest

from cipherquorum.nodes.driver.interrupts import sigint_recorded


def test_sigint_sets_the_flag_even_when_the_keyboard_interrupt_is_swallowed() -> None:
    """A library call that catches KeyboardInterrupt leaves the flag set; the previous handler is back after."""
    before = signal.getsignal(signal.SIGINT)
    with sigint_recorded() as ctrl_c:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # the handler runs between bytecodes, here
                pass
        except KeyboardInterrupt:
            pass  # what a swallowing library would do
        assert ctrl_c.is_set()
    assert signal.getsignal(signal.SIGINT) is before


def test_sigint_still_raises_keyboard_interrupt() -> None:
    """The handler raises KeyboardInterrupt as Python's own does."""
    with pytest.raises(KeyboardInterrupt), sigint_recorded() as ctrl_c:
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):
            pass
    assert ctrl_c.is_set()


def test_outside_the_main_thread_nothing_is_installed() -> None:
    """Signals are the main thread's; from another thread the handler is left alone and the flag stays clear."""
    seen: list[object] = []

    def worker() -> None:
        with sigint_recorded() as ctrl_c:
            seen.append(signal.getsignal(signal.SIGINT))
            seen.append(ctrl_c.is_set())

    before = signal.getsignal(signal.SIGINT)
    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [before, False]
