"""JSON-RPC over HTTP for the devnet: decodes bodies and batches, enforces size and time limits, serves admin
methods on the admin path only, encodes replies."""
from __future__ import annotations

import hmac
import json
import logging
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cipherquorum.devnet.bodies import decode_json_body
from cipherquorum.devnet.deadline import TimeBudget
from cipherquorum.devnet.dispatcher import ChainDispatcher
from cipherquorum.devnet.rpc import INVALID_PARAMS, INVALID_REQUEST, RpcError

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_BATCH = 1000
DEFAULT_BATCH_TIMEOUT_S = 2.0
"""The chain time all requests of one batch may use together; the requests after it get an error unrun."""
_DRAIN_FACTOR = 16
"""A body up to this many times the limit is read and dropped, so the connection can stay open."""


def _error_reply(request_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


class JsonRpcEndpoint:
    """Decodes JSON-RPC bodies (single or batch), dispatches each request and encodes the reply.

    A batch's requests share ``batch_timeout_s`` of chain time; once it is spent the rest are answered with an
    error without running.
    """

    def __init__(self, dispatcher: ChainDispatcher, max_batch: int,
                 batch_timeout_s: float = DEFAULT_BATCH_TIMEOUT_S) -> None:
        self._dispatcher = dispatcher
        self._max_batch = max_batch
        self._batch_timeout_s = batch_timeout_s

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


class RpcHttpServer(ThreadingHTTPServer):
    """A threading HTTP server that carries the JSON-RPC endpoint, the body size limit and the admin path.

    POSTs to ``/`` are served as anyone's, to ``admin_path`` as the admin's (every request is, with
    ``admin_everywhere``); any other path gets 404.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], endpoint: JsonRpcEndpoint, max_body_bytes: int, *,
                 admin_path: str, admin_everywhere: bool = False) -> None:
        super().__init__(address, _RpcRequestHandler)
        self.endpoint = endpoint
        self.max_body_bytes = max_body_bytes
        self.admin_path = admin_path
        self.admin_everywhere = admin_everywhere

    def is_admin_path(self, path: str) -> bool:
        """Whether ``path`` is the admin path (compared in constant time)."""
        return hmac.compare_digest(path.encode(), self.admin_path.encode())

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-reply is routine (a node stopped); anything else is logged."""
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            logger.debug("JSON-RPC client %s hung up", client_address)
            return
        logger.warning("JSON-RPC request from %s failed", client_address, exc_info=True)


class _RpcRequestHandler(BaseHTTPRequestHandler):
    """Serves JSON-RPC over HTTP POST with keep-alive; other verbs get 405."""

    protocol_version = "HTTP/1.1"
    server: RpcHttpServer

    def setup(self) -> None:
        """Turn off Nagle's algorithm: a reply's headers and body must not wait for a delayed ACK."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        """Answer one POSTed JSON-RPC body."""
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._reply(411, _error_reply(None, INVALID_REQUEST, "a Content-Length header is required"), close=True)
            return
        limit = self.server.max_body_bytes
        if length < 0 or length > limit:
            drained = 0 <= length <= limit * _DRAIN_FACTOR and self._drain(length)
            message = f"request body must be <= {limit} bytes (got {length})"
            self._reply(413, _error_reply(None, INVALID_REQUEST, message), close=not drained)
            return
        body = self.rfile.read(length)
        admin = self.server.is_admin_path(self.path)
        if not admin and self.path not in ("/", ""):
            self._reply(404, _error_reply(None, INVALID_REQUEST, "JSON-RPC is served at / (no such path)"),
                        close=False)
            return
        reply = self.server.endpoint.handle_body(body, admin=admin or self.server.admin_everywhere)
        self._send(200, reply, close=False)

    def do_GET(self) -> None:
        """Refuse: JSON-RPC is served by POST only."""
        self._reply(405, _error_reply(None, INVALID_REQUEST, "JSON-RPC is served by POST"), close=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Log each request at DEBUG only: the endpoint is hot."""
        logger.debug("%s %s", self.address_string(), format % args)

    def _drain(self, length: int) -> bool:
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 65536))
            if not chunk:
                return False
            remaining -= len(chunk)
        return True

    def _reply(self, status: int, reply: dict[str, Any], *, close: bool) -> None:
        self._send(status, json.dumps(reply).encode(), close=close)

    def _send(self, status: int, body: bytes, *, close: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)


__all__ = ["DEFAULT_BATCH_TIMEOUT_S", "DEFAULT_MAX_BATCH", "DEFAULT_MAX_BODY_BYTES", "JsonRpcEndpoint",
           "RpcHttpServer"]
