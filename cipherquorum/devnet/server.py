"""JSON-RPC over HTTP for the devnet: one thread reads every connection, decodes bodies and batches, enforces size
and time limits, serves admin methods on the admin path only, encodes replies."""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from cipherquorum.devnet.bodies import decode_json_body
from cipherquorum.devnet.deadline import TimeBudget
from cipherquorum.devnet.dispatcher import ChainDispatcher
from cipherquorum.devnet.heads import WAIT_METHOD, HeadWait, HeadWaiters, wait_of
from cipherquorum.devnet.rpc import INVALID_PARAMS, INVALID_REQUEST, RpcError

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_BATCH = 1000
DEFAULT_BATCH_TIMEOUT_S = 2.0
"""The chain time all requests of one batch may use together; the requests after it get an error unrun."""
_DRAIN_FACTOR = 16
"""A body up to this many times the limit is read and dropped, so the connection can stay open."""
MAX_HEAD_BYTES = 65536
"""The longest request line and headers together (http.server's limit for one line)."""
MAX_HEADERS = 100
"""The most headers a request may carry (http.server's limit)."""
LISTEN_BACKLOG = 128
"""Connections the kernel queues before the server accepts them (a run's roles connect at once)."""
STOP_TIMEOUT_S = 2.0
"""How long stopping waits for open connections to end (one may be in a request that holds the chain)."""


def _error_reply(request_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


class JsonRpcEndpoint:
    """Decodes JSON-RPC bodies (single or batch), dispatches each request and encodes the reply.

    A batch's requests share ``batch_timeout_s`` of chain time; once it is spent the rest are answered with an
    error without running. ``waiters`` hold the lone ``devnet_waitForBlock`` requests until their block comes.
    """

    def __init__(self, dispatcher: ChainDispatcher, max_batch: int,
                 batch_timeout_s: float = DEFAULT_BATCH_TIMEOUT_S) -> None:
        self._dispatcher = dispatcher
        self._max_batch = max_batch
        self._batch_timeout_s = batch_timeout_s
        self.waiters = HeadWaiters(dispatcher.head)
        dispatcher.set_head_listener(self.waiters.report)

    @staticmethod
    def head_wait(body: bytes) -> HeadWait | None:
        """The wait a lone, well-formed ``devnet_waitForBlock`` request asks for; None for any other body (a
        malformed one is answered by ``handle_body`` as any request is)."""
        if WAIT_METHOD.encode() not in body:
            return None
        try:
            payload = decode_json_body(body)
            if not isinstance(payload, dict) or payload.get("method") != WAIT_METHOD:
                return None
            return wait_of(payload.get("params", []))
        except (ValueError, RpcError):
            return None

    def handle_body(self, body: bytes, *, admin: bool = False) -> bytes:
        """Return the JSON reply to a request body (``admin``: it came through the admin path); never raises."""
        try:
            payload = decode_json_body(body)
        except RpcError as failure:
            reply: Any = _error_reply(None, failure.code, failure.message)
        else:
            if isinstance(payload, list):
                if not payload:
                    reply = _error_reply(None, INVALID_REQUEST, "a batch must hold at least one request")
                elif len(payload) > self._max_batch:
                    reply = _error_reply(
                        None, INVALID_REQUEST, f"a batch must hold <= {self._max_batch} requests (got {len(payload)})"
                    )
                else:
                    budget = TimeBudget(self._batch_timeout_s)
                    reply = [self._handle_one(request, admin, budget) for request in payload]
            else:
                reply = self._handle_one(payload, admin, None)
        return json.dumps(reply).encode()

    def _handle_one(self, request: Any, admin: bool, budget: TimeBudget | None) -> dict[str, Any]:
        if not isinstance(request, dict):
            return _error_reply(None, INVALID_REQUEST, f"a request must be an object (got {type(request).__name__})")
        request_id = request.get("id")
        if request_id is not None and (isinstance(request_id, bool) or not isinstance(request_id, (str, int))):
            return _error_reply(
                None, INVALID_REQUEST, f'"id" must be a string, an integer or null (got {request_id!r})'
            )
        method = request.get("method")
        if request.get("jsonrpc") != "2.0" or not isinstance(method, str):
            return _error_reply(request_id, INVALID_REQUEST, 'a request needs "jsonrpc": "2.0" and a string "method"')
        params = request.get("params", [])
        if not isinstance(params, list):
            return _error_reply(request_id, INVALID_PARAMS, f'"params" must be an array (got {type(params).__name__})')
        try:
            result = self._dispatcher.call(method, params, admin=admin, budget=budget)
        except RpcError as failure:
            return {"jsonrpc": "2.0", "id": request_id, "error": failure.as_error()}
        return {"jsonrpc": "2.0", "id": request_id, "result": result}


class _HttpRefusal(Exception):
    """A request the server answers with an HTTP error status (and a JSON-RPC error body) without running it."""

    def __init__(self, status: int, message: str, *, close: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close


@dataclass(frozen=True)
class _RequestHead:
    """An HTTP request's line and headers (names lowercased; a repeated header keeps its last value)."""

    method: str
    path: str
    version: str
    headers: Mapping[str, str]

    @property
    def keep_alive(self) -> bool:
        """Whether the connection stays open after the reply (HTTP/1.1 unless "close"; 1.0 only if asked)."""
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return connection == "keep-alive"
        return connection != "close"


def _parse_request_head(head: bytes) -> _RequestHead:
    """Return the request line and headers of ``head`` (up to and including the blank line).

    Raises _HttpRefusal: 400 for a malformed request line or header, 505 for a version other than HTTP/1.x,
    431 for more than ``MAX_HEADERS`` headers.
    """
    lines = head.lstrip(b"\r\n").decode("latin-1").split("\r\n")  # blank lines before a request are ignored
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[1]:
        raise _HttpRefusal(400, f"malformed HTTP request line: {lines[0][:80]!r}")
    method, path, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise _HttpRefusal(505, f"HTTP/1.0 and HTTP/1.1 are served (got {version[:20]!r})")
    fields = [line for line in lines[1:] if line]
    if len(fields) > MAX_HEADERS:
        raise _HttpRefusal(431, f"a request may carry <= {MAX_HEADERS} headers (got {len(fields)})")
    headers: dict[str, str] = {}
    for line in fields:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise _HttpRefusal(400, f"malformed HTTP header: {line[:80]!r}")
        headers[name.lower()] = value.strip()
    return _RequestHead(method, path, version, headers)


def _http_response(status: int, body: bytes, *, close: bool) -> bytes:
    head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n")
    if close:
        head += "Connection: close\r\n"
    return (head + "\r\n").encode("latin-1") + body


class RpcHttpServer:
    """Serves JSON-RPC over HTTP/1.1 (POST, keep-alive) from one thread, on a socket bound at construction.

    One asyncio loop reads every connection, runs each request on the chain and writes its reply, so while a
    request runs on the chain no other thread of the devnet wakes to read, parse or answer (each would take the
    GIL from the chain and let the OS run something else meanwhile). Requests from different connections take
    turns, one each. POSTs to ``/`` are served as anyone's, to ``admin_path`` as the admin's (every request is,
    with ``admin_everywhere``); any other path gets 404, a verb other than POST 405.
    """

    def __init__(self, address: tuple[str, int], endpoint: JsonRpcEndpoint, max_body_bytes: int, *,
                 admin_path: str, admin_everywhere: bool = False) -> None:
        """Bind ``address``; raises OSError if it cannot be bound."""
        self._socket = socket.create_server(address, backlog=LISTEN_BACKLOG)
        self._endpoint = endpoint
        self._max_body_bytes = max_body_bytes
        self._admin_path = admin_path
        self._admin_everywhere = admin_everywhere
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._serving = False
        self._thread: threading.Thread | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._socket.getsockname()[1])

    def start(self) -> None:
        """Serve in a background thread ("devnet-jsonrpc") until ``stop``; raises OSError if it cannot."""
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), name="devnet-jsonrpc",
                                        daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=10) or not self._serving:
            self._socket.close()
            raise OSError("the JSON-RPC server thread did not start serving")

    def stop(self) -> None:
        """Stop serving and close every connection and the socket; waits up to 5 s for the thread."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stopping.set)
            except RuntimeError:  # the loop closed in between
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._socket.close()

    def is_admin_path(self, path: str) -> bool:
        """Whether ``path`` is the admin path (compared in constant time)."""
        return hmac.compare_digest(path.encode(), self._admin_path.encode())

    async def _serve(self) -> None:
        try:
            self._loop = asyncio.get_running_loop()
            self._stopping = asyncio.Event()
            self._endpoint.waiters.bind(self._loop)
            server = await asyncio.start_server(self._serve_connection, sock=self._socket, limit=MAX_HEAD_BYTES)
            self._serving = True
        finally:
            self._ready.set()
        async with server:
            await self._stopping.wait()
        await self._endpoint.waiters.close(STOP_TIMEOUT_S)  # their replies go out before the connections close
        for writer in self._connections.values():  # each ends at its next read (a cancelled one would be logged)
            writer.close()
        if self._connections:
            await asyncio.wait(self._connections, timeout=STOP_TIMEOUT_S)

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        peer = writer.get_extra_info("peername")
        connection = writer.get_extra_info("socket")
        if connection is not None:
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while await self._serve_request(reader, writer, peer):
                await asyncio.sleep(0)  # the other connections' requests go next
        except (ConnectionError, asyncio.IncompleteReadError):
            logger.debug("JSON-RPC client %s hung up", peer)
        except Exception:  # a bug of the server must not stop it serving the other connections
            logger.warning("JSON-RPC request from %s failed", peer, exc_info=True)
        finally:
            writer.close()
            del self._connections[task]

    async def _serve_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Any) -> bool:
        """Read, run and answer one request; return whether the connection stays open."""
        try:
            head_bytes = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial.strip():
                logger.debug("JSON-RPC client %s hung up mid-request", peer)
            return False
        except asyncio.LimitOverrunError:
            return await self._refuse(writer, peer, None, _HttpRefusal(
                431, f"the request line and headers must be <= {MAX_HEAD_BYTES} bytes"))
        try:
            head = _parse_request_head(head_bytes)
            body = await self._read_body(reader, writer, head)
        except _HttpRefusal as refusal:
            return await self._refuse(writer, peer, None, refusal)
        admin = self.is_admin_path(head.path)
        if not admin and head.path not in ("/", ""):
            return await self._refuse(writer, peer, head, _HttpRefusal(
                404, "JSON-RPC is served at / (no such path)", close=not head.keep_alive))
        wait = self._endpoint.head_wait(body)
        if wait is not None:
            await self._endpoint.waiters.wait(wait)
        reply = self._endpoint.handle_body(body, admin=admin or self._admin_everywhere)
        return await self._send(writer, peer, head, 200, reply, close=not head.keep_alive)

    async def _read_body(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                         head: _RequestHead) -> bytes:
        """The POSTed body; raises _HttpRefusal for another verb, a missing length or a body over the limit
        (one up to ``_DRAIN_FACTOR`` times the limit is read and dropped, so the connection can stay open)."""
        length_field = head.headers.get("content-length")
        if head.method != "POST":
            has_body = length_field not in (None, "0") or "transfer-encoding" in head.headers
            raise _HttpRefusal(405, "JSON-RPC is served by POST", close=has_body or not head.keep_alive)
        if length_field is None or not length_field.isdigit() or "transfer-encoding" in head.headers:
            raise _HttpRefusal(411, "a Content-Length header is required")
        length = int(length_field)
        limit = self._max_body_bytes
        expects_continue = head.headers.get("expect", "").lower() == "100-continue"
        if length > limit:
            message = f"request body must be <= {limit} bytes (got {length})"
            if length > limit * _DRAIN_FACTOR or expects_continue:
                raise _HttpRefusal(413, message)
            await self._drain(reader, length)
            raise _HttpRefusal(413, message, close=not head.keep_alive)
        if expects_continue:
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return await reader.readexactly(length)

    @staticmethod
    async def _drain(reader: asyncio.StreamReader, length: int) -> None:
        remaining = length
        while remaining > 0:
            chunk = await reader.read(min(remaining, 65536))
            if not chunk:
                raise asyncio.IncompleteReadError(b"", remaining)
            remaining -= len(chunk)

    async def _refuse(self, writer: asyncio.StreamWriter, peer: Any, head: _RequestHead | None,
                      refusal: _HttpRefusal) -> bool:
        body = json.dumps(_error_reply(None, INVALID_REQUEST, refusal.message)).encode()
        return await self._send(writer, peer, head, refusal.status, body, close=refusal.close)

    async def _send(self, writer: asyncio.StreamWriter, peer: Any, head: _RequestHead | None, status: int,
                    body: bytes, *, close: bool) -> bool:
        """Write one response; return whether the connection stays open."""
        if logger.isEnabledFor(logging.DEBUG):
            request = f"{head.method} {head.path[:80]}" if head is not None else "(unparsed)"
            logger.debug("%s %s -> %d", peer, request, status)
        writer.write(_http_response(status, body, close=close))
        await writer.drain()
        return not close


__all__ = ["DEFAULT_BATCH_TIMEOUT_S", "DEFAULT_MAX_BATCH", "DEFAULT_MAX_BODY_BYTES", "MAX_HEADERS", "MAX_HEAD_BYTES",
           "JsonRpcEndpoint", "RpcHttpServer"]
