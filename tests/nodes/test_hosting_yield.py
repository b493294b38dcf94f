"""Roles of a local run yield the CPU to the chain: every thread of their process runs under SCHED_IDLE, also
the threads they start later and those of a restarted process; the chain's process keeps the normal policy."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
from ray import cloudpickle

from cipherquorum.exceptions import RoleUnavailable
from cipherquorum.nodes.chain_host import ChainHandle
from cipherquorum.nodes.hosting import ActorHost, RayRuntime

pytestmark = pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is a Linux policy")
cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import the tests


def _policies(pid: int | None = None) -> dict[int, int]:
    """The scheduling policy of each thread of process ``pid`` (the calling one by default)."""
    policies = {}
    for thread in os.listdir(f"/proc/{pid or 'self'}/task"):
        try:
            policies[int(thread)] = os.sched_getscheduler(int(thread))
        except ProcessLookupError:  # ended in between
            continue
    return policies


class Probe:
    """A role that starts a thread as it is built and another when asked, and reports its threads' policies."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._stop.wait, daemon=True)]
        self._threads[0].start()

    def start_thread(self) -> int:
        thread = threading.Thread(target=self._stop.wait, daemon=True)
        thread.start()
        self._threads.append(thread)
        assert thread.native_id is not None
        return thread.native_id

    def policies(self) -> tuple[int, dict[int, int], list[int]]:
        return os.getpid(), _policies(), [t.native_id for t in self._threads if t.native_id is not None]

    def die(self) -> None:
        os._exit(1)


def test_a_role_on_a_local_ray_runs_every_thread_idle_also_those_it_starts_later(ray_runtime: RayRuntime) -> None:
    host = ActorHost(Probe, "role", name="probe")
    try:
        later = host.call("start_thread")
        pid, policies, own = host.call("policies")
        assert pid != os.getpid() and len(policies) > 2
        assert later in policies and set(own) <= set(policies)
        assert set(policies.values()) == {os.SCHED_IDLE}, policies
    finally:
        host.kill()


def test_a_role_told_not_to_yield_keeps_the_normal_policy(ray_runtime: RayRuntime) -> None:
    host = ActorHost(Probe, "role", name="probe-normal", yields_cpu=False)
    try:
        host.call("start_thread")
        _, policies, _ = host.call("policies")
        assert os.SCHED_IDLE not in policies.values(), policies
        assert host.call("policies")[0] != os.getpid()
    finally:
        host.kill()


def test_a_restarted_role_yields_again(ray_runtime: RayRuntime) -> None:
    host = ActorHost(Probe, "role", name="probe-restarted", max_restarts=1)
    try:
        first, _, _ = host.call("policies")
        host.submit("die")
        deadline = time.monotonic() + 60
        while True:
            try:
                pid, policies, _ = host.call("policies", timeout_s=60)
            except RoleUnavailable:  # the call went to the dying process: it restarts
                assert time.monotonic() < deadline
                time.sleep(0.2)
                continue
            break
        assert pid != first and host.restarted()
        assert set(policies.values()) == {os.SCHED_IDLE}, policies
    finally:
        host.kill()


def test_the_chain_never_yields(ray_runtime: RayRuntime) -> None:
    """The chain's actor, whose devnet runs the market's transactions, keeps the normal policy on a local Ray."""
    chain = ChainHandle(seed="yield-chain", clustered=False)
    try:
        pid = chain.chain_pid()
        policies = _policies(pid)
        assert pid != os.getpid() and len(policies) > 2
        assert os.SCHED_IDLE not in policies.values(), policies
    finally:
        chain.shutdown()


CHILD = """
import os, threading
from cipherquorum.nodes.hosting import yield_cpus
stop = threading.Event()
threading.Thread(target=stop.wait, daemon=True).start()
changed = yield_cpus()
threading.Thread(target=stop.wait, daemon=True).start()
policies = {int(t): os.sched_getscheduler(int(t)) for t in os.listdir("/proc/self/task")}
print(changed, len(policies), sorted(set(policies.values())) == [os.SCHED_IDLE])
"""


def test_yield_cpus_puts_each_thread_of_the_process_under_the_idle_policy() -> None:
    """In a process of its own (the test's must keep its policy): the threads running when it is called, and
    one started after."""
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120, check=True)
    changed, threads, all_idle = done.stdout.split()
    assert int(changed) >= 2 and int(threads) == int(changed) + 1 and all_idle == "True", done.stdout
    assert os.SCHED_IDLE not in _policies(os.getpid()).values()
