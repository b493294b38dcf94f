"""The devnet's JSON-RPC methods: run one at a time against eth-tester, counted, with eth_call and log caches."""
from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_tester import EthereumTester
from eth_tester.exceptions import TransactionFailed as TesterTransactionFailed
from web3 import Web3
from web3.providers.eth_tester import EthereumTesterProvider
from web3.providers.eth_tester.defaults import API_ENDPOINTS

from cipherquorum.devnet.access import check_allowed
from cipherquorum.devnet.codec import quantity_of, revert_data_of, to_json
from cipherquorum.devnet.deadline import TimeBudget, Watchdog
from cipherquorum.devnet.heads import WAIT_METHOD, wait_of
from cipherquorum.devnet.logindex import BlockLogIndex
from cipherquorum.devnet.params import (
    CALL_GAS_CAP,
    block_is_known,
    check_chain_id,
    raw_transaction_of,
    with_call_gas_capped,
)
from cipherquorum.devnet.rpc import EXECUTION_REVERTED, INVALID_PARAMS, SERVER_ERROR, RpcError
from cipherquorum.devnet.translate import answered_as_rpc_errors

_CLOCKED_METHODS = frozenset({"eth_sendRawTransaction", "eth_sendTransaction", "eth_call", "eth_estimateGas"})
"""Methods that run code in the pending block, whose timestamp is set to the wall clock first."""
_JSON_READY_METHODS = frozenset({"eth_call", "eth_getLogs", "eth_getTransactionReceipt"})
"""Methods whose local handlers already return JSON-RPC form (cached answers are not converted again)."""
RECEIPT_CACHE_SIZE = 4096
"""Most receipts kept in memory (the latest asked for); an older one is built again by eth-tester."""
DEFAULT_CALL_TIMEOUT_S = 1.0
"""The longest an eth_call or eth_estimateGas may run (geth bounds them at 5 s; py-evm is far slower per gas,
and the calls the TaskMarket binding makes take milliseconds)."""


@dataclass(frozen=True)
class RpcMethodStats:
    """How often the devnet served a JSON-RPC method, the seconds those calls held the chain, and the CPU seconds
    the holding thread used meanwhile (busy_s - cpu_s is time it held the chain without running: it waited for
    the GIL, held by the devnet's other threads, or for a CPU, taken by other processes)."""

    calls: int
    busy_s: float
    cpu_s: float = 0.0


def _reverts_with_data(endpoint: Callable[[EthereumTester, Any], Any]) -> Callable[[EthereumTester, Any], Any]:
    """Wrap an eth-tester endpoint so that a revert becomes JSON-RPC error 3 carrying the revert data."""

    def wrapped(tester: EthereumTester, params: Any) -> Any:
        try:
            return endpoint(tester, params)
        except TesterTransactionFailed as exc:
            raise RpcError(EXECUTION_REVERTED, "execution reverted", "0x" + revert_data_of(exc).hex()) from None

    return wrapped


def _build_endpoints() -> dict[str, dict[str, Any]]:
    """Return web3's eth-tester endpoint table with eth_call and eth_estimateGas reporting revert data."""
    endpoints = {namespace: dict(methods) for namespace, methods in API_ENDPOINTS.items()}
    for method in ("call", "estimateGas"):
        endpoints["eth"][method] = _reverts_with_data(API_ENDPOINTS["eth"][method])
    return endpoints


class ChainDispatcher:
    """Runs JSON-RPC methods against one EthereumTester, one call at a time (eth-tester is not thread-safe).

    eth_getLogs is answered from a per-block log cache, built from the block's receipts; a mined transaction's
    receipt is built once and kept (the devnet never reorganizes; a revert to a snapshot drops them all).
    An eth_call asked again before the chain moves on (same head block, same pending timestamp) gets the answer
    it got the first time. Each method's calls and busy time are counted ("eth_call (cached)" counts the repeated
    calls).

    Admin methods (see ``access``) are served only to calls made with ``admin=True``. Block parameters are
    checked against the head, raw transactions against the chain id, and an eth_call's gas against the cap
    before eth-tester sees them; eth_call and eth_estimateGas run under ``call_timeout_s`` of wall time.
    """

    def __init__(self, tester: EthereumTester, call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S) -> None:
        self._tester = tester
        self._call_timeout_s = call_timeout_s
        self._chain_id = int(tester.backend.chain.chain_id)
        self._watchdog = Watchdog()
        self._limit_s = call_timeout_s  # the time limit of the call in progress (set and read under ``lock``)
        self._lock = threading.Lock()
        provider = EthereumTesterProvider(tester, api_endpoints=_build_endpoints())
        web3 = Web3(provider, middleware=[])
        self._request = provider.request_func(web3, web3.middleware_onion)
        self._logs = BlockLogIndex(self._block_logs)
        self._receipts: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._calls_at: tuple[int, int] = (-1, -1)
        self._call_results: dict[str, Any] = {}
        self._default_from = tester.get_accounts()[0]
        self._stats: dict[str, list[float]] = {}
        self._head = self._head_number()
        self._head_listener: Callable[[int], None] | None = None
        self._local_methods: dict[str, Callable[[list[Any]], Any]] = {
            "eth_call": self._eth_call,
            "eth_estimateGas": self._estimate_gas,
            "eth_sendRawTransaction": self._send_raw_transaction,
            "eth_getLogs": self._get_logs,
            "eth_getTransactionReceipt": self._get_transaction_receipt,
            "evm_increaseTime": self._increase_time,
            "evm_mine": self._mine,
            WAIT_METHOD: self._wait_for_block,
        }

    @property
    def lock(self) -> threading.Lock:
        """The lock that serializes every use of the chain."""
        return self._lock

    @property
    def head(self) -> int:
        """The latest block's number, as of the last call."""
        return self._head

    def set_head_listener(self, listener: Callable[[int], None] | None) -> None:
        """Call ``listener(head)`` whenever a call has moved the chain's head (from the calling thread, with
        ``lock`` held: it must only hand the number on)."""
        self._head_listener = listener

    @property
    def accounts(self) -> tuple[str, ...]:
        """eth-tester's unlocked accounts, which ``send_transaction`` may send from."""
        return tuple(self._tester.get_accounts())

    def call(self, method: str, params: list[Any], *, admin: bool = False, budget: TimeBudget | None = None) -> Any:
        """Run ``method`` with ``params`` and return its JSON-ready result; raises RpcError on any error.

        ``admin`` serves admin methods. A ``budget`` (a batch's) bounds this call's execution by what is left
        of it, and the seconds this call held the chain are spent from it.
        """
        check_allowed(method, admin)
        limit_s = self._call_timeout_s if budget is None else min(self._call_timeout_s, budget.left_s)
        if limit_s <= 0:
            raise RpcError(SERVER_ERROR, f"{method} was not run: its batch has used up its chain time")
        local = self._local_methods.get(method)
        with answered_as_rpc_errors(method), self._lock:
            started_s, started_cpu_s = time.perf_counter(), time.thread_time()
            try:
                self._limit_s = limit_s
                head = int(self._tester.backend.chain.get_canonical_head().block_number)
                if not block_is_known(method, params, head):
                    return None
                result = local(params) if local is not None else self.forward(method, params)
                return result if method in _JSON_READY_METHODS else to_json(result)
            finally:
                self._note_head()
                busy_s = time.perf_counter() - started_s
                stat = self._stats.setdefault(method, [0, 0.0, 0.0])
                stat[0] += 1
                stat[1] += busy_s
                stat[2] += time.thread_time() - started_cpu_s
                if budget is not None:
                    budget.spend(busy_s)

    def send_transaction(self, transaction: Mapping[str, Any]) -> tuple[str, bool]:
        """Send ``transaction`` (eth-tester's form) from an unlocked account, mined at once at the wall-clock time.

        Hold ``lock``. Returns the transaction hash and whether it succeeded (a mined transaction can still
        fail, status 0). Not counted in ``stats``. Raises RpcError if the chain refuses the transaction.
        """
        with answered_as_rpc_errors("eth_sendTransaction"):
            self._set_pending_timestamp_to_now()
            tx_hash = self._tester.send_transaction(dict(transaction))
            succeeded = self._tester.get_transaction_receipt(tx_hash)["status"] == 1
        self._note_head()
        return str(tx_hash), succeeded

    def stats(self) -> dict[str, RpcMethodStats]:
        """Calls, busy seconds and the holder's CPU seconds per JSON-RPC method served so far."""
        with self._lock:
            return {method: RpcMethodStats(int(calls), busy_s, cpu_s)
                    for method, (calls, busy_s, cpu_s) in self._stats.items()}

    def forward(self, method: str, params: list[Any]) -> Any:
        """Run ``method`` on eth-tester itself, past the caches (hold ``lock``); raises RpcError for its error."""
        if method in _CLOCKED_METHODS:
            self._set_pending_timestamp_to_now()
        response = self._request(method, params)
        if "error" in response:
            error = response["error"]
            code = error.get("code", SERVER_ERROR) if isinstance(error, Mapping) else SERVER_ERROR
            message = error.get("message", str(error)) if isinstance(error, Mapping) else str(error)
            raise RpcError(code, message)
        return response.get("result")

    def _head_number(self) -> int:
        return int(self._tester.backend.chain.get_canonical_head().block_number)

    def _note_head(self) -> None:
        """Tell the head listener if the last call moved the head (mined, or reverted to a snapshot); a revert
        drops the logs kept of the blocks it undid and every kept receipt (they are built again when asked)."""
        head = self._head_number()
        if head != self._head:
            if head < self._head:
                self._logs.forget_from(head + 1)
                self._receipts.clear()
            self._head = head
            if self._head_listener is not None:
                self._head_listener(head)

    def _wait_for_block(self, params: list[Any]) -> str:
        """devnet_waitForBlock([block, timeoutMs]) answered at once: the head's number (the server makes a lone
        request wait for its block before it gets here; see heads)."""
        wait_of(params)
        return hex(self._head_number())

    def _set_pending_timestamp_to_now(self) -> None:
        """Give the pending block the wall-clock time (never earlier than its parent); hold ``lock``."""
        chain = self._tester.backend.chain
        now_s = self._pending_timestamp()
        if chain.header.timestamp != now_s:
            chain.header = chain.header.copy(timestamp=now_s)

    def _get_logs(self, params: list[Any]) -> Any:
        """eth_getLogs from the block log cache; a filter it does not handle goes to eth-tester."""
        head = int(self._tester.backend.chain.get_canonical_head().block_number)
        logs = self._logs.query(params, head)
        return to_json(self.forward("eth_getLogs", params)) if logs is None else logs

    def _eth_call(self, params: list[Any]) -> Any:
        """eth_call, answered again from memory while the head block and the pending timestamp stay the same.

        A call without "from" gets the first account as web3's eth-tester middleware would, but without its
        three eth_accounts look-ups per call (which cost as much as running the view).
        """
        if params and isinstance(params[0], Mapping) and "from" not in params[0]:
            params = [{**params[0], "from": self._default_from}, *params[1:]]
        self._set_pending_timestamp_to_now()
        chain = self._tester.backend.chain
        state = (int(chain.get_canonical_head().block_number), int(chain.header.timestamp))
        if state != self._calls_at:
            self._calls_at, self._call_results = state, {}
        key = json.dumps(params, sort_keys=True)
        if key in self._call_results:
            stat = self._stats.setdefault("eth_call (cached)", [0, 0.0, 0.0])
            stat[0] += 1
            return self._call_results[key]
        capped = with_call_gas_capped(params, min(CALL_GAS_CAP, int(chain.header.gas_limit)))
        result = to_json(self._watchdog.run(lambda: self.forward("eth_call", capped), self._limit_s, "eth_call"))
        self._call_results[key] = result
        return result

    def _estimate_gas(self, params: list[Any]) -> Any:
        """eth_estimateGas under the call time limit (eth-tester runs it with at most the block gas limit)."""
        return self._watchdog.run(lambda: self.forward("eth_estimateGas", params), self._limit_s, "eth_estimateGas")

    def _send_raw_transaction(self, params: list[Any]) -> Any:
        """eth_sendRawTransaction of a transaction signed for this chain (EIP-155); others are refused unrun."""
        check_chain_id(raw_transaction_of(params), self._chain_id)
        return self.forward("eth_sendRawTransaction", params)

    def _get_transaction_receipt(self, params: list[Any]) -> Any:
        """eth_getTransactionReceipt: a mined transaction's receipt as eth-tester builds it, kept for the next ask.

        A transaction not mined yet (or unknown) gets null, and nothing is kept for it.
        """
        if len(params) != 1 or not isinstance(params[0], str):
            return to_json(self.forward("eth_getTransactionReceipt", params))  # eth-tester names what is wrong
        return self._receipt(params[0])

    def _receipt(self, tx_hash: str) -> dict[str, Any] | None:
        """The JSON receipt of ``tx_hash`` from the cache, or built by eth-tester and kept once mined."""
        key = tx_hash.lower()
        receipt = self._receipts.get(key)
        if receipt is not None:
            self._receipts.move_to_end(key)
            return receipt
        receipt = to_json(self.forward("eth_getTransactionReceipt", [tx_hash]))
        if receipt is not None:
            self._receipts[key] = receipt
            while len(self._receipts) > RECEIPT_CACHE_SIZE:
                self._receipts.popitem(last=False)
        return receipt

    def _block_logs(self, number: int) -> list[dict[str, Any]]:
        """Every log of block ``number``, from its transactions' receipts in order, as eth-tester's eth_getLogs
        gives them (it reads the same receipts); hold ``lock``."""
        block = self._tester.backend.chain.get_canonical_block_by_number(number)
        logs: list[dict[str, Any]] = []
        for transaction in block.transactions:
            receipt = self._receipt("0x" + transaction.hash.hex())
            assert receipt is not None  # every transaction of a mined block has its receipt
            logs.extend(receipt["logs"])
        return logs

    def _pending_timestamp(self) -> int:
        """The next block's timestamp: the wall clock, or the latest block's time if that is later."""
        return max(int(time.time()), int(self._tester.backend.chain.get_canonical_head().timestamp))

    def _increase_time(self, params: list[Any]) -> int:
        """evm_increaseTime(seconds): the next block comes ``seconds`` later than it would; returns its timestamp.

        eth-tester moves time by mining an empty block just before the new time.
        """
        if len(params) != 1:
            raise RpcError(INVALID_PARAMS, f"evm_increaseTime takes [seconds] (got {params!r})")
        seconds = quantity_of(params[0], "seconds")
        if seconds == 0:
            return int(self._tester.get_block_by_number("latest")["timestamp"])
        target_s = self._pending_timestamp() + seconds
        self._tester.time_travel(target_s + 1)  # mines an empty block at target_s; later blocks follow it
        return target_s

    def _mine(self, params: list[Any]) -> str:
        """evm_mine([timestamp]): mine one empty block, at ``timestamp`` when given; returns "0x0"."""
        if len(params) > 1:
            raise RpcError(INVALID_PARAMS, f"evm_mine takes [] or [timestamp] (got {params!r})")
        if params:
            timestamp_s = quantity_of(params[0], "timestamp")
            if timestamp_s < self._pending_timestamp():
                raise RpcError(
                    INVALID_PARAMS,
                    f'"timestamp" must be >= the next block time (got {timestamp_s}, next {self._pending_timestamp()})',
                )
            self._tester.time_travel(timestamp_s + 1)
        else:
            self._set_pending_timestamp_to_now()
            self._tester.mine_blocks(1)
        return "0x0"


__all__ = ["ChainDispatcher", "RpcMethodStats"]
