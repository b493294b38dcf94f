"""A devnet in a process of its own, for requests that might crash it: the child's entry point and its handle.

``ChildDevnet(log_path)`` starts ``python tests/devnet/devnet_child.py SEED``; the child serves a Devnet, prints
one JSON line with ``url`` and ``admin_url``, logs everything at INFO and up (tracebacks included) to the log
file, and serves until its stdin closes.
"""
from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import requests

from cipherquorum.devnet import Devnet


class ChildDevnet:
    """A Devnet served from a child process whose log goes to ``log_path``; ``close()`` stops it (use it in
    ``contextlib.closing``)."""

    def __init__(self, log_path: Path, seed: str = "devnet-child") -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self._process = subprocess.Popen(
            [sys.executable, __file__, seed], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the child devnet did not start: {log_path.read_text()}")
        urls = json.loads(line)
        self.url: str = urls["url"]
        self.admin_url: str = urls["admin_url"]

    @property
    def alive(self) -> bool:
        """Whether the child process is still running."""
        return self._process.poll() is None

    @property
    def exit_code(self) -> int | None:
        """The child's exit status (a negative signal number if a signal killed it); None while it runs."""
        return self._process.poll()

    def serves(self) -> bool:
        """Whether the child answers eth_blockNumber within 10 s."""
        body = {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}
        try:
            return str(requests.post(self.url, json=body, timeout=10).json()["result"]).startswith("0x")
        except (requests.RequestException, ValueError, KeyError):
            return False

    def tracebacks(self) -> int:
        """How many tracebacks the child has logged so far."""
        self._log.flush()
        return self.log_path.read_text(errors="replace").count("Traceback (most recent call last)")

    def close(self) -> None:
        """Close the child's stdin and wait for it to exit (killing it after 10 s)."""
        if self._process.stdin is not None and not self._process.stdin.closed:
            try:
                self._process.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()


def main(seed: str) -> None:
    """The child: serve a seeded Devnet, print its URLs, log to stderr, stop when stdin closes."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    with Devnet(seed=seed) as devnet:
        print(json.dumps({"url": devnet.url, "admin_url": devnet.admin_url}), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "devnet-child")
