"""The devnet front object: an embedded eth-tester chain served over JSON-RPC, with prefunded accounts."""
from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from eth_tester import EthereumTester
from eth_utils import is_address, to_checksum_address

from cipherquorum.devnet.affinity import checked_cpu, threads_started_on
from cipherquorum.devnet.backend import build_backend
from cipherquorum.devnet.dispatcher import DEFAULT_CALL_TIMEOUT_S, ChainDispatcher, RpcMethodStats
from cipherquorum.devnet.rpc import RpcError
from cipherquorum.devnet.server import (
    DEFAULT_BATCH_TIMEOUT_S,
    DEFAULT_MAX_BATCH,
    DEFAULT_MAX_BODY_BYTES,
    JsonRpcEndpoint,
    RpcHttpServer,
)
from cipherquorum.exceptions import ChainError, TransactionFailed, ValidationError
from cipherquorum.types import Address, Wei

logger = logging.getLogger(__name__)

_FUND_TX_FEES = {"gas": 21000, "max_fee_per_gas": 10**10, "max_priority_fee_per_gas": 10**9}


def _validated_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    """Return ``value`` if it is an int (not a bool) in [low, high]; raises ValidationError naming it otherwise."""
    rule = f"in [{low}, {high}]" if high is not None else f">= {low}"
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        raise ValidationError(f'"{name}" must be an int {rule} (got {name}={value!r})')
    return value


def _validated_seconds(name: str, value: Any) -> float:
    """Return ``value`` as seconds if it is a finite number > 0 (not a bool); raises ValidationError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValidationError(f'"{name}" must be a number of seconds > 0 (got {name}={value!r})')
    return float(value)


class Devnet:
    """An in-process py-evm chain served over JSON-RPC, with block time that follows the wall clock.

    ``Devnet(host="127.0.0.1", port=0)`` builds the chain; ``start()`` serves it and returns the URL that
    ``Web3(Web3.HTTPProvider(url))`` connects to from any process. Port 0 picks a free port; the default host
    is loopback only. The URL serves reads, calls and signed transactions to anyone. The methods that change
    state without a signature (``eth_sendTransaction`` from the unlocked funders, ``evm_increaseTime(seconds)``,
    ``evm_mine([timestamp])``, snapshots, filters: see ``access.ADMIN_METHODS``) are served only at
    ``admin_url``, the URL plus a token drawn for this devnet, or to everyone with ``admin_methods=True``.
    An eth_call or eth_estimateGas runs for at most ``call_timeout_s`` and with at most the block gas limit;
    a batch's requests together hold the chain for at most ``batch_timeout_s``. Each transaction is mined at
    once into its own block, stamped with the wall-clock time (blocks may share a timestamp, see
    WallClockPragueVM), so deadlines in block time mean what they say whatever the load. With a ``seed``, the
    prevrandao every transaction sees (and every block records) derives from it, so a run's pseudo-random
    matching is reproducible.
    Every public method raises only cipherquorum's errors (ValidationError, ChainError and their subclasses).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_batch: int = DEFAULT_MAX_BATCH,
        seed: str | None = None,
        admin_methods: bool = False,
        call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S,
        batch_timeout_s: float = DEFAULT_BATCH_TIMEOUT_S,
        cpu: int | None = None,
    ) -> None:
        """Build the chain; raises ValidationError for a bad argument (the message names it).

        ``cpu``: the one CPU the serving thread keeps to (see devnet.affinity); None leaves it to the scheduler.
        """
        if not isinstance(host, str) or not host:
            raise ValidationError(f'"host" must be a non-empty string (got host={host!r})')
        if not isinstance(admin_methods, bool):
            raise ValidationError(f'"admin_methods" must be a bool (got admin_methods={admin_methods!r})')
        self._host = host
        self._port = _validated_int("port", port, 0, 65535)
        self._max_body_bytes = _validated_int("max_body_bytes", max_body_bytes, 1024)
        self._admin_methods = admin_methods
        self._cpu = checked_cpu(cpu)
        self._admin_path = "/" + secrets.token_urlsafe(24)
        self._dispatcher = ChainDispatcher(EthereumTester(backend=build_backend(seed)),
                                           _validated_seconds("call_timeout_s", call_timeout_s))
        self._endpoint = JsonRpcEndpoint(self._dispatcher, _validated_int("max_batch", max_batch, 1),
                                         _validated_seconds("batch_timeout_s", batch_timeout_s))
        self._funders = tuple(Address(account) for account in self._dispatcher.accounts)
        self._chain_id = int(self._dispatcher.call("eth_chainId", []), 16)
        self._server: RpcHttpServer | None = None
        self._url: str | None = None

    def start(self) -> str:
        """Serve JSON-RPC from a background thread and return the URL; a running devnet returns its URL.

        Raises ChainError if the address cannot be bound.
        """
        if self._server is not None and self._url is not None:
            return self._url
        try:
            server = RpcHttpServer((self._host, self._port), self._endpoint, self._max_body_bytes,
                                   admin_path=self._admin_path, admin_everywhere=self._admin_methods)
            with threads_started_on(self._cpu):
                server.start()
        except OSError as exc:
            raise ChainError(f"cannot serve JSON-RPC on {self._host}:{self._port}: {exc}") from None
        self._server = server
        self._url = f"http://{self._host}:{server.port}"
        logger.info("devnet serving JSON-RPC at %s (chain id %d)", self._url, self._chain_id)
        return self._url

    def stop(self) -> None:
        """Stop serving; the chain's state is kept, and ``start()`` serves it again. Idempotent."""
        server = self._server
        self._server, self._url = None, None
        if server is not None:
            server.stop()

    def __enter__(self) -> Devnet:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The JSON-RPC URL; raises ChainError if the devnet is not serving."""
        if self._url is None:
            raise ChainError("the devnet is not serving: call start() first")
        return self._url

    @property
    def admin_url(self) -> str:
        """The URL that also serves the admin methods: hand it only to the run's own tools (a replay, a test that
        moves time). Raises ChainError if the devnet is not serving."""
        return self.url + self._admin_path

    @property
    def chain_id(self) -> int:
        """The chain id that signed transactions must carry."""
        return self._chain_id

    def rpc_stats(self) -> dict[str, RpcMethodStats]:
        """Calls served and seconds the chain was held, per JSON-RPC method, since the devnet was built."""
        return self._dispatcher.stats()

    @property
    def funders(self) -> tuple[Address, ...]:
        """eth-tester's prefunded (unlocked) accounts, from which ``fund`` pays."""
        return self._funders

    def fund(self, address: str, amount_wei: Wei) -> str:
        """Send ``amount_wei`` to ``address`` from a prefunded account and mine it; return the tx hash.

        Raises ValidationError for a malformed address or a negative amount, ChainError if the chain refuses
        (TransactionFailed if the transfer was mined but failed, as one to a contract does).
        """
        return self.fund_many([address], amount_wei)[0]

    def fund_many(self, addresses: Iterable[str], amount_wei: Wei) -> list[str]:
        """Send ``amount_wei`` to each address from the prefunded accounts in turn, each in its own block.

        Returns the tx hashes in order. Raises ValidationError for a malformed address or a negative amount,
        ChainError if the chain refuses (TransactionFailed if a transfer was mined but failed, as one to a
        contract does: 21000 gas runs no recipient code); the transfers before it stay done.
        """
        recipients = tuple(addresses)
        for address in recipients:
            if not is_address(address):
                raise ValidationError(f'"address" must be a 20-byte hex address (got {address!r})')
        if isinstance(amount_wei, bool) or not isinstance(amount_wei, int) or amount_wei < 0:
            raise ValidationError(f'"amount_wei" must be an int >= 0 (got amount_wei={amount_wei!r})')
        hashes: list[str] = []
        with self._dispatcher.lock:
            for index, address in enumerate(recipients):
                funder = self._funders[index % len(self._funders)]
                transaction = {"from": funder, "to": to_checksum_address(address), "value": amount_wei,
                               **_FUND_TX_FEES}
                try:
                    tx_hash, succeeded = self._dispatcher.send_transaction(transaction)
                except RpcError as exc:
                    raise ChainError(f"funding {address} with {amount_wei} wei failed: {exc.message}") from None
                if not succeeded:
                    raise TransactionFailed(
                        f"funding {address} with {amount_wei} wei failed in tx {tx_hash} (status 0): a 21000-gas "
                        "transfer cannot run the recipient's code"
                    )
                hashes.append(tx_hash)
        return hashes
