"""Wall-clock limits on EVM executions that change nothing (eth_call, eth_estimateGas): a watchdog thread interrupts
the thread that runs one past its limit, and a budget bounds a batch's total.

py-evm and py_ecc are pure Python, so an execution can be interrupted between any two bytecodes: the watchdog
raises an exception in the running thread (``PyThreadState_SetAsyncExc``). That is safe only for work whose
state is thrown away whatever happens, as an eth_call's and an eth_estimateGas's is (eth-tester runs them on a
state built for them and reverted); a mined transaction must never run under a limit.
"""
from __future__ import annotations

import ctypes
import functools
import math
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from cipherquorum.devnet.rpc import SERVER_ERROR, RpcError

T = TypeVar("T")


class _Interrupted(BaseException):
    """Raised by the watchdog inside the thread it interrupts; a BaseException, so no ``except Exception`` of
    py-evm's or eth-tester's swallows it."""


def _deliver_pending() -> None:
    """Do nothing, in a Python frame of its own: an interruption still pending is raised as this frame starts."""


class Watchdog:
    """Runs work in the calling thread under a wall-clock limit, interrupting it from a thread of its own.

    One execution at a time (the devnet's chain lock sees to that). Arming wakes the watchdog only when the new
    deadline comes before the time it will wake by itself (the deadline of an earlier run, or never while idle),
    so a stream of runs that end in time costs the watchdog about one wake per limit, not one per run: the
    thread that runs them keeps the GIL. Past the deadline the watchdog raises
    ``_Interrupted`` in the running thread, again every ``REFIRE_S`` (a finalizer or a profiler may swallow
    one), for as long as the work has not left ``run``'s guarded region. Nothing can be raised after ``run``
    returns: the watchdog tests ``_inside`` and fires with no point in between where CPython switches threads
    or raises a pending interruption (a plain attribute read, then one C call through a prebuilt partial, the
    GIL held throughout), and the work leaves with a plain attribute store that stops all later fires, then
    lets one that is still pending be raised where it is caught. (A pending interruption is never cancelled
    with ``PyThreadState_SetAsyncExc(id, NULL)``: on CPython 3.11 that leaves the eval breaker set for good,
    which hangs a profiled thread.)
    """

    REFIRE_S = 0.02

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._inside = False
        self._pending = False
        self._deadline_s = 0.0
        self._fire: Callable[[], object] = _deliver_pending
        self._fire_ident: int | None = None
        self._sleeping_until_s = -math.inf  # while the watchdog waits: when it wakes by itself (inf: never)
        self._thread: threading.Thread | None = None

    def run(self, work: Callable[[], T], timeout_s: float, what: str) -> T:
        """Return ``work()``; raises RpcError (server error) naming ``what`` if it ran past ``timeout_s``."""
        try:
            try:
                self._arm(timeout_s)  # inside the guarded region: a fire that lands as it returns is caught
                return work()
            finally:
                self._inside = False
                if self._pending:
                    try:
                        _deliver_pending()
                    except _Interrupted:
                        pass
                    self._pending = False
        except _Interrupted:
            raise RpcError(SERVER_ERROR, f"{what} was aborted: it ran past its time limit of {timeout_s:g} s "
                                         "(the devnet bounds each call, and each batch, in wall time)") from None

    def _arm(self, timeout_s: float) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="devnet-watchdog", daemon=True)
                self._thread.start()
            ident = threading.get_ident()
            if ident != self._fire_ident:
                self._fire = functools.partial(ctypes.pythonapi.PyThreadState_SetAsyncExc, ctypes.c_ulong(ident),
                                               ctypes.py_object(_Interrupted))
                self._fire_ident = ident
            self._deadline_s = time.monotonic() + timeout_s
            self._pending = False
            self._inside = True
            if self._deadline_s < self._sleeping_until_s:  # else the watchdog wakes in time and looks again
                self._wake.notify()

    def _watch(self) -> None:
        with self._lock:
            while True:
                if not self._inside:
                    self._sleep(math.inf)
                    continue
                if self._deadline_s > time.monotonic():
                    self._sleep(self._deadline_s)
                    continue
                if self._inside:  # from this test to the fire, nothing lets the worker run
                    self._pending = True
                    self._fire()
                self._sleep(time.monotonic() + self.REFIRE_S)

    def _sleep(self, until_s: float) -> None:
        """Wait (holding ``_lock`` around it) until ``until_s`` or a notify from ``_arm``."""
        self._sleeping_until_s = until_s
        self._wake.wait(None if until_s == math.inf else max(0.0, until_s - time.monotonic()))
        self._sleeping_until_s = -math.inf


class TimeBudget:
    """Seconds of chain time a batch may still use; every request of the batch spends from it."""

    def __init__(self, seconds: float) -> None:
        self._left_s = seconds

    @property
    def left_s(self) -> float:
        """Seconds left (0 when spent)."""
        return max(0.0, self._left_s)

    def spend(self, seconds: float) -> None:
        """Take ``seconds`` off the budget."""
        self._left_s -= seconds


__all__ = ["TimeBudget", "Watchdog"]
