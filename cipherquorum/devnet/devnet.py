"""An embedded eth-tester (py-evm) chain served over Ethereum JSON-RPC on a local HTTP port."""
from __future__ import annotations

import ast
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from eth.estimators.gas import binary_gas_search_intrinsic_tolerance
from eth.vm.forks import ParisVM, PragueVM
from eth.vm.forks.cancun import get_total_blob_gas
from eth.vm.spoof import SpoofTransaction
from eth_abi import abi
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import TransactionFailed as TesterTransactionFailed
from eth_tester.exceptions import ValidationError as TesterValidationError
from eth_utils import is_address, keccak, to_checksum_address
from eth_utils.exceptions import ValidationError as EvmValidationError
from web3 import Web3
from web3.exceptions import ContractLogicError, Web3Exception
from web3.providers.eth_tester import EthereumTesterProvider
from web3.providers.eth_tester.defaults import API_ENDPOINTS

from cipherquorum.devnet.logindex import BlockLogIndex
from cipherquorum.exceptions import ChainError, ValidationError
from cipherquorum.types import Address, Wei

logger = logging.getLogger(__name__)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_ERROR = -32000
EXECUTION_REVERTED = 3
"""JSON-RPC error codes; 3 carries revert data, as geth and anvil answer eth_call and eth_estimateGas."""

DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_BATCH = 1000
FUNDER_BALANCE_WEI: Wei = 10**9 * 10**18
"""Each of eth-tester's prefunded accounts starts with a billion ether, enough to fund any scenario."""
FUNDER_COUNT = 10
"""Prefunded accounts that ``fund_many`` pays from in turn."""
_DRAIN_FACTOR = 16
_ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")
_FUND_TX_FEES = {"gas": 21000, "max_fee_per_gas": 10**10, "max_priority_fee_per_gas": 10**9}


class _RpcFailure(Exception):
    """A JSON-RPC error object to send back: code, message and optional data."""

    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def as_error(self) -> dict[str, Any]:
        """Return the JSON-RPC error object."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def _to_json(value: Any) -> Any:
    """Return ``value`` in JSON-RPC form: ints as hex quantities, bytes as 0x-hex data, containers recursively."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(key): _to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(item) for item in value]
    raise TypeError(f"cannot encode {type(value).__name__} as JSON-RPC")


def _quantity(value: Any, name: str) -> int:
    """Return a JSON-RPC quantity (int or hex string) as an int >= 0; raises _RpcFailure otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        try:
            number = int(value, 16) if value.startswith("0x") else int(value)
        except ValueError:
            raise _RpcFailure(INVALID_PARAMS, f'"{name}" must be a quantity (got {value!r})') from None
    else:
        raise _RpcFailure(INVALID_PARAMS, f'"{name}" must be a quantity (got {value!r})')
    if number < 0:
        raise _RpcFailure(INVALID_PARAMS, f'"{name}" must be >= 0 (got {number})')
    return number


def _revert_data(exc: TesterTransactionFailed) -> bytes:
    """Return the raw revert data eth-tester wrapped in ``exc``.

    eth_estimateGas wraps the py-evm Revert (whose first argument is the data); eth_call passes the data
    through ``str()``; a plain reason string becomes an ``Error(string)`` payload.
    """
    reason: Any = exc.args[0] if exc.args else b""
    if isinstance(reason, Exception):
        reason = reason.args[0] if reason.args else b""
    if isinstance(reason, (bytes, bytearray)):
        return bytes(reason)
    text = str(reason)
    if text.startswith(("b'", 'b"')):
        try:
            literal = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            literal = None
        if isinstance(literal, bytes):
            return literal
    return _ERROR_STRING_SELECTOR + abi.encode(["string"], [text])


def _estimate_gas_in_two_runs(state: Any, transaction: Any) -> int:
    """Estimate gas in two executions instead of py-evm's bisection (about twelve); a drop-in gas estimator.

    Runs the transaction with the block gas limit and raises its error if it fails, as the bisection does.
    Then runs it again with the gas that run consumed before refunds (plus 1/64 for the call-forwarding
    rule); if that succeeds it is the estimate, otherwise the bisection decides.
    """

    def run(gas: int) -> Any:
        snapshot = state.snapshot()
        try:
            return state.apply_transaction(SpoofTransaction(transaction, gas=gas, gas_price=0))
        finally:
            state.revert(snapshot)

    unbounded = run(state.gas_limit)
    if unbounded.is_error:
        raise unbounded.error
    consumed = transaction.intrinsic_gas + unbounded.get_gas_used()
    guess = min(state.gas_limit, consumed + consumed // 64)
    if not run(guess).is_error:
        return guess
    return binary_gas_search_intrinsic_tolerance(state, transaction)


def _reverts_with_data(endpoint: Callable[[EthereumTester, Any], Any]) -> Callable[[EthereumTester, Any], Any]:
    """Wrap an eth-tester endpoint so that a revert becomes JSON-RPC error 3 carrying the revert data."""

    def wrapped(tester: EthereumTester, params: Any) -> Any:
        try:
            return endpoint(tester, params)
        except TesterTransactionFailed as exc:
            raise _RpcFailure(EXECUTION_REVERTED, "execution reverted", "0x" + _revert_data(exc).hex()) from None

    return wrapped


def _build_endpoints() -> dict[str, dict[str, Any]]:
    """Return web3's eth-tester endpoint table with eth_call and eth_estimateGas reporting revert data."""
    endpoints = {namespace: dict(methods) for namespace, methods in API_ENDPOINTS.items()}
    for method in ("call", "estimateGas"):
        endpoints["eth"][method] = _reverts_with_data(API_ENDPOINTS["eth"][method])
    return endpoints


class _SeededBackend(PyEVMBackend):
    """py-evm backend whose blocks carry a prevrandao derived from a seed, so matching is reproducible.

    eth-tester draws each block's ``mix_hash`` (prevrandao) from os.urandom; a devnet built with a seed uses
    keccak256(seed) in every block instead. The contract mixes it with the task id, so the same seed and the
    same transactions give the same assignments.
    """

    def __init__(self, randao: bytes, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._randao = randao

    def mine_blocks(self, num_blocks: int = 1, coinbase: Any = None) -> tuple[bytes, ...]:
        hashes = []
        for _ in range(num_blocks):
            options: dict[str, Any] = {"coinbase": coinbase if coinbase is not None else b"\x00" * 20}
            vm = self.chain.get_vm()
            if isinstance(vm, ParisVM):
                options["mix_hash"] = self._randao
            if isinstance(vm, PragueVM):
                options["blob_gas_used"] = sum(get_total_blob_gas(tx) for tx in self.chain.get_block().transactions)
            hashes.append(self.chain.mine_block(**options).hash)
        return tuple(hashes)


_CLOCKED_METHODS = frozenset({"eth_sendRawTransaction", "eth_sendTransaction", "eth_call", "eth_estimateGas"})
_JSON_READY_METHODS = frozenset({"eth_call", "eth_getLogs"})
"""Methods whose local handlers already return JSON-RPC form (cached answers are not converted again)."""
"""Methods that run code in the pending block, whose timestamp is set to the wall clock first."""


class WallClockPragueVM(PragueVM):
    """The Prague VM with one devnet rule relaxed: a block may share its parent's timestamp.

    Mining one block per transaction would otherwise push block time a second ahead per transaction, so
    under load deadlines measured in block time would expire long before their wall-clock time (hardhat's
    ``allowBlocksWithSameTimestamp`` makes the same choice).
    """

    @classmethod
    def validate_header(cls, header: Any, parent_header: Any) -> None:
        if parent_header is not None and header.timestamp == parent_header.timestamp:
            header = header.copy(timestamp=header.timestamp + 1)  # sidesteps only "strictly later"
        super().validate_header(header, parent_header)


@dataclass(frozen=True)
class RpcMethodStats:
    """How often the devnet served a JSON-RPC method, and the seconds those calls held the chain."""

    calls: int
    busy_s: float


class _ChainDispatcher:
    """Runs JSON-RPC methods against one EthereumTester, one call at a time (eth-tester is not thread-safe).

    eth_getLogs is answered from a per-block log cache; an eth_call asked again before the chain moves on
    (same head block, same pending timestamp) gets the answer it got the first time. Each method's calls and
    busy time are counted ("eth_call (cached)" counts the repeated calls).
    """

    def __init__(self, tester: EthereumTester) -> None:
        self._tester = tester
        self._lock = threading.Lock()
        provider = EthereumTesterProvider(tester, api_endpoints=_build_endpoints())
        web3 = Web3(provider, middleware=[])
        self._request = provider.request_func(web3, web3.middleware_onion)
        self._logs = BlockLogIndex(self._block_logs)
        self._calls_at: tuple[int, int] = (-1, -1)
        self._call_results: dict[str, Any] = {}
        self._default_from = tester.get_accounts()[0]
        self._stats: dict[str, list[float]] = {}
        self._local_methods: dict[str, Callable[[list[Any]], Any]] = {
            "eth_call": self._eth_call,
            "eth_getLogs": self._get_logs,
            "evm_increaseTime": self._increase_time,
            "evm_mine": self._mine,
        }

    @property
    def tester(self) -> EthereumTester:
        """The chain; use it only while holding ``lock``."""
        return self._tester

    @property
    def lock(self) -> threading.Lock:
        """The lock that serializes every use of the chain."""
        return self._lock

    def set_pending_timestamp_to_now(self) -> None:
        """Give the pending block the wall-clock time (never earlier than its parent); hold ``lock``."""
        chain = self._tester.backend.chain
        now_s = self._pending_timestamp()
        if chain.header.timestamp != now_s:
            chain.header = chain.header.copy(timestamp=now_s)

    def call(self, method: str, params: list[Any]) -> Any:
        """Run ``method`` with ``params`` and return its JSON-ready result; raises _RpcFailure on any error."""
        local = self._local_methods.get(method)
        try:
            with self._lock:
                started_s = time.perf_counter()
                try:
                    result = local(params) if local is not None else self._forward(method, params)
                finally:
                    stat = self._stats.setdefault(method, [0, 0.0])
                    stat[0] += 1
                    stat[1] += time.perf_counter() - started_s
        except _RpcFailure:
            raise
        except ContractLogicError as exc:
            raise _RpcFailure(EXECUTION_REVERTED, "execution reverted", exc.data if isinstance(exc.data, str) else None)
        except (TesterValidationError, EvmValidationError, TesterTransactionFailed, Web3Exception) as exc:
            raise _RpcFailure(SERVER_ERROR, f"{method}: {exc}") from None
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
            raise _RpcFailure(INVALID_PARAMS, f"invalid params for {method}: {exc!r}") from None
        except Exception as exc:  # the server must keep serving whatever one request does
            logger.warning("JSON-RPC %s failed", method, exc_info=True)
            raise _RpcFailure(INTERNAL_ERROR, f"{method} failed: {exc!r}") from None
        return result if method in _JSON_READY_METHODS else _to_json(result)

    def stats(self) -> dict[str, RpcMethodStats]:
        """Calls and busy seconds per JSON-RPC method served so far."""
        with self._lock:
            return {method: RpcMethodStats(int(calls), busy_s) for method, (calls, busy_s) in self._stats.items()}

    def _forward(self, method: str, params: list[Any]) -> Any:
        """Run ``method`` on eth-tester (hold ``lock``); raises _RpcFailure for the error it answers."""
        if method in _CLOCKED_METHODS:
            self.set_pending_timestamp_to_now()
        response = self._request(method, params)
        if "error" in response:
            error = response["error"]
            code = error.get("code", SERVER_ERROR) if isinstance(error, Mapping) else SERVER_ERROR
            message = error.get("message", str(error)) if isinstance(error, Mapping) else str(error)
            raise _RpcFailure(code, message)
        return response.get("result")

    def _get_logs(self, params: list[Any]) -> Any:
        """eth_getLogs from the block log cache; a filter it does not handle goes to eth-tester."""
        head = int(self._tester.backend.chain.get_canonical_head().block_number)
        logs = self._logs.query(params, head)
        return _to_json(self._forward("eth_getLogs", params)) if logs is None else logs

    def _eth_call(self, params: list[Any]) -> Any:
        """eth_call, answered again from memory while the head block and the pending timestamp stay the same.

        A call without "from" gets the first account as web3's eth-tester middleware would, but without its
        three eth_accounts look-ups per call (which cost as much as running the view).
        """
        if params and isinstance(params[0], Mapping) and "from" not in params[0]:
            params = [{**params[0], "from": self._default_from}, *params[1:]]
        self.set_pending_timestamp_to_now()
        chain = self._tester.backend.chain
        state = (int(chain.get_canonical_head().block_number), int(chain.header.timestamp))
        if state != self._calls_at:
            self._calls_at, self._call_results = state, {}
        key = json.dumps(params, sort_keys=True)
        if key in self._call_results:
            stat = self._stats.setdefault("eth_call (cached)", [0, 0.0])
            stat[0] += 1
            return self._call_results[key]
        result = _to_json(self._forward("eth_call", params))
        self._call_results[key] = result
        return result

    def _block_logs(self, number: int) -> list[dict[str, Any]]:
        """Every log of block ``number`` as eth-tester answers them (hold ``lock``)."""
        return _to_json(self._forward("eth_getLogs", [{"fromBlock": hex(number), "toBlock": hex(number)}]))

    def _pending_timestamp(self) -> int:
        """The next block's timestamp: the wall clock, or the latest block's time if that is later."""
        return max(int(time.time()), int(self._tester.backend.chain.get_canonical_head().timestamp))

    def _increase_time(self, params: list[Any]) -> int:
        """evm_increaseTime(seconds): the next block comes ``seconds`` later than it would; returns its timestamp.

        eth-tester moves time by mining an empty block just before the new time.
        """
        if len(params) != 1:
            raise _RpcFailure(INVALID_PARAMS, f"evm_increaseTime takes [seconds] (got {params!r})")
        seconds = _quantity(params[0], "seconds")
        if seconds == 0:
            return int(self._tester.get_block_by_number("latest")["timestamp"])
        target_s = self._pending_timestamp() + seconds
        self._tester.time_travel(target_s + 1)  # mines an empty block at target_s; later blocks follow it
        return target_s

    def _mine(self, params: list[Any]) -> str:
        """evm_mine([timestamp]): mine one empty block, at ``timestamp`` when given; returns "0x0"."""
        if len(params) > 1:
            raise _RpcFailure(INVALID_PARAMS, f"evm_mine takes [] or [timestamp] (got {params!r})")
        if params:
            timestamp_s = _quantity(params[0], "timestamp")
            if timestamp_s < self._pending_timestamp():
                raise _RpcFailure(
                    INVALID_PARAMS,
                    f'"timestamp" must be >= the next block time (got {timestamp_s}, next {self._pending_timestamp()})',
                )
            self._tester.time_travel(timestamp_s + 1)
        else:
            self.set_pending_timestamp_to_now()
            self._tester.mine_blocks(1)
        return "0x0"


class _JsonRpcEndpoint:
    """Decodes JSON-RPC bodies (single or batch), dispatches each request and encodes the reply."""

    def __init__(self, dispatcher: _ChainDispatcher, max_batch: int) -> None:
        self._dispatcher = dispatcher
        self._max_batch = max_batch

    def handle_body(self, body: bytes) -> bytes:
        """Return the JSON reply to a request body; never raises."""
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            reply: Any = _error_reply(None, PARSE_ERROR, f"parse error: {exc}")
        else:
            if isinstance(payload, list):
                if not payload:
                    reply = _error_reply(None, INVALID_REQUEST, "a batch must hold at least one request")
                elif len(payload) > self._max_batch:
                    reply = _error_reply(
                        None, INVALID_REQUEST, f"a batch must hold <= {self._max_batch} requests (got {len(payload)})"
                    )
                else:
                    reply = [self._handle_one(request) for request in payload]
            else:
                reply = self._handle_one(payload)
        return json.dumps(reply).encode()

    def _handle_one(self, request: Any) -> dict[str, Any]:
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
            result = self._dispatcher.call(method, params)
        except _RpcFailure as failure:
            return {"jsonrpc": "2.0", "id": request_id, "error": failure.as_error()}
        return {"jsonrpc": "2.0", "id": request_id, "result": result}


def _error_reply(request_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


class _RpcHttpServer(ThreadingHTTPServer):
    """A threading HTTP server that carries the JSON-RPC endpoint and the body size limit."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], endpoint: _JsonRpcEndpoint, max_body_bytes: int) -> None:
        super().__init__(address, _RpcRequestHandler)
        self.endpoint = endpoint
        self.max_body_bytes = max_body_bytes

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-reply is routine (a node stopped); anything else is logged."""
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            logger.debug("JSON-RPC client %s hung up", client_address)
            return
        logger.warning("JSON-RPC request from %s failed", client_address, exc_info=True)


class _RpcRequestHandler(BaseHTTPRequestHandler):
    """Serves JSON-RPC over HTTP POST with keep-alive; other verbs get 405."""

    protocol_version = "HTTP/1.1"
    server: _RpcHttpServer

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
        self._send(200, self.server.endpoint.handle_body(body), close=False)

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


class Devnet:
    """An in-process py-evm chain served over JSON-RPC, with block time that follows the wall clock.

    ``Devnet(host="127.0.0.1", port=0)`` builds the chain; ``start()`` serves it and returns the URL that
    ``Web3(Web3.HTTPProvider(url))`` connects to from any process. Port 0 picks a free port. Besides the
    ``eth_*``/``net_*``/``web3_*`` methods it serves ``evm_increaseTime(seconds)`` and ``evm_mine([timestamp])``.
    Each transaction is mined at once into its own block, stamped with the wall-clock time (blocks may share a
    timestamp, see WallClockPragueVM), so deadlines in block time mean what they say whatever the load. With
    a ``seed``, every block's prevrandao derives from it, so a run's pseudo-random matching is reproducible.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_batch: int = DEFAULT_MAX_BATCH,
        seed: str | None = None,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValidationError(f'"port" must be in [0, 65535] (got port={port})')
        if max_body_bytes < 1024:
            raise ValidationError(f'"max_body_bytes" must be >= 1024 (got max_body_bytes={max_body_bytes})')
        if max_batch < 1:
            raise ValidationError(f'"max_batch" must be >= 1 (got max_batch={max_batch})')
        self._host = host
        self._port = port
        self._max_body_bytes = max_body_bytes
        genesis = PyEVMBackend.generate_genesis_state(
            overrides={"balance": FUNDER_BALANCE_WEI}, num_accounts=FUNDER_COUNT
        )
        vms = ((0, WallClockPragueVM),)
        if seed is None:
            backend = PyEVMBackend(genesis_state=genesis, vm_configuration=vms)
        else:
            backend = _SeededBackend(keccak(text=f"cipherquorum/prevrandao/{seed}"), genesis_state=genesis,
                                     vm_configuration=vms)
        type(backend.chain).gas_estimator = staticmethod(_estimate_gas_in_two_runs)  # for chains it rebuilds
        backend.chain.gas_estimator = _estimate_gas_in_two_runs
        self._dispatcher = _ChainDispatcher(EthereumTester(backend=backend))
        self._endpoint = _JsonRpcEndpoint(self._dispatcher, max_batch)
        self._funders = tuple(self._dispatcher.tester.get_accounts())
        self._chain_id = int(self._dispatcher.call("eth_chainId", []), 16)
        self._server: _RpcHttpServer | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    def start(self) -> str:
        """Serve JSON-RPC in a background thread and return the URL; a running devnet returns its URL.

        Raises ChainError if the address cannot be bound.
        """
        if self._server is not None and self._url is not None:
            return self._url
        try:
            server = _RpcHttpServer((self._host, self._port), self._endpoint, self._max_body_bytes)
        except OSError as exc:
            raise ChainError(f"cannot serve JSON-RPC on {self._host}:{self._port}: {exc}") from None
        self._server = server
        self._url = f"http://{self._host}:{server.server_address[1]}"
        self._thread = threading.Thread(target=server.serve_forever, name="devnet-jsonrpc", daemon=True)
        self._thread.start()
        logger.info("devnet serving JSON-RPC at %s (chain id %d)", self._url, self._chain_id)
        return self._url

    def stop(self) -> None:
        """Stop serving; the chain's state is kept, and ``start()`` serves it again. Idempotent."""
        server, thread = self._server, self._thread
        self._server, self._thread, self._url = None, None, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

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
    def chain_id(self) -> int:
        """The chain id that signed transactions must carry."""
        return self._chain_id

    def rpc_stats(self) -> dict[str, RpcMethodStats]:
        """Calls served and seconds the chain was held, per JSON-RPC method, since the devnet was built."""
        return self._dispatcher.stats()

    @property
    def funders(self) -> tuple[Address, ...]:
        """eth-tester's prefunded (unlocked) accounts, from which ``fund`` pays."""
        return tuple(Address(account) for account in self._funders)

    def fund(self, address: str, amount_wei: Wei) -> str:
        """Send ``amount_wei`` to ``address`` from a prefunded account and mine it; return the tx hash.

        Raises ValidationError for a malformed address or a negative amount, ChainError if the chain refuses.
        """
        return self.fund_many([address], amount_wei)[0]

    def fund_many(self, addresses: Sequence[str], amount_wei: Wei) -> list[str]:
        """Send ``amount_wei`` to each address from the prefunded accounts in turn, each in its own block.

        Returns the tx hashes in order. Raises ValidationError for a malformed address or a negative amount,
        ChainError if the chain refuses.
        """
        for address in addresses:
            if not is_address(address):
                raise ValidationError(f'"address" must be a 20-byte hex address (got {address!r})')
        if isinstance(amount_wei, bool) or not isinstance(amount_wei, int) or amount_wei < 0:
            raise ValidationError(f'"amount_wei" must be an int >= 0 (got amount_wei={amount_wei!r})')
        hashes: list[str] = []
        with self._dispatcher.lock:
            for index, address in enumerate(addresses):
                funder = self._funders[index % len(self._funders)]
                transaction = {"from": funder, "to": to_checksum_address(address), "value": amount_wei,
                               **_FUND_TX_FEES}
                self._dispatcher.set_pending_timestamp_to_now()
                try:
                    hashes.append(str(self._dispatcher.tester.send_transaction(transaction)))
                except (TesterValidationError, EvmValidationError, TesterTransactionFailed) as exc:
                    raise ChainError(f"funding {address} with {amount_wei} wei failed: {exc}") from None
        return hashes
