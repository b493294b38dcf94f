"""Concurrent clients are served by one thread that runs each request on the chain in turn: no thread per
connection, no other devnet thread woken while the chain works, and every sender and reader gets a correct
answer."""
from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

from cipherquorum.chain import TaskMarket, derive_account
from cipherquorum.devnet import Devnet
from cipherquorum.protocol import TaskParams
from cipherquorum.types import Hash32

SEED = "concurrency"
SENDERS = 6
TASKS_PER_SENDER = 3
READERS = 4
PARAMS = TaskParams(Hash32(keccak(b"program")), Hash32(keccak(b"manifest")), 3, 2, 600, 600, 60, 10**15)


def rpc(session: requests.Session, url: str, method: str, params: list[Any]) -> Any:
    reply = session.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, timeout=30).json()
    assert "error" not in reply, reply
    return reply["result"]


def _address_of(devnet: Devnet) -> tuple[str, int]:
    parts = urlsplit(devnet.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


@pytest.fixture(scope="module")
def chain() -> Iterator[Devnet]:
    """A devnet of this module's own: its tests hold the chain lock and count threads."""
    with Devnet(seed=SEED) as devnet:
        yield devnet


@pytest.fixture()
def served_calls(chain: Devnet, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, list[Any]]]:
    """(thread name, method, params) of every request the chain runs while the test lasts, in order."""
    dispatcher = chain._dispatcher
    served: list[tuple[str, str, list[Any]]] = []
    run = dispatcher.call

    def spy(method: str, params: list[Any], **kwargs: Any) -> Any:
        served.append((threading.current_thread().name, method, params))
        return run(method, params, **kwargs)

    monkeypatch.setattr(dispatcher, "call", spy)
    return served


def test_open_connections_add_no_threads(chain: Devnet) -> None:
    """Forty keep-alive connections, each served a request and left open, start no thread in the devnet."""
    host, port = _address_of(chain)
    before = threading.active_count()
    connections = [http.client.HTTPConnection(host, port, timeout=10) for _ in range(40)]
    try:
        for connection in connections:
            connection.request("POST", "/", body=b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}',
                               headers={"Content-Type": "application/json"})
            assert json.loads(connection.getresponse().read())["result"] == hex(chain.chain_id)
        assert threading.active_count() == before
    finally:
        for connection in connections:
            connection.close()


def test_every_request_of_concurrent_clients_runs_on_the_one_server_thread(
    chain: Devnet, served_calls: list[tuple[str, str, list[Any]]]
) -> None:
    """Eight clients asking at once are each answered, and every request ran on the server's own thread."""
    errors: list[BaseException] = []

    def ask(index: int) -> None:
        session = requests.Session()
        try:
            for _ in range(10):
                assert rpc(session, chain.url, "eth_getBalance", ["0x" + f"{index:040x}", "latest"]) == "0x0"
                assert rpc(session, chain.url, "eth_blockNumber", []).startswith("0x")
        except BaseException as exc:  # collected: an assertion in a thread must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(index,)) for index in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(served_calls) == 160
    assert {name for name, _, _ in served_calls} == {"devnet-jsonrpc"}


def test_a_connection_that_pipelines_requests_takes_turns_with_the_others(
    chain: Devnet, served_calls: list[tuple[str, str, list[Any]]]
) -> None:
    """Fifty requests pipelined on one connection do not keep a second connection's request waiting behind
    them all: the server runs one request of each connection in turn."""
    host, port = _address_of(chain)
    greedy, polite = (http.client.HTTPConnection(host, port, timeout=10) for _ in range(2))

    def request(index: int) -> bytes:
        body = json.dumps({"jsonrpc": "2.0", "id": index, "method": "eth_getBalance",
                           "params": ["0x" + f"{index:040x}", "latest"]}).encode()
        return b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
            len(body), body)

    try:
        greedy.connect()
        polite.connect()
        assert greedy.sock is not None and polite.sock is not None
        with chain._dispatcher.lock:  # the server waits in the first request while both connections queue theirs
            greedy.sock.sendall(request(1))
            threading.Event().wait(0.2)
            greedy.sock.sendall(b"".join(request(index) for index in range(2, 51)))
            polite.sock.sendall(request(999))
            threading.Event().wait(0.2)
        greedy_replies, polite_replies = greedy.sock.makefile("rb"), polite.sock.makefile("rb")
        replies = [json.loads(_read_response(greedy_replies)) for _ in range(50)]
        assert [reply["id"] for reply in replies] == list(range(1, 51))
        assert json.loads(_read_response(polite_replies))["id"] == 999
    finally:
        greedy.close()
        polite.close()
    order = [int(params[0], 16) for _, method, params in served_calls if method == "eth_getBalance"]
    assert order.index(999) <= 3, order


def _read_response(stream: Any) -> bytes:
    """The body of the next HTTP response read from ``stream`` (Content-Length framed)."""
    status = stream.readline()
    assert status.startswith(b"HTTP/1.1 200"), status
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return stream.read(length)


def test_concurrent_senders_and_readers_all_get_correct_answers(chain: Devnet) -> None:
    """Six senders create three tasks each while four readers poll eth_getLogs, eth_call and eth_blockNumber:
    every task gets its own id, each reader sees the head only move forward, and every reader's logs are the
    chain's, one TaskCreated per task."""
    deployer = derive_account(SEED, "deployer", 0)
    senders = [derive_account(SEED, "client", index) for index in range(SENDERS)]
    chain.fund_many([account.address for account in (deployer, *senders)], 10**21)
    market = TaskMarket.deploy(chain.url, deployer, min_stake_wei=10**18, slash_wei=10**17, exit_cooldown_s=60)
    first_block = market.block_number()
    created: dict[str, list[int]] = {}
    seen: list[dict[str, Any]] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def send(account: LocalAccount) -> None:
        try:
            client = market.with_account(account)
            created[account.address] = [int(client.create_task(PARAMS)[0]) for _ in range(TASKS_PER_SENDER)]
        except BaseException as exc:
            errors.append(exc)

    def read() -> None:
        session = requests.Session()
        heads: list[int] = []
        logs: dict[str, Any] = {}
        counts: list[int] = []
        query = {"fromBlock": hex(first_block), "address": market.address}
        count_call = [{"to": market.address, "data": "0x" + keccak(b"taskCount()")[:4].hex()}, "latest"]
        try:
            while True:
                finished = done.is_set()
                heads.append(int(rpc(session, chain.url, "eth_blockNumber", []), 16))
                counts.append(int(rpc(session, chain.url, "eth_call", count_call), 16))
                for log in rpc(session, chain.url, "eth_getLogs", [query]):
                    logs[f"{log['transactionHash']}/{log['logIndex']}"] = log
                if finished:
                    break
            seen.append({"heads": heads, "logs": logs, "counts": counts})
        except BaseException as exc:
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(READERS)]
    writers = [threading.Thread(target=send, args=(account,)) for account in senders]
    for thread in (*readers, *writers):
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    for thread in readers:
        thread.join()

    assert not errors, errors
    task_ids = sorted(task_id for ids in created.values() for task_id in ids)
    assert task_ids == list(range(1, SENDERS * TASKS_PER_SENDER + 1))
    assert market.task_count() == SENDERS * TASKS_PER_SENDER
    chain_logs = {f"{log['transactionHash']}/{log['logIndex']}": log for log in requests.post(chain.url, json={
        "jsonrpc": "2.0", "id": 1, "method": "eth_getLogs",
        "params": [{"fromBlock": hex(first_block), "address": market.address}]}, timeout=30).json()["result"]}
    assert len(market.events(first_block, names=("TaskCreated",))) == SENDERS * TASKS_PER_SENDER
    assert len(seen) == READERS
    for reader in seen:
        assert reader["heads"] == sorted(reader["heads"])
        assert reader["counts"] == sorted(reader["counts"]) and reader["counts"][-1] == len(task_ids)
        assert reader["logs"] == chain_logs


def test_calls_that_end_in_time_do_not_wake_the_watchdog_each_time(
    chain: Devnet, watchdog_sleeps: Callable[[], int]
) -> None:
    """Two hundred eth_calls in a row leave the watchdog thread asleep: it wakes about once per time limit,
    not once per call, so the serving thread keeps the GIL."""
    session = requests.Session()
    before, started_s = watchdog_sleeps(), time.monotonic()
    for index in range(200):  # different calls: a repeated one would be answered from the call cache
        rpc(session, chain.url, "eth_call", [{"to": "0x" + "22" * 20, "data": f"0x{index:08x}"}, "latest"])
    elapsed_s = time.monotonic() - started_s
    sleeps = watchdog_sleeps() - before
    # A watchdog woken per call sleeps at least once per call (200 and more). One left asleep still switches out
    # now and then: once per time limit (1 s) of calls, and whenever it waits for the GIL, which a process with
    # many threads (the whole suite's) makes it do dozens of times; half the calls stays far from either.
    assert sleeps < 100, (sleeps, elapsed_s)


@pytest.fixture()
def watchdog_sleeps(chain: Devnet) -> Callable[[], int]:
    """How many times the chain's watchdog thread has gone to sleep so far (its voluntary context switches)."""
    rpc(requests.Session(), chain.url, "eth_call", [{"to": "0x" + "22" * 20, "data": "0x"}, "latest"])  # starts it
    thread = chain._dispatcher._watchdog._thread
    assert thread is not None and thread.native_id is not None
    status_path = Path(f"/proc/self/task/{thread.native_id}/status")
    if not status_path.exists():
        pytest.skip("per-thread context switch counts need Linux's /proc")

    def sleeps() -> int:
        for line in status_path.read_text().splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
        raise AssertionError(f"no voluntary_ctxt_switches in {status_path}")

    return sleeps
