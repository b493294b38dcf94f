"""devnet_waitForBlock: a lone request waits until its block is mined (or its time is up) without holding the
chain, a batch answers at once, bad parameters get INVALID_PARAMS naming the value; and the HeadWatcher built on
it wakes its subscribers at each block, and falls back to polling against a chain that lacks the method."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
import requests

from cipherquorum.chain.heads import HeadWatcher
from cipherquorum.devnet import Devnet
from cipherquorum.devnet.heads import MAX_WAIT_MS
from cipherquorum.devnet.rpc import INVALID_PARAMS

SOMEONE = "0x" + "42" * 20


@pytest.fixture(scope="module")
def chain() -> Iterator[Devnet]:
    """A devnet of this module's own: its blocks are mined by these tests alone."""
    with Devnet() as devnet:
        yield devnet


def rpc(url: str, method: str, params: list[Any], *, timeout_s: float = 15) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return requests.post(url, json=body, timeout=timeout_s).json()


def head_of(chain: Devnet) -> int:
    return int(rpc(chain.url, "eth_blockNumber", [])["result"], 16)


def wait_in_thread(url: str, params: list[Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Send devnet_waitForBlock(params) from a thread; the dict gets its reply and how long it took."""
    answer: dict[str, Any] = {}

    def ask() -> None:
        started_s = time.monotonic()
        answer["reply"] = rpc(url, "devnet_waitForBlock", params)
        answer["elapsed_s"] = time.monotonic() - started_s

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    return thread, answer


def test_a_wait_answers_when_its_block_is_mined_and_the_chain_serves_others_meanwhile(chain: Devnet) -> None:
    head = head_of(chain)
    thread, answer = wait_in_thread(chain.url, [hex(head + 1), hex(MAX_WAIT_MS)])
    time.sleep(0.5)
    assert thread.is_alive(), f"the wait answered before its block: {answer}"
    started_s = time.monotonic()
    assert head_of(chain) == head  # another connection is served while the wait is held
    assert time.monotonic() - started_s < 2
    chain.fund(SOMEONE, 1)  # mines block head + 1
    thread.join(5)
    assert not thread.is_alive()
    assert answer["reply"]["result"] == hex(head + 1)
    assert 0.4 < answer["elapsed_s"] < 3


def test_a_block_already_mined_answers_at_once(chain: Devnet) -> None:
    head = head_of(chain)
    started_s = time.monotonic()
    assert rpc(chain.url, "devnet_waitForBlock", [hex(head), hex(MAX_WAIT_MS)])["result"] == hex(head)
    assert rpc(chain.url, "devnet_waitForBlock", [hex(0)])["result"] == hex(head)
    assert time.monotonic() - started_s < 2


def test_a_wait_ends_when_its_time_is_up_with_the_head_as_it_is(chain: Devnet) -> None:
    head = head_of(chain)
    started_s = time.monotonic()
    reply = rpc(chain.url, "devnet_waitForBlock", [hex(head + 1000), hex(300)])
    assert reply["result"] == hex(head)
    assert 0.25 < time.monotonic() - started_s < 3


def test_in_a_batch_the_wait_answers_at_once(chain: Devnet) -> None:
    head = head_of(chain)
    batch = [{"jsonrpc": "2.0", "id": 1, "method": "devnet_waitForBlock", "params": [hex(head + 5), hex(5000)]},
             {"jsonrpc": "2.0", "id": 2, "method": "eth_blockNumber", "params": []}]
    started_s = time.monotonic()
    replies = {reply["id"]: reply for reply in requests.post(chain.url, json=batch, timeout=15).json()}
    assert time.monotonic() - started_s < 2
    assert replies[1]["result"] == replies[2]["result"] == hex(head)


@pytest.mark.parametrize(("params", "named"), [
    ([], "[block] or [block, timeoutMs]"),
    (["0x1", "0x2", "0x3"], "[block] or [block, timeoutMs]"),
    ({"block": "0x1"}, "must be an array (got dict)"),
    (["latest"], "latest"),
    (["0x1", "soon"], "soon"),
    (["0x1", hex(MAX_WAIT_MS + 1)], f"timeoutMs={MAX_WAIT_MS + 1}"),
])
def test_bad_params_get_invalid_params_naming_the_value(chain: Devnet, params: Any, named: str) -> None:
    started_s = time.monotonic()
    reply = rpc(chain.url, "devnet_waitForBlock", params)
    assert time.monotonic() - started_s < 2, "a malformed wait is answered at once"
    assert reply["error"]["code"] == INVALID_PARAMS, reply
    assert named in reply["error"]["message"], reply


def test_stopping_the_devnet_answers_a_pending_wait() -> None:
    with Devnet() as devnet:
        thread, answer = wait_in_thread(devnet.url, [hex(10**6), hex(MAX_WAIT_MS)])
        time.sleep(0.3)
        assert thread.is_alive()
    thread.join(5)
    assert not thread.is_alive(), "the wait outlived its devnet"
    assert answer["elapsed_s"] < 5 and "result" in answer["reply"], answer


def test_the_watcher_wakes_its_subscribers_at_each_new_block(chain: Devnet) -> None:
    watcher = HeadWatcher(chain.url)
    woken = [threading.Event(), threading.Event()]
    for event in woken:
        watcher.subscribe(event)
    try:
        deadline_s = time.monotonic() + 10
        while not watcher.live and time.monotonic() < deadline_s:
            time.sleep(0.05)
        assert watcher.live and watcher.idle_wait_s(0.05) == 0.5 and watcher.idle_wait_s(2.0) == 2.0
        for event in woken:
            event.clear()
        head = head_of(chain)
        chain.fund(SOMEONE, 1)
        assert all(event.wait(3) for event in woken)
        assert watcher.head == head + 1
        watcher.unsubscribe(woken[1])
        for event in woken:
            event.clear()
        chain.fund(SOMEONE, 1)
        assert woken[0].wait(3)
        assert not woken[1].is_set(), "an unsubscribed event was set"
    finally:
        watcher.unsubscribe(woken[0])


class _PlainChain(BaseHTTPRequestHandler):
    """A JSON-RPC endpoint that knows no devnet_* method, as anvil, hardhat and geth answer it."""

    asked: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).asked.append(request["method"])
        body = json.dumps({"jsonrpc": "2.0", "id": request["id"],
                           "error": {"code": -32601, "message": f"Method not found: {request['method']}"}})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_against_a_chain_without_the_method_the_watcher_stops_and_the_roles_poll() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PlainChain)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        watcher = HeadWatcher(f"http://127.0.0.1:{server.server_address[1]}")
        event = threading.Event()
        watcher.subscribe(event)
        time.sleep(1.0)
        assert not watcher.live and watcher.head is None and not event.is_set()
        assert watcher.idle_wait_s(0.05) == 0.05  # polled at the role's own interval
        assert _PlainChain.asked == ["devnet_waitForBlock"], "the watcher asked again after 'method not found'"
        watcher.subscribe(threading.Event())  # a later subscriber starts no thread again
        time.sleep(0.3)
        assert _PlainChain.asked == ["devnet_waitForBlock"]
    finally:
        server.shutdown()
        server.server_close()


def test_an_unreachable_chain_leaves_the_watcher_not_live_until_it_answers() -> None:
    with Devnet() as devnet:
        url = devnet.url
    watcher = HeadWatcher(url)  # nothing listens there now
    event = threading.Event()
    watcher.subscribe(event)
    try:
        time.sleep(1.0)
        assert not watcher.live and not event.is_set()
    finally:
        watcher.unsubscribe(event)
