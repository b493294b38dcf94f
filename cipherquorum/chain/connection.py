"""One JSON-RPC endpoint for the binding: locally signed transactions, nonces, fees, receipts and revert replays."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3 import Web3
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.types import RPCEndpoint, TxParams

from cipherquorum.chain.errors import TRANSLATED_ERRORS, RevertDecoder, translate_error
from cipherquorum.chain.transport import KeepAliveHTTPProvider
from cipherquorum.exceptions import ChainError, TransactionFailed, ValidationError
from cipherquorum.types import Address

GAS_PRICE_REFRESH_S = 30.0
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_RECEIPT_TIMEOUT_S = 120.0
RECEIPT_POLL_MAX_S = 0.1
"""Longest pause between two receipt polls (paced devnet blocks come at most a second apart)."""
_NONCE_ERROR_MARKERS = ("nonce", "already known", "underpriced")


class Connection:
    """One JSON-RPC endpoint: the web3 client, the chain id, a cached gas price and each sender's next nonce."""

    def __init__(self, rpc_url: str, timeout_s: float, receipt_timeout_s: float) -> None:
        if not isinstance(rpc_url, str) or not rpc_url.startswith(("http://", "https://")):
            raise ValidationError(f'"rpc_url" must be an http(s) URL (got rpc_url={rpc_url!r})')
        self.url = rpc_url
        self.receipt_timeout_s = receipt_timeout_s
        provider = KeepAliveHTTPProvider(rpc_url, timeout_s)
        self.web3 = Web3(provider, middleware=[])
        self._lock = threading.Lock()
        self._sender_locks: dict[str, threading.Lock] = {}
        self._nonces: dict[str, int] = {}
        self._chain_id: int | None = None
        self._gas_price_wei = 0
        self._gas_price_at_s = float("-inf")
        self._block_gas_limit: int | None = None

    @contextmanager
    def translated(self, reverts: RevertDecoder | None = None) -> Iterator[None]:
        """Turn any web3, requests or eth-abi error inside the block into the project's exception."""
        try:
            yield
        except TRANSLATED_ERRORS as exc:
            raise translate_error(exc, self.url, reverts) from None

    def request(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC call answered as plain JSON (hex strings, no web3 result formatting); return its result.

        For hot reads such as eth_getLogs, whose formatting would cost more than the call. Raises as
        ``translated`` does: ChainUnavailable if the endpoint is down, ChainError for an error answer.
        """
        with self.translated():
            response = self.web3.provider.make_request(RPCEndpoint(method), params)
        error = response.get("error")
        if error is not None:
            message = error.get("message", error) if isinstance(error, Mapping) else error
            raise ChainError(f"{self.url} answered {method} with an error: {message}")
        return response.get("result")

    def transact(
        self, account: LocalAccount, to: Address | None, data: bytes, value_wei: int, reverts: RevertDecoder,
        gas: int,
    ) -> Mapping[str, Any]:
        """Sign, send and wait for one transaction with gas limit ``gas``; return its successful receipt.

        Nothing runs the transaction before it is mined (no eth_estimateGas): the limit comes from the caller's
        gas table. Raises the contract's error (a ContractError subclass) if it reverts, TransactionFailed for
        other reverts (out of gas among them), ChainUnavailable if the endpoint is down and ChainError for any
        other refusal.
        """
        sender = Address(account.address)
        request: dict[str, Any] = {"from": sender, "data": data, "value": value_wei, "gas": gas}
        if to is not None:
            request["to"] = to
        with self.translated(reverts):
            with self._sender_lock(sender):  # held until mined: one pending transaction per sender
                tx_hash = self._sign_and_send(account, request)
                receipt = self._wait_for_receipt(tx_hash)
            if receipt["status"] != 1:
                self._raise_mined_revert(request, receipt, reverts)
        return receipt

    def prepare(self, account: LocalAccount) -> None:
        """Read the chain id, gas price, block gas limit and ``account``'s nonce now rather than at its first
        transaction; raises as ``translated`` does."""
        sender = account.address
        with self.translated():
            self._chain()
            self._gas_price()
            self.block_gas_limit()
            with self._sender_lock(sender):
                if sender not in self._nonces:
                    self._nonces[sender] = int(self.web3.eth.get_transaction_count(sender, "pending"))

    def block_gas_limit(self) -> int:
        """The latest block's gas limit (read once: no transaction may ask for more)."""
        if self._block_gas_limit is None:
            with self.translated():
                self._block_gas_limit = int(self.web3.eth.get_block("latest")["gasLimit"])
        return self._block_gas_limit

    def _sender_lock(self, sender: str) -> threading.Lock:
        with self._lock:
            return self._sender_locks.setdefault(sender, threading.Lock())

    def _sign_and_send(self, account: LocalAccount, request: Mapping[str, Any]) -> bytes:
        """Sign ``request`` with the sender's next nonce and send it raw; return the tx hash.

        The nonce is kept locally (one RPC less per transaction); if the node refuses it (another process
        used the same account), it is fetched again and the transaction is sent once more.
        """
        try:
            return self._send_with_next_nonce(account, request)
        except Web3RPCError as exc:
            if not any(marker in str(exc.message).lower() for marker in _NONCE_ERROR_MARKERS):
                raise
        return self._send_with_next_nonce(account, request)

    def _send_with_next_nonce(self, account: LocalAccount, request: Mapping[str, Any]) -> bytes:
        sender = account.address
        if sender not in self._nonces:
            self._nonces[sender] = int(self.web3.eth.get_transaction_count(sender, "pending"))
        transaction = {key: value for key, value in request.items() if key != "from"}
        transaction.update(nonce=self._nonces[sender], chainId=self._chain(), **self._fees())
        signed = account.sign_transaction(transaction)
        try:
            tx_hash = bytes(self.web3.eth.send_raw_transaction(signed.raw_transaction))
        except Web3RPCError:
            self._nonces.pop(sender, None)
            raise
        self._nonces[sender] += 1
        return tx_hash

    def _chain(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.web3.eth.chain_id)
        return self._chain_id

    def _fees(self) -> dict[str, int]:
        """EIP-1559 fees: twice the current gas price as the cap, a tip of at most 1 gwei."""
        price_wei = self._gas_price()
        tip_wei = min(price_wei, 10**9)
        return {"maxFeePerGas": 2 * price_wei + tip_wei, "maxPriorityFeePerGas": tip_wei}

    def _gas_price(self) -> int:
        now_s = time.monotonic()
        if now_s - self._gas_price_at_s > GAS_PRICE_REFRESH_S:
            self._gas_price_wei = int(self.web3.eth.gas_price)
            self._gas_price_at_s = now_s
        return self._gas_price_wei

    def _wait_for_receipt(self, tx_hash: bytes) -> Mapping[str, Any]:
        """The transaction's receipt once it is mined, read as plain JSON (see ``receipt_of``)."""
        deadline_s = time.monotonic() + self.receipt_timeout_s
        delay_s = 0.01
        while True:
            answer = self.request("eth_getTransactionReceipt", ["0x" + tx_hash.hex()])
            if answer is not None:
                return receipt_of(answer)
            if time.monotonic() > deadline_s:
                raise ChainError(f"transaction 0x{tx_hash.hex()} was not mined within {self.receipt_timeout_s} s")
            time.sleep(delay_s)
            delay_s = min(delay_s * 2, RECEIPT_POLL_MAX_S)

    def _raise_mined_revert(
        self, request: Mapping[str, Any], receipt: Mapping[str, Any], reverts: RevertDecoder
    ) -> None:
        """Replay a transaction that reverted when mined to recover its error, then raise it.

        The replay runs on the block the transaction was mined in: a reverted transaction changed no contract
        state, and that block carries the time the transaction saw (a deadline that passed between the
        estimate and the mining shows up). On a devnet, with one transaction per block, the replay is exact.
        """
        block_number = int(receipt["blockNumber"])
        context = f"transaction 0x{bytes(receipt['transactionHash']).hex()} reverted in block {block_number}"
        if int(receipt["gasUsed"]) >= int(request["gas"]):
            raise TransactionFailed(f"{context}: out of gas (used all of its limit of {request['gas']})")
        if "to" in request:
            try:
                self.web3.eth.call(cast(TxParams, dict(request)), block_identifier=block_number)
            except ContractLogicError as exc:
                data = exc.data if isinstance(exc.data, str) else ""
                if data.startswith("0x"):
                    raise reverts.decode(bytes.fromhex(data[2:]), context) from None
        raise TransactionFailed(context)


def receipt_of(answer: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a JSON-RPC receipt that the binding reads, as Python values.

    ``status``, ``gasUsed`` and ``blockNumber`` become ints, ``transactionHash`` bytes and ``contractAddress``
    a checksummed address (None when the transaction created no contract); ``logs`` stay plain JSON, which the
    event decoder reads. web3's own formatting of a receipt of 30 logs took 2.3-2.7 ms of CPU against 0.6 ms for
    the plain call (benchmarks/receipt_reads.py). Raises ChainError for a receipt that lacks one of these fields
    or holds a malformed value.
    """
    try:
        created = answer.get("contractAddress")
        return {
            "status": int(answer["status"], 16),
            "gasUsed": int(answer["gasUsed"], 16),
            "blockNumber": int(answer["blockNumber"], 16),
            "transactionHash": bytes.fromhex(answer["transactionHash"].removeprefix("0x")),
            "contractAddress": to_checksum_address(created) if created else None,
            "logs": list(answer["logs"]),
        }
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ChainError(f"malformed transaction receipt ({type(exc).__name__}: {exc}): {answer!r:.300}") from None


__all__ = ["DEFAULT_RECEIPT_TIMEOUT_S", "DEFAULT_TIMEOUT_S", "Connection", "receipt_of"]
