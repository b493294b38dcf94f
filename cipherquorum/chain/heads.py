"""New blocks as they come: one thread per process and endpoint wakes every role that follows the chain.

On the embedded devnet the thread asks ``devnet_waitForBlock`` again and again, which answers the moment a block
is mined, and sets each subscriber's event: a node sees its assignment, or the last commit of its task, and a
client its settled task, without waiting out a poll interval. A chain without that method (anvil, hardhat,
geth) answers "method not found" once; the thread then ends and ``live`` stays false, and the roles poll as
before. A chain that does not answer makes ``live`` false until it answers again.
"""
from __future__ import annotations

import http.client
import logging
import threading
import time
from typing import ClassVar

from web3.types import RPCEndpoint

from cipherquorum.chain.transport import KeepAliveHTTPProvider
from cipherquorum.exceptions import ChainError

log = logging.getLogger(__name__)

WAIT_METHOD = "devnet_waitForBlock"
"""The embedded devnet's long poll for a block (served by cipherquorum.devnet.heads)."""
WAIT_MS = 2_000
"""How long one request waits for a block before it is asked again."""
IDLE_POLL_S = 0.5
"""How often a role subscribed to a live watcher reads the chain when no block comes (to see a deadline pass)."""
RETRY_S = 0.5
"""The pause after the chain did not answer, before asking again."""
_METHOD_NOT_FOUND = -32601


class HeadWatcher:
    """Wakes subscribed events whenever the endpoint's head moves; ``shared(url)`` is the process's one for it."""

    _shared: ClassVar[dict[str, HeadWatcher]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, rpc_url: str) -> None:
        self._provider = KeepAliveHTTPProvider(rpc_url, timeout_s=WAIT_MS / 1000 + 10)
        self._url = rpc_url
        self._lock = threading.Lock()
        self._events: list[threading.Event] = []
        self._thread: threading.Thread | None = None
        self._live = False
        self._unsupported = False
        self._head: int | None = None

    @classmethod
    def shared(cls, rpc_url: str) -> HeadWatcher:
        """The watcher of ``rpc_url`` that every role of this process shares (made on first use)."""
        with cls._shared_lock:
            watcher = cls._shared.get(rpc_url)
            if watcher is None:
                watcher = cls._shared[rpc_url] = cls(rpc_url)
            return watcher

    @property
    def live(self) -> bool:
        """Whether subscribers are woken by new blocks now (the endpoint answers ``devnet_waitForBlock``)."""
        return self._live

    @property
    def head(self) -> int | None:
        """The latest head this watcher saw (None before its first answer)."""
        return self._head

    def idle_wait_s(self, poll_interval_s: float) -> float:
        """How long a subscribed role that polls every ``poll_interval_s`` waits for a block before it reads the
        chain anyway: at least IDLE_POLL_S while new blocks wake it, its own interval otherwise."""
        return max(poll_interval_s, IDLE_POLL_S) if self._live else poll_interval_s

    def subscribe(self, event: threading.Event) -> None:
        """Set ``event`` at every new block from now on (the thread starts with the first subscriber)."""
        with self._lock:
            if event not in self._events:
                self._events.append(event)
            if self._thread is None and not self._unsupported:
                self._thread = threading.Thread(target=self._watch, name="chain-heads", daemon=True)
                self._thread.start()

    def unsubscribe(self, event: threading.Event) -> None:
        """Stop setting ``event`` (the thread ends after its current wait once nobody is subscribed)."""
        with self._lock:
            if event in self._events:
                self._events.remove(event)

    def _watch(self) -> None:
        while True:
            with self._lock:
                if not self._events:
                    self._thread, self._live = None, False
                    return
            head = self._wait(0 if self._head is None else self._head + 1)
            if head is None:
                continue
            with self._lock:
                moved = head != self._head
                self._head = head
                events = list(self._events) if moved else []
            for event in events:
                event.set()

    def _wait(self, block: int) -> int | None:
        """The head once it reaches ``block`` (or the wait's time is up); None if the endpoint did not answer."""
        try:
            reply = self._provider.make_request(RPCEndpoint(WAIT_METHOD), [hex(block), hex(WAIT_MS)])
        except (OSError, http.client.HTTPException, ChainError, ValueError) as exc:
            if self._live:
                log.info("%s did not answer %s (%s); the roles poll until it does", self._url, WAIT_METHOD, exc)
            self._live = False
            time.sleep(RETRY_S)
            return None
        error = reply.get("error")
        if error is not None:
            code = error.get("code") if isinstance(error, dict) else None
            with self._lock:
                self._live = False
                if code == _METHOD_NOT_FOUND:  # not the embedded devnet: the roles poll
                    self._unsupported = True
                    self._events.clear()
            if code != _METHOD_NOT_FOUND:
                log.warning("%s answered %s with an error: %s", self._url, WAIT_METHOD, error)
                time.sleep(RETRY_S)
            return None
        self._live = True
        return int(reply["result"], 16)


__all__ = ["IDLE_POLL_S", "WAIT_METHOD", "HeadWatcher"]
