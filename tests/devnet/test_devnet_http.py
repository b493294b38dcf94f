"""The devnet's HTTP/1.1 framing: requests it cannot serve get a status and a JSON-RPC error, the connection
stays open when the request was read whole and the client keeps it, closes otherwise; pipelined requests and
Expect: 100-continue are answered in order."""
from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from typing import IO
from urllib.parse import urlsplit

import pytest

from cipherquorum.devnet import Devnet

GOOD_BODY = b'{"jsonrpc":"2.0","id":7,"method":"eth_blockNumber","params":[]}'


def post(body: bytes = GOOD_BODY, *, path: str = "/", version: str = "HTTP/1.1", headers: str = "") -> bytes:
    return (f"POST {path} {version}\r\nHost: devnet\r\nContent-Length: {len(body)}\r\n{headers}\r\n").encode() + body


@pytest.fixture(scope="module")
def address() -> Iterator[tuple[str, int]]:
    """A devnet of this module's own, as (host, port)."""
    with Devnet(max_body_bytes=4096) as devnet:
        parts = urlsplit(devnet.url)
        assert parts.hostname is not None and parts.port is not None
        yield parts.hostname, parts.port


def read_response(stream: IO[bytes]) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lowercased names) and body of the next response on ``stream``."""
    status_line = stream.readline()
    assert status_line.startswith(b"HTTP/1.1 "), status_line
    headers = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, stream.read(int(headers.get("content-length", "0")))


CASES: list[tuple[str, bytes, int, bool]] = [
    ("a good request", post(), 200, False),
    ("a blank line before the request", b"\r\n" + post(), 200, False),
    ("HTTP/1.0", post(version="HTTP/1.0"), 200, True),
    ("HTTP/1.0 asking for keep-alive", post(version="HTTP/1.0", headers="Connection: keep-alive\r\n"), 200, False),
    ("Connection: close", post(headers="Connection: close\r\n"), 200, True),
    ("a wrong path", post(path="/rpc"), 404, False),
    ("GET", b"GET / HTTP/1.1\r\nHost: devnet\r\n\r\n", 405, False),
    ("PUT with a body", b"PUT / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", 405, True),
    ("no Content-Length", b"POST / HTTP/1.1\r\nHost: devnet\r\n\r\n", 411, True),
    ("a Content-Length that is no number", b"POST / HTTP/1.1\r\nContent-Length: 2x\r\n\r\n{}", 411, True),
    ("a chunked body", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 411, True),
    ("a body over the limit, read and dropped", post(b" " * 5000), 413, False),
    ("a body far over the limit", b"POST / HTTP/1.1\r\nContent-Length: 10000000\r\n\r\n", 413, True),
    ("a malformed request line", b"GARBAGE\r\n\r\n", 400, True),
    ("a malformed header", b"POST / HTTP/1.1\r\nNo colon here\r\n\r\n", 400, True),
    ("HTTP/2.0", post(version="HTTP/2.0"), 505, True),
    ("too many headers", post(headers="X-A: b\r\n" * 101), 431, True),
    ("headers too long", post(headers="X-Long: " + "a" * 70_000 + "\r\n"), 431, True),
]


@pytest.mark.parametrize(("case", "request_bytes", "status", "closes"), CASES, ids=[case[0] for case in CASES])
def test_each_request_gets_its_status_and_the_connection_stays_open_only_when_it_can(
    address: tuple[str, int], case: str, request_bytes: bytes, status: int, closes: bool
) -> None:
    """The status answers the request; a connection left open serves the next request, a closed one ends."""
    with socket.create_connection(address, timeout=10) as connection, connection.makefile("rb") as stream:
        connection.sendall(request_bytes)
        got_status, headers, body = read_response(stream)
        assert got_status == status, (case, body)
        reply = json.loads(body)
        assert ("result" in reply) if status == 200 else (reply["error"]["code"] == -32600)
        assert (headers.get("connection") == "close") == closes
        if closes:
            assert stream.read(1) == b""
        else:
            connection.sendall(post())
            assert read_response(stream)[0] == 200


def test_pipelined_requests_are_answered_in_order(address: tuple[str, int]) -> None:
    """Three requests sent in one write get three replies, in the order they were sent."""
    bodies = [json.dumps({"jsonrpc": "2.0", "id": index, "method": "eth_chainId", "params": []}).encode()
              for index in range(3)]
    with socket.create_connection(address, timeout=10) as connection, connection.makefile("rb") as stream:
        connection.sendall(b"".join(post(body) for body in bodies))
        assert [json.loads(read_response(stream)[2])["id"] for _ in bodies] == [0, 1, 2]


def test_expect_100_continue_is_answered_before_the_body_is_sent(address: tuple[str, int]) -> None:
    """A client that waits for 100 Continue gets it, then the reply to the body it sends after."""
    head = f"POST / HTTP/1.1\r\nContent-Length: {len(GOOD_BODY)}\r\nExpect: 100-continue\r\n\r\n".encode()
    with socket.create_connection(address, timeout=10) as connection, connection.makefile("rb") as stream:
        connection.sendall(head)
        assert stream.readline() == b"HTTP/1.1 100 Continue\r\n"
        assert stream.readline() == b"\r\n"
        connection.sendall(GOOD_BODY)
        status, _, body = read_response(stream)
        assert status == 200 and json.loads(body)["id"] == 7


def hung_up(connection: socket.socket) -> bool:
    """Whether the peer closed ``connection``: an orderly end of stream, or a reset, which is how a close reads
    when the server had not yet read what the client sent (a connection still open times out instead)."""
    try:
        return connection.recv(1) == b""
    except ConnectionResetError:
        return True


def test_stopping_with_connections_open_closes_them_and_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """A devnet stopped while clients keep connections open (one of them mid-request) closes each connection
    and logs no error, and its port serves no more. The connection stopped mid-request may read as reset: the
    stop can come before the server has read the partial request, and closing a socket with unread bytes resets
    it."""
    caplog.set_level(logging.WARNING)
    devnet = Devnet()
    host, port = urlsplit(devnet.start()).hostname, urlsplit(devnet.url).port
    assert host is not None and port is not None
    idle, midway = (socket.create_connection((host, port), timeout=10) for _ in range(2))
    with idle, midway, idle.makefile("rb") as stream:
        idle.sendall(post())
        assert read_response(stream)[0] == 200
        midway.sendall(post()[:20])
        devnet.stop()
        assert stream.read(1) == b""
        assert hung_up(midway)
    with pytest.raises(OSError):
        socket.create_connection((host, port), timeout=2).close()
    assert not caplog.records, [record.getMessage() for record in caplog.records]
