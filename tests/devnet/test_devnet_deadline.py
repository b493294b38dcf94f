"""The watchdog interrupts work that runs past its limit, returns what finishes in time, and leaves nothing to be
raised after it returns; a time budget is spent down to zero."""
from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import time

import pytest

from cipherquorum.devnet.deadline import TimeBudget, Watchdog
from cipherquorum.devnet.rpc import RpcError


def spin_for(seconds: float) -> str:
    """Pure-Python work of about ``seconds`` (calls and backward jumps, as py-evm's loop has)."""
    end_s = time.perf_counter() + seconds
    count = 0
    while time.perf_counter() < end_s:
        count += 1
    return "done"


def spin_forever() -> None:
    while True:
        pass


def test_work_past_its_limit_is_interrupted_with_an_error_naming_it() -> None:
    """A loop that never ends comes back as RpcError -32000 naming the work and its limit, on time."""
    started_s = time.perf_counter()
    with pytest.raises(RpcError, match=r"eth_call was aborted: it ran past its time limit of 0\.2 s") as caught:
        Watchdog().run(spin_forever, 0.2, "eth_call")
    assert caught.value.code == -32000
    assert time.perf_counter() - started_s < 1.0


def test_work_that_finishes_in_time_returns_its_value() -> None:
    """What work() returns within its limit is what run returns."""
    assert Watchdog().run(lambda: spin_for(0.01), 1.0, "work") == "done"


def test_no_interruption_lands_after_run_returns() -> None:
    """300 runs whose work ends just before, at or after the limit each return or raise RpcError inside run;
    the code that runs after them is never interrupted."""
    watchdog = Watchdog()
    rng = random.Random(14)
    outcomes = {"returned": 0, "interrupted": 0}
    for _ in range(300):
        try:
            watchdog.run(lambda: spin_for(rng.uniform(0.0, 0.006)), 0.003, "work")
            outcomes["returned"] += 1
        except RpcError:
            outcomes["interrupted"] += 1
        spin_for(0.001)  # an interruption that escaped run would be raised here and fail the test
    spin_for(0.1)
    assert outcomes["returned"] > 0 and outcomes["interrupted"] > 0


def test_work_is_interrupted_under_a_profiler() -> None:
    """A profiled thread is interrupted too (cancelling a pending interruption would hang it on CPython 3.11)."""
    code = textwrap.dedent("""
        import cProfile
        from cipherquorum.devnet.deadline import Watchdog
        from cipherquorum.devnet.rpc import RpcError
        watchdog = Watchdog()
        def spin():
            while True:
                pass
        for _ in range(3):
            profiler = cProfile.Profile()
            profiler.enable()
            try:
                watchdog.run(spin, 0.1, "spin")
            except RpcError:
                pass
            profiler.disable()
        print("interrupted thrice")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "interrupted thrice", result.stderr


def test_a_shorter_limit_after_a_longer_one_is_kept() -> None:
    """The watchdog sleeps toward a run's deadline; a later run with an earlier deadline (a batch's last chain
    time) wakes it, so that run is still interrupted on time."""
    watchdog = Watchdog()
    assert watchdog.run(lambda: spin_for(0.01), 30.0, "long limit") == "done"
    started_s = time.perf_counter()
    with pytest.raises(RpcError, match="short limit was aborted"):
        watchdog.run(spin_forever, 0.1, "short limit")
    assert time.perf_counter() - started_s < 1.0


def test_a_time_budget_is_spent_down_to_zero() -> None:
    """What is spent comes off what is left, which never goes below zero."""
    budget = TimeBudget(2.0)
    budget.spend(0.5)
    assert budget.left_s == 1.5
    budget.spend(5.0)
    assert budget.left_s == 0.0
