"""The typed TaskMarket binding: deploy it, send locally signed transactions, read its views and events."""
from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, cast

from eth_abi import abi
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress, HexStr
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.exceptions import TransactionNotFound as Web3TransactionNotFound
from web3.types import FilterParams, TxData, TxParams

from cipherquorum.chain.artifact import load_artifact
from cipherquorum.chain.errors import TRANSLATED_ERRORS, RevertDecoder, translate_error
from cipherquorum.chain.views import (
    ChainEvent,
    EventDecoder,
    FunctionCodec,
    MarketTotals,
    NodeView,
    TaskView,
    TxReceipt,
    TxSummary,
    VoteView,
    abi_type,
    node_view,
    proof_view,
    task_view,
    vote_view,
)
from cipherquorum.exceptions import ChainError, TransactionFailed, ValidationError
from cipherquorum.protocol import (
    Proof,
    Reveal,
    TaskParams,
    checked_address,
    checked_hash,
    checked_uint,
    compute_seal,
)
from cipherquorum.types import Address, ExecStatus, Hash32, TaskId

GAS_MARGIN = 1.25
"""Gas limit = estimate x GAS_MARGIN + GAS_EXTRA: matching draws differ between estimate and mining."""
GAS_EXTRA = 20_000
REVEAL_GAS_FLOOR = 1_500_000
"""Gas limit floor for reveal: whichever reveal lands last also finalizes the task (rewards, slashes, refunds,
queued matches), which its estimate, made while it was not yet last, does not include. Unused gas is refunded."""
GAS_PRICE_REFRESH_S = 30.0
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_RECEIPT_TIMEOUT_S = 120.0
RECEIPT_POLL_MAX_S = 0.1
"""Longest pause between two receipt polls (paced devnet blocks come at most a second apart)."""
_NONCE_ERROR_MARKERS = ("nonce", "already known", "underpriced")


@dataclass(frozen=True)
class _ContractInterface:
    """The TaskMarket's ABI in usable form: functions, events and custom errors."""

    functions: FunctionCodec
    events: EventDecoder
    reverts: RevertDecoder


@lru_cache(maxsize=1)
def _interface() -> _ContractInterface:
    artifact = load_artifact()
    return _ContractInterface(
        FunctionCodec(artifact.abi, artifact.bytecode), EventDecoder(artifact.abi), RevertDecoder(artifact.abi)
    )


@cache
def _input_types(function: str) -> tuple[str, ...]:
    """The ABI types of the contract function ``function``'s arguments, in order."""
    entry = next(item for item in load_artifact().abi if item.get("type") == "function" and item["name"] == function)
    return tuple(abi_type(item) for item in entry["inputs"])


class _Connection:
    """One JSON-RPC endpoint: the web3 client, the chain id, a cached gas price and each sender's next nonce."""

    def __init__(self, rpc_url: str, timeout_s: float, receipt_timeout_s: float) -> None:
        if not isinstance(rpc_url, str) or not rpc_url.startswith(("http://", "https://")):
            raise ValidationError(f'"rpc_url" must be an http(s) URL (got rpc_url={rpc_url!r})')
        self.url = rpc_url
        self.receipt_timeout_s = receipt_timeout_s
        provider = Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s}, exception_retry_configuration=None)
        self.web3 = Web3(provider, middleware=[])
        self._lock = threading.Lock()
        self._sender_locks: dict[str, threading.Lock] = {}
        self._nonces: dict[str, int] = {}
        self._chain_id: int | None = None
        self._gas_price_wei = 0
        self._gas_price_at_s = float("-inf")

    @contextmanager
    def translated(self, reverts: RevertDecoder | None = None) -> Iterator[None]:
        """Turn any web3, requests or eth-abi error inside the block into the project's exception."""
        try:
            yield
        except TRANSLATED_ERRORS as exc:
            raise translate_error(exc, self.url, reverts) from None

    def transact(
        self, account: LocalAccount, to: Address | None, data: bytes, value_wei: int, reverts: RevertDecoder,
        gas_floor: int = 0,
    ) -> Mapping[str, Any]:
        """Estimate, sign, send and wait for one transaction; return its successful receipt.

        Raises the contract's error (a ContractError subclass) if it reverts, TransactionFailed for other
        reverts, ChainUnavailable if the endpoint is down and ChainError for any other refusal.
        """
        sender = Address(account.address)
        request: dict[str, Any] = {"from": sender, "data": data, "value": value_wei}
        if to is not None:
            request["to"] = to
        with self.translated(reverts):
            with self._sender_lock(sender):  # held until mined: one pending transaction per sender
                gas = max(gas_floor, int(self.web3.eth.estimate_gas(cast(TxParams, request)) * GAS_MARGIN) + GAS_EXTRA)
                tx_hash = self._sign_and_send(account, {**request, "gas": gas})
                receipt = self._wait_for_receipt(tx_hash)
            if receipt["status"] != 1:
                self._raise_mined_revert({**request, "gas": gas}, receipt, reverts)
        return receipt

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
        deadline_s = time.monotonic() + self.receipt_timeout_s
        delay_s = 0.01
        while True:
            try:
                return self.web3.eth.get_transaction_receipt(HexBytes(tx_hash))
            except Web3TransactionNotFound:
                if time.monotonic() > deadline_s:
                    raise ChainError(
                        f"transaction 0x{tx_hash.hex()} was not mined within {self.receipt_timeout_s} s"
                    ) from None
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
        if "to" in request:
            try:
                self.web3.eth.call(cast(TxParams, dict(request)), block_identifier=block_number)
            except ContractLogicError as exc:
                data = exc.data if isinstance(exc.data, str) else ""
                if data.startswith("0x"):
                    raise reverts.decode(bytes.fromhex(data[2:]), context) from None
        raise TransactionFailed(context)


class TaskMarket:
    """A deployed TaskMarket contract reached over JSON-RPC, acting as ``account`` (None: read-only).

    Transactions are signed locally with the account's key and sent raw; each waits for its receipt and
    returns a TxReceipt with the decoded events. A revert raises the contract's error class from
    ``cipherquorum.chain.errors`` (a ContractError). An unreachable endpoint raises ChainUnavailable.
    """

    def __init__(
        self,
        rpc_url: str,
        address: str,
        account: LocalAccount | None = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        receipt_timeout_s: float = DEFAULT_RECEIPT_TIMEOUT_S,
    ) -> None:
        self._interface = _interface()
        self._connection = _Connection(rpc_url, timeout_s, receipt_timeout_s)
        self._address = checked_address("address", address)
        self._account = account
        self._constants: dict[str, int] = {}
        with self._connection.translated():
            code = self._connection.web3.eth.get_code(cast(ChecksumAddress, self._address))
        if not code:
            raise ChainError(f"no contract is deployed at {self._address} on {rpc_url}")

    @classmethod
    def deploy(
        cls,
        rpc_url: str,
        deployer: LocalAccount,
        *,
        min_stake_wei: int,
        slash_wei: int,
        exit_cooldown_s: int,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> TaskMarket:
        """Deploy a new TaskMarket from ``deployer`` and return it bound to ``deployer``.

        Raises ValidationError for out-of-range constructor arguments and the chain errors of any transaction.
        """
        args = (
            checked_uint("min_stake_wei", min_stake_wei, 256),
            checked_uint("slash_wei", slash_wei, 256),
            checked_uint("exit_cooldown_s", exit_cooldown_s, 64),
        )
        interface = _interface()
        connection = _Connection(rpc_url, timeout_s, DEFAULT_RECEIPT_TIMEOUT_S)
        receipt = connection.transact(deployer, None, interface.functions.encode_deploy(args), 0, interface.reverts)
        address = receipt.get("contractAddress")
        if not address:
            raise ChainError(f"deploy transaction 0x{bytes(receipt['transactionHash']).hex()} created no contract")
        return cls(rpc_url, address, deployer, timeout_s=timeout_s)

    def with_account(self, account: LocalAccount) -> TaskMarket:
        """Return a binding to the same contract and connection that acts as ``account``."""
        clone = copy.copy(self)
        clone._account = account
        return clone

    @property
    def address(self) -> Address:
        """The contract's address."""
        return self._address

    @property
    def sender(self) -> Address | None:
        """The address transactions are sent from, or None for a read-only binding."""
        return None if self._account is None else Address(self._account.address)

    @property
    def rpc_url(self) -> str:
        """The JSON-RPC URL this binding talks to."""
        return self._connection.url

    compute_seal = staticmethod(compute_seal)

    # --- transactions ------------------------------------------------------------------------------

    def register(self, capacity: int, price_wei: int, stake_wei: int) -> TxReceipt:
        """Register the sender as a compute node with ``capacity`` slots, a price and a stake sent as value."""
        args = (checked_uint("capacity", capacity, 32), checked_uint("price_wei", price_wei, 256))
        return self._transact("register", args, checked_uint("stake_wei", stake_wei, 256))

    def add_stake(self, amount_wei: int) -> TxReceipt:
        """Add ``amount_wei`` to the sender's stake."""
        return self._transact("addStake", (), checked_uint("amount_wei", amount_wei, 256))

    def request_exit(self) -> TxReceipt:
        """Stop the sender from being matched and start its exit cooldown."""
        return self._transact("requestExit", ())

    def exit(self) -> TxReceipt:
        """Deregister the sender after its cooldown; its stake becomes withdrawable."""
        return self._transact("exit", ())

    def withdraw(self, amount_wei: int) -> TxReceipt:
        """Send ``amount_wei`` of the sender's withdrawable balance to it."""
        return self._transact("withdraw", (checked_uint("amount_wei", amount_wei, 256),))

    def create_task(self, params: TaskParams) -> tuple[TaskId, TxReceipt]:
        """Create a task, escrowing replication x reward; return its id and the receipt.

        Raises ValidationError (before anything is sent) if ``params`` break the contract's rules.
        """
        params.validate()
        args = (params.program_id, params.manifest_ref, params.replication, params.quorum,
                params.commit_window_s, params.reveal_window_s, params.time_limit_s)
        receipt = self._transact("createTask", args, params.escrow_wei)
        created = receipt.named("TaskCreated")
        if len(created) != 1:
            raise ChainError(f"createTask transaction {receipt.tx_hash} emitted {len(created)} TaskCreated events")
        return TaskId(created[0].args["taskId"]), receipt

    def commit(self, task_id: int, seal: bytes) -> TxReceipt:
        """Commit the sender's ``seal`` (see ``compute_seal``) for a task it is assigned to."""
        return self._transact("commit", (checked_uint("task_id", task_id, 256), checked_hash("seal", seal)))

    def reveal(self, task_id: int, result_hash: bytes, status: int, salt: bytes, result_ref: bytes) -> TxReceipt:
        """Reveal the values behind the sender's seal; the last reveal of a task finalizes it."""
        args = (
            checked_uint("task_id", task_id, 256),
            checked_hash("result_hash", result_hash),
            checked_uint("status", int(status) if isinstance(status, ExecStatus) else status, 8),
            checked_hash("salt", salt),
            checked_hash("result_ref", result_ref),
        )
        return self._transact("reveal", args, gas_floor=REVEAL_GAS_FLOOR)

    def finalize(self, task_id: int) -> TxReceipt:
        """Settle a task after every reveal or its deadlines: pay, slash, refund, free the nodes."""
        return self._transact("finalize", (checked_uint("task_id", task_id, 256),))

    def match_pending(self, max_tasks: int) -> TxReceipt:
        """Try to match up to ``max_tasks`` queued tasks, oldest first."""
        return self._transact("matchPending", (checked_uint("max_tasks", max_tasks, 256),))

    def _transact(self, function: str, args: Sequence[Any], value_wei: int = 0, gas_floor: int = 0) -> TxReceipt:
        if self._account is None:
            raise ValidationError(f"{function} needs an account: this TaskMarket binding is read-only")
        with self._connection.translated(self._interface.reverts):
            data = self._interface.functions.encode_call(function, args)
        receipt = self._connection.transact(self._account, self._address, data, value_wei, self._interface.reverts,
                                            gas_floor)
        return TxReceipt(
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            block_number=int(receipt["blockNumber"]),
            gas_used=int(receipt["gasUsed"]),
            events=self._decode_logs(receipt["logs"]),
        )

    # --- views -------------------------------------------------------------------------------------

    def task(self, task_id: int) -> TaskView:
        """Return the task; raises UnknownTask for an unknown id."""
        (raw,) = self._call("getTask", checked_uint("task_id", task_id, 256))
        return task_view(task_id, raw)

    def assignment(self, task_id: int) -> tuple[Address, ...]:
        """Return the nodes assigned to the task, in assignment order (empty while PENDING)."""
        (nodes,) = self._call("getAssignment", checked_uint("task_id", task_id, 256))
        return tuple(Address(to_checksum_address(node)) for node in nodes)

    def votes(self, task_id: int) -> tuple[VoteView, ...]:
        """Return every assigned node's commit and reveal on the task, in assignment order."""
        (votes,) = self._call("getVotes", checked_uint("task_id", task_id, 256))
        return tuple(vote_view(vote) for vote in votes)

    def proof(self, task_id: int) -> Proof:
        """Return the proof of execution of a COMPLETED task; raises NotFinalized otherwise."""
        (raw,) = self._call("getProof", checked_uint("task_id", task_id, 256))
        return proof_view(task_id, raw)

    def node(self, address: str) -> NodeView:
        """Return the node registered at ``address`` (``registered=False`` if none is)."""
        checked = checked_address("address", address)
        (raw,) = self._call("getNode", checked)
        return node_view(checked, raw)

    def withdrawable(self, address: str) -> int:
        """Return the wei ``address`` can withdraw now."""
        return int(self._call("withdrawable", checked_address("address", address))[0])

    def liabilities_wei(self) -> int:
        """Return what the contract owes: stakes + escrows + withdrawable balances."""
        return int(self._call("liabilitiesWei")[0])

    def totals(self) -> MarketTotals:
        """Return the contract's stake, escrow and withdrawable totals."""
        return MarketTotals(
            stakes_wei=int(self._call("totalStakesWei")[0]),
            escrow_wei=int(self._call("totalEscrowWei")[0]),
            withdrawable_wei=int(self._call("totalWithdrawableWei")[0]),
        )

    def task_count(self) -> int:
        """Return how many tasks were ever created (the highest task id)."""
        return int(self._call("taskCount")[0])

    def node_count(self) -> int:
        """Return how many nodes are registered."""
        return int(self._call("nodeCount")[0])

    def pending_count(self) -> int:
        """Return how many tasks wait in the matching queue."""
        return int(self._call("pendingCount")[0])

    @property
    def min_stake_wei(self) -> int:
        """The least stake a node registers with (fixed at deploy)."""
        return self._constant("minStakeWei")

    @property
    def slash_wei(self) -> int:
        """The stake taken per dissent, missing commit or missing reveal (fixed at deploy)."""
        return self._constant("slashWei")

    @property
    def exit_cooldown_s(self) -> int:
        """Seconds between a node's exit request and its exit (fixed at deploy)."""
        return self._constant("exitCooldownS")

    def balance_wei(self, address: str | None = None) -> int:
        """Return the ether balance of the contract, or of ``address`` when given."""
        target = self._address if address is None else checked_address("address", address)
        with self._connection.translated():
            return int(self._connection.web3.eth.get_balance(cast(ChecksumAddress, target)))

    def block_number(self) -> int:
        """Return the number of the latest block."""
        with self._connection.translated():
            return int(self._connection.web3.eth.block_number)

    def next_block_timestamp(self) -> int:
        """The time the next block will most likely carry: the wall clock, never before the latest block."""
        return max(int(time.time()), self.block_timestamp())

    def block_timestamp(self) -> int:
        """Return the unix time (seconds) of the latest block."""
        with self._connection.translated():
            return int(self._connection.web3.eth.get_block("latest")["timestamp"])

    def events(
        self,
        from_block: int,
        to_block: int | None = None,
        *,
        names: Iterable[str] | None = None,
        task_id: int | None = None,
    ) -> list[ChainEvent]:
        """Return the contract's events in [from_block, to_block] (to the latest block if None), in chain order.

        ``names`` keeps only those events; ``task_id`` keeps only events of that task. One eth_getLogs call.
        Raises ValidationError for an unknown event name.
        """
        log_filter = self._interface.events.log_filter(self._address, from_block, to_block, names, task_id)
        if log_filter is None:
            return []
        with self._connection.translated():
            logs = self._connection.web3.eth.get_logs(cast(FilterParams, log_filter))
        events = list(self._decode_logs(logs))
        events.sort(key=lambda event: (event.block_number, event.log_index))
        return events

    def transactions(self, from_block: int, to_block: int) -> list[TxSummary]:
        """Return every transaction mined in blocks [from_block, to_block], in chain order.

        Reads each block and each transaction's receipt; sends nothing. Raises ValidationError for a negative
        block number.
        """
        first = checked_uint("from_block", from_block, 64)
        last = checked_uint("to_block", to_block, 64)
        summaries: list[TxSummary] = []
        web3 = self._connection.web3
        with self._connection.translated():
            for number in range(first, last + 1):
                block = web3.eth.get_block(number, full_transactions=True)
                for tx in cast(list[TxData], block["transactions"]):
                    receipt = web3.eth.get_transaction_receipt(tx["hash"])
                    target = tx.get("to")
                    calldata = bytes(HexBytes(tx.get("input", tx.get("data", b""))))
                    calls_market = bool(target) and str(target).lower() == self._address.lower()
                    summaries.append(TxSummary(
                        block_number=number, timestamp_s=int(block["timestamp"]),
                        sender=Address(to_checksum_address(tx["from"])),
                        function=self._interface.functions.function_of(calldata) if calls_market else "",
                        gas_used=int(receipt["gasUsed"]), succeeded=int(receipt["status"]) == 1))
        return summaries

    def assignments_for(self, node: str, from_block: int) -> list[TaskId]:
        """Return the ids of the tasks ``node`` was assigned to since ``from_block``, oldest first."""
        checked = checked_address("node", node)
        log_filter = {
            "address": self._address,
            "fromBlock": checked_uint("from_block", from_block, 64),
            "toBlock": "latest",
            "topics": ["0x" + self._interface.events.topic("NodeAssigned").hex(), None,
                       "0x" + bytes(12).hex() + checked[2:].lower()],
        }
        with self._connection.translated():
            logs = self._connection.web3.eth.get_logs(cast(FilterParams, log_filter))
        events = sorted(self._decode_logs(logs), key=lambda event: (event.block_number, event.log_index))
        return [TaskId(event.args["taskId"]) for event in events if event.args["node"] == checked]

    def reveals(self, task_id: int, from_block: int = 0) -> dict[Address, Reveal]:
        """Return, by node, each reveal of the task since ``from_block`` with the seal that node committed.

        Only nodes that revealed appear. The salt is not in the Revealed event: it is read from the reveal
        transaction's calldata (one eth_getTransactionByHash per reveal, after one eth_getLogs). Sends
        nothing. Raises ChainError for a reveal without a Committed event, or one that was not a direct call
        of reveal (its salt cannot be read then), and ValidationError for a bad task id or block.
        """
        checked = checked_uint("task_id", task_id, 256)
        events = self.events(from_block, names=("Committed", "Revealed"), task_id=checked)
        seals = {event.args["node"]: event.args["seal"] for event in events if event.name == "Committed"}
        found: dict[Address, Reveal] = {}
        for event in events:
            if event.name != "Revealed":
                continue
            node = event.args["node"]
            if node not in seals:
                raise ChainError(f"node {node} revealed on task {checked} (transaction {event.tx_hash}) "
                                 f"without a Committed event since block {from_block}")
            found[node] = Reveal(node=node, seal=Hash32(seals[node]), result_hash=Hash32(event.args["resultHash"]),
                                 status=int(event.args["status"]), salt=self._revealed_salt(event))
        return found

    def _revealed_salt(self, revealed: ChainEvent) -> Hash32:
        """The salt in the calldata of the transaction that emitted ``revealed``, checked against the event."""
        with self._connection.translated():
            tx: Mapping[str, Any] = self._connection.web3.eth.get_transaction(HexStr(revealed.tx_hash))
        calldata = bytes(tx.get("input", tx.get("data", b"")))
        target = str(tx.get("to") or "")
        if target.lower() != self._address.lower() or self._interface.functions.function_of(calldata) != "reveal":
            raise ChainError(f"transaction {revealed.tx_hash} is not a direct call of reveal on {self._address}: "
                             "the salt of its reveal cannot be read from its calldata")
        with self._connection.translated():
            task_id, result_hash, status, salt, result_ref = abi.decode(list(_input_types("reveal")), calldata[4:])
        args = revealed.args
        if (task_id, bytes(result_hash), status, bytes(result_ref)) != (
                args["taskId"], args["resultHash"], int(args["status"]), args["resultRef"]):
            raise ChainError(f"the calldata of transaction {revealed.tx_hash} does not match its Revealed event")
        return Hash32(bytes(salt))

    # --- plumbing ----------------------------------------------------------------------------------

    def _call(self, function: str, *args: Any) -> tuple[Any, ...]:
        with self._connection.translated(self._interface.reverts):
            data = self._interface.functions.encode_call(function, args)
            output = self._connection.web3.eth.call({"to": self._address, "data": data})
            return self._interface.functions.decode_output(function, bytes(output))

    def _constant(self, function: str) -> int:
        if function not in self._constants:
            self._constants[function] = int(self._call(function)[0])
        return self._constants[function]

    def _decode_logs(self, logs: Iterable[Mapping[str, Any]]) -> tuple[ChainEvent, ...]:
        decoded = []
        for log in logs:
            if str(log.get("address", "")).lower() != self._address.lower():
                continue
            event = self._interface.events.decode(log)
            if event is not None:
                decoded.append(event)
        return tuple(decoded)

