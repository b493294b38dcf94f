"""The kept-alive HTTP transport under the binding: reconnects, refusals and what it will not send twice.

A small scripted JSON-RPC server stands in for the chain here (closing connections on cue is beside the
chain's point); the real devnet and anvil run through the same provider in every other chain test.
"""
from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from web3 import Web3

from cipherquorum.chain.connection import Connection
from cipherquorum.chain.transport import KeepAliveHTTPProvider
from cipherquorum.exceptions import ChainError, ChainUnavailable, ValidationError


class _Script:
    """What the server does with each request, by method: answer, answer and close, or drop the connection."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.connections = 0
        self.drop_next: dict[str, int] = {}  # method -> how many of its next calls to drop
        self.close_after: set[str] = set()
        self.status = 200


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    script: _Script

    def setup(self) -> None:
        super().setup()
        self.script.connections += 1

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        method = request["method"]
        self.script.calls.append(method)
        if self.script.drop_next.get(method, 0) > 0:  # acted on, then gone before answering
            self.script.drop_next[method] -= 1
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        closing = method in self.script.close_after  # read before answering: the test may change it once answered
        body = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": "0x2a"}).encode()
        self.send_response(self.script.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if closing:  # closes the kept-alive connection once idle, without a word
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[tuple[str, _Script]]:
    script = _Script()
    handler = type("Handler", (_Handler,), {"script": script})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    httpd.shutdown()
    httpd.server_close()


def _web3(url: str) -> Web3:
    return Web3(KeepAliveHTTPProvider(url, 5.0), middleware=[])


def test_one_connection_carries_many_calls(server: tuple[str, _Script]) -> None:
    url, script = server
    web3 = _web3(url)
    assert [web3.eth.block_number for _ in range(5)] == [42] * 5
    assert script.connections == 1


def test_a_connection_the_server_closed_while_idle_is_opened_again_before_the_next_call(
        server: tuple[str, _Script]) -> None:
    url, script = server
    web3 = _web3(url)
    script.close_after.add("eth_blockNumber")
    assert web3.eth.block_number == 42
    script.close_after.clear()
    assert web3.eth.gas_price == 42
    assert script.connections == 2
    assert script.calls == ["eth_blockNumber", "eth_gasPrice"]


def test_a_read_cut_off_mid_call_on_a_kept_alive_connection_is_sent_once_more(server: tuple[str, _Script]) -> None:
    url, script = server
    web3 = _web3(url)
    assert web3.eth.block_number == 42
    script.drop_next["eth_gasPrice"] = 1
    assert web3.eth.gas_price == 42
    assert script.calls == ["eth_blockNumber", "eth_gasPrice", "eth_gasPrice"]


def test_a_read_cut_off_twice_fails_once_and_the_next_call_gets_a_fresh_connection(
        server: tuple[str, _Script]) -> None:
    url, script = server
    connection = Connection(url, 5.0, 5.0)
    assert connection.request("eth_blockNumber", []) == "0x2a"
    script.drop_next["eth_gasPrice"] = 2
    with pytest.raises(ChainUnavailable, match=url):
        connection.request("eth_gasPrice", [])
    assert connection.request("eth_gasPrice", []) == "0x2a"
    assert script.calls.count("eth_gasPrice") == 3
    assert script.connections == 3


def test_a_transaction_cut_off_mid_call_is_not_sent_twice_and_surfaces_as_chain_unavailable(
        server: tuple[str, _Script]) -> None:
    url, script = server
    connection = Connection(url, 5.0, 5.0)
    assert connection.request("eth_blockNumber", []) == "0x2a"  # the connection is now a kept-alive one
    script.drop_next["eth_sendRawTransaction"] = 1
    with pytest.raises(ChainUnavailable, match=url), connection.translated():
        connection.web3.eth.send_raw_transaction(b"\x01\x02")
    assert script.calls.count("eth_sendRawTransaction") == 1


def test_a_reply_that_is_not_http_200_is_a_chain_error_naming_the_status(server: tuple[str, _Script]) -> None:
    url, script = server
    script.status = 503
    connection = Connection(url, 5.0, 5.0)
    with pytest.raises(ChainError, match=r"answered eth_blockNumber with HTTP 503"):
        connection.request("eth_blockNumber", [])
    script.status = 200
    assert connection.request("eth_blockNumber", []) == "0x2a"  # the connection was put aside, a new one works


def test_nothing_listening_is_chain_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    connection = Connection(f"http://127.0.0.1:{port}", 5.0, 5.0)
    with pytest.raises(ChainUnavailable, match=f"no JSON-RPC endpoint answered at http://127.0.0.1:{port}"):
        connection.request("eth_blockNumber", [])


def test_each_thread_keeps_its_own_connection(server: tuple[str, _Script]) -> None:
    url, script = server
    web3 = _web3(url)
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.extend(web3.eth.block_number for _ in range(3)))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [42] * 9
    assert script.connections == 3


@pytest.mark.parametrize("url", ["ws://127.0.0.1:8545", "http://", "127.0.0.1:8545"])
def test_a_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="rpc_url"):
        KeepAliveHTTPProvider(url, 5.0)
