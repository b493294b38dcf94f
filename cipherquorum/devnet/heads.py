"""``devnet_waitForBlock``: a request that waits, without polling, until the chain reaches a block.

A role that follows the chain asks ``devnet_waitForBlock(block, timeoutMs)`` and gets the head's number back as
soon as the head is at ``block`` or later, or once ``timeoutMs`` has passed (at most ``MAX_WAIT_MS``), whichever
is first. It learns of every block the moment it is mined, and an idle role costs the chain nothing: the
request waits on the server's event loop, not on the chain. In a batch the method answers at once.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from cipherquorum.chain.heads import WAIT_METHOD
from cipherquorum.devnet.codec import quantity_of
from cipherquorum.devnet.rpc import INVALID_PARAMS, RpcError

MAX_WAIT_MS = 10_000
"""The longest one request may wait (a role asks again; a connection stays bounded)."""
DEFAULT_WAIT_MS = 1_000


@dataclass(frozen=True)
class HeadWait:
    """What a ``devnet_waitForBlock`` request waits for: block ``block``, for at most ``timeout_s``."""

    block: int
    timeout_s: float


def wait_of(params: Any) -> HeadWait:
    """The wait that ``params`` ([block] or [block, timeoutMs]) asks for; raises RpcError (invalid params)
    for anything else, naming the value."""
    if not isinstance(params, list) or not 1 <= len(params) <= 2:
        raise RpcError(INVALID_PARAMS, f"{WAIT_METHOD} takes [block] or [block, timeoutMs] (got {params!r:.80})")
    block = quantity_of(params[0], "block")
    timeout_ms = quantity_of(params[1], "timeoutMs") if len(params) == 2 else DEFAULT_WAIT_MS
    if timeout_ms > MAX_WAIT_MS:
        raise RpcError(INVALID_PARAMS, f'"timeoutMs" must be <= {MAX_WAIT_MS} (got timeoutMs={timeout_ms})')
    return HeadWait(block, timeout_ms / 1000)


class HeadWaiters:
    """The requests waiting on the server's event loop for a later head, woken by ``report`` from any thread."""

    def __init__(self, head: int) -> None:
        self._head = head
        self._loop: asyncio.AbstractEventLoop | None = None
        self._moved: asyncio.Event | None = None
        self._closed = False
        self._waiting = 0

    @property
    def head(self) -> int:
        """The latest head reported."""
        return self._head

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve waits on ``loop`` (the server's, from inside it)."""
        self._loop, self._moved, self._closed = loop, asyncio.Event(), False

    def report(self, head: int) -> None:
        """The chain's head is now ``head`` (any thread; cheap when nothing waits)."""
        self._head = head
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._wake)
            except RuntimeError:  # the loop closed in between
                pass

    async def close(self, timeout_s: float) -> None:
        """Answer every wait now, and every later one at once; return once the waits have ended (their replies
        are written) or after ``timeout_s`` (the server is stopping; on its loop)."""
        self._closed = True
        self._wake()
        deadline_s = time.monotonic() + timeout_s
        while self._waiting and time.monotonic() < deadline_s:
            await asyncio.sleep(0.001)

    async def wait(self, wait: HeadWait) -> None:
        """Return once the head is at ``wait.block`` or later, ``wait.timeout_s`` has passed, or on ``close``."""
        deadline_s = time.monotonic() + wait.timeout_s
        self._waiting += 1
        try:
            while self._head < wait.block and not self._closed and self._moved is not None:
                left_s = deadline_s - time.monotonic()
                if left_s <= 0:
                    return
                try:
                    await asyncio.wait_for(self._moved.wait(), left_s)
                except TimeoutError:
                    return
        finally:
            self._waiting -= 1

    def _wake(self) -> None:
        moved = self._moved
        if moved is not None:
            self._moved = asyncio.Event()
            moved.set()


__all__ = ["DEFAULT_WAIT_MS", "MAX_WAIT_MS", "HeadWait", "HeadWaiters", "wait_of"]
