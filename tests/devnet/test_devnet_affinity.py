"""The devnet's serving thread keeps to the CPU it is given, and nothing else of the process changes."""
from __future__ import annotations

import os
import threading

import pytest

from cipherquorum.devnet import Devnet, affinity
from cipherquorum.exceptions import ValidationError
from cipherquorum.nodes.chain_host import ChainHost, ChainSpec

needs_two_cpus = pytest.mark.skipif(len(affinity.usable_cpus()) < 2, reason="needs a process that may use 2 CPUs")


def _cpus_of(native_id: int) -> set[int]:
    return os.sched_getaffinity(native_id)


@needs_two_cpus
def test_the_serving_thread_keeps_to_its_cpu_and_the_starter_keeps_its_own() -> None:
    """Only the thread that serves JSON-RPC is kept to the CPU; the thread that started the devnet gets all of its
    CPUs back, and the devnet answers."""
    before = os.sched_getaffinity(0)
    cpu = affinity.serving_cpu()
    assert cpu == max(before)
    with Devnet(seed="affinity", cpu=cpu) as devnet:
        server_thread = devnet._server._thread
        assert server_thread is not None and server_thread.native_id is not None
        assert _cpus_of(server_thread.native_id) == {cpu}
        assert os.sched_getaffinity(0) == before
        assert devnet._dispatcher.call("eth_blockNumber", []) == "0x0"


def test_without_a_cpu_the_serving_thread_may_run_anywhere() -> None:
    with Devnet(seed="affinity-free") as devnet:
        server_thread = devnet._server._thread
        assert server_thread is not None and server_thread.native_id is not None
        assert _cpus_of(server_thread.native_id) == os.sched_getaffinity(0)


@pytest.mark.parametrize("cpu", [-1, 10**6, True, 1.0, "0"])
def test_a_cpu_the_process_may_not_use_is_refused_naming_it(cpu: object) -> None:
    with pytest.raises(ValidationError, match=f"cpu={cpu!r}"):
        Devnet(cpu=cpu)  # type: ignore[arg-type]


def test_one_usable_cpu_gives_no_serving_cpu(monkeypatch) -> None:
    """With one CPU there is nothing to keep the thread away from: serving_cpu says None."""
    monkeypatch.setattr(affinity, "usable_cpus", lambda: [3])
    assert affinity.serving_cpu() is None
    monkeypatch.setattr(affinity, "usable_cpus", lambda: [0, 2, 5])
    assert affinity.serving_cpu() == 5


@needs_two_cpus
def test_threads_started_on_restores_the_starter_even_when_the_block_raises() -> None:
    """A thread started in the block runs on the CPU alone; the starter gets its CPUs back though the block raised."""
    before = os.sched_getaffinity(0)
    seen: list[set[int]] = []
    with pytest.raises(RuntimeError, match="inside"), affinity.threads_started_on(min(before)):
        thread = threading.Thread(target=lambda: seen.append(os.sched_getaffinity(0)))
        thread.start()
        thread.join()
        raise RuntimeError("inside")
    assert os.sched_getaffinity(0) == before
    assert seen == [{min(before)}]


@needs_two_cpus
@pytest.mark.parametrize("own_cpu", [True, False])
def test_the_chain_role_gives_its_devnet_a_cpu_unless_told_not_to(own_cpu: bool) -> None:
    """The chain role's devnet serves from the last CPU its process may use (ChainSpec.own_cpu, the default), or
    from anywhere."""
    host = ChainHost(spec=ChainSpec(seed="affinity-role", own_cpu=own_cpu))
    try:
        host.url()
        devnet = host._chain
        assert isinstance(devnet, Devnet) and devnet._server is not None
        native_id = devnet._server._thread.native_id
        everywhere = os.sched_getaffinity(0)
        assert _cpus_of(native_id) == ({max(everywhere)} if own_cpu else everywhere)
    finally:
        host.stop()
