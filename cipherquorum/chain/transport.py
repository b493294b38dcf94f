"""A lean HTTP transport for web3: one kept-alive ``http.client`` connection per thread, instead of requests.

web3's HTTPProvider goes through requests and urllib3, which cost about 1 ms of CPU per call on these machines,
against about 0.2 ms for the request itself. Every role talks to the chain many times a second (each node polls
for events), so the provider is the cheapest place to take that millisecond back. web3 still encodes the
requests, formats the results and raises its errors; only the bytes travel differently.
"""
from __future__ import annotations

import http.client
import select
import threading
import urllib.parse
from typing import Any

from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from cipherquorum.exceptions import ChainError, ValidationError

NOT_RETRIED = frozenset({"eth_sendRawTransaction", "eth_sendTransaction"})
"""Methods not sent a second time after a connection broke mid-call: the endpoint may have acted on them."""
_STALE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, http.client.RemoteDisconnected)


class KeepAliveHTTPProvider(JSONBaseProvider):
    """A web3 provider for an http(s) JSON-RPC endpoint over persistent connections, one per calling thread.

    A connection the endpoint closed while idle is noticed before the next request and opened again. A read
    whose kept-alive connection breaks mid-call is sent once more on a fresh one; a transaction is not, and its
    error reaches the caller (ConnectionError: the project's ChainUnavailable once translated). A reply that is
    not HTTP 200 raises ChainError naming the status.
    """

    def __init__(self, url: str, timeout_s: float) -> None:
        super().__init__()
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError(f'"rpc_url" must be an http(s) URL (got rpc_url={url!r})')
        self.endpoint_uri = url
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout_s = timeout_s
        self._local = threading.local()

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        body = self.encode_rpc_request(method, params)
        connection, reused = self._connection()
        try:
            status, reply = self._send(connection, body)
        except _STALE:
            if not reused or method in NOT_RETRIED:
                raise
            status, reply = self._send(self._connection()[0], body)
        if status != 200:
            raise ChainError(f"{self.endpoint_uri} answered {method} with HTTP {status}: "
                             f"{reply[:200].decode('utf-8', 'replace')}")
        return self.decode_rpc_response(reply)

    def is_connected(self, show_traceback: bool = False) -> bool:
        try:
            return "result" in self.make_request(RPCEndpoint("web3_clientVersion"), [])
        except (OSError, http.client.HTTPException, ChainError):
            if show_traceback:
                raise
            return False

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection and whether it served a request before (one found closed is replaced)."""
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is not None and not _dropped(connection):
            return connection, True
        self._close()
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = kind(self._host, self._port, timeout=self._timeout_s)
        self._local.connection = connection
        return connection, False

    def _send(self, connection: http.client.HTTPConnection, body: bytes) -> tuple[int, bytes]:
        """POST ``body`` and read the whole reply; the connection is closed if anything goes wrong (a half-read
        reply must not be read as the next one's) or the server says it will close it."""
        try:
            connection.request("POST", self._path, body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            reply = response.read()
        except BaseException:
            self._close()
            raise
        if response.will_close:
            self._close()
        return response.status, reply

    def _close(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            connection.close()


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle kept-alive connection was closed by the other side (its socket reads as ready: EOF)."""
    sock = connection.sock
    if sock is None:
        return True
    poller = select.poll()  # not select(): a Ray worker may hold more than 1024 descriptors
    try:
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


__all__ = ["NOT_RETRIED", "KeepAliveHTTPProvider"]
