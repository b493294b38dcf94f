"""The typed TaskMarket binding: deploy it, send locally signed transactions, read its views and events."""
from __future__ import annotations

import copy
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, TypeVar, cast

from eth_abi import abi
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress, HexStr
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3.types import TxData

from cipherquorum.chain.artifact import load_artifact
from cipherquorum.chain.connection import DEFAULT_RECEIPT_TIMEOUT_S, DEFAULT_TIMEOUT_S, Connection
from cipherquorum.chain.errors import RevertDecoder
from cipherquorum.chain.gas import MAX_BATCH_GAS, GasTable
from cipherquorum.chain.views import (
    ChainEvent,
    EventDecoder,
    FunctionCodec,
    MarketTotals,
    NodeView,
    TaskRound,
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
from cipherquorum.exceptions import ChainError, ChainUnavailable, ValidationError
from cipherquorum.protocol import (
    MAX_BATCH,
    MAX_REPLICATION,
    Proof,
    Reveal,
    TaskParams,
    checked_address,
    checked_hash,
    checked_uint,
    compute_seal,
)
from cipherquorum.types import Address, ExecStatus, Hash32, TaskId

T = TypeVar("T")

NODE_COUNT_REFRESH_S = 30.0
"""How long the binding trusts the registered node count it read, which bounds the gas that matching costs."""
NODE_COUNT_SLACK = 8
"""Nodes that may register between two reads of the node count, added to it for the gas table."""
QUEUE_SLACK = 2
"""Tasks that may be queued between a sender's last look at the chain and its transaction's mining."""


@dataclass(frozen=True)
class Queued:
    """What a sender knows of the queued tasks a call may match: how many, and the largest replication."""

    tasks: int
    most_replication: int


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


class TaskMarket:
    """A deployed TaskMarket contract reached over JSON-RPC, acting as ``account`` (None: read-only).

    Transactions are signed locally with the account's key and sent raw, with a gas limit from ``gas_table``
    (nothing runs them before they are mined); each waits for its receipt and returns a TxReceipt with the
    decoded events. A revert raises the contract's error class from ``cipherquorum.chain.errors`` (a
    ContractError). An unreachable endpoint raises ChainUnavailable. The batch calls (``create_tasks``,
    ``commit_many``, ``reveal_many``) skip an item the single call would refuse and return its error in
    ``TxReceipt.skipped``.
    """

    def __init__(
        self,
        rpc_url: str,
        address: str,
        account: LocalAccount | None = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        receipt_timeout_s: float = DEFAULT_RECEIPT_TIMEOUT_S,
        gas_table: GasTable | None = None,
    ) -> None:
        self._interface = _interface()
        self._connection = Connection(rpc_url, timeout_s, receipt_timeout_s)
        self._address = checked_address("address", address)
        self._account = account
        self._gas = gas_table or GasTable()
        self._constants: dict[str, int] = {}
        self._nodes_bound = (0, float("-inf"))  # the node count bound for the gas table, and when it was read
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
        gas_table: GasTable | None = None,
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
        connection = Connection(rpc_url, timeout_s, DEFAULT_RECEIPT_TIMEOUT_S)
        gas = min((gas_table or GasTable()).limit("deploy"), connection.block_gas_limit())
        receipt = connection.transact(deployer, None, interface.functions.encode_deploy(args), 0, interface.reverts,
                                      gas)
        address = receipt.get("contractAddress")
        if not address:
            raise ChainError(f"deploy transaction 0x{bytes(receipt['transactionHash']).hex()} created no contract")
        return cls(rpc_url, address, deployer, timeout_s=timeout_s, gas_table=gas_table)

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
        receipt = self._transact("createTask", args, params.escrow_wei, (params.replication,))
        created = receipt.named("TaskCreated")
        if len(created) != 1:
            raise ChainError(f"createTask transaction {receipt.tx_hash} emitted {len(created)} TaskCreated events")
        return TaskId(created[0].args["taskId"]), receipt

    def create_adaptive_task(self, params: TaskParams, max_replication: int) -> tuple[TaskId, TxReceipt]:
        """Create an adaptive task: matched to ``params.replication`` nodes (r_min) and, while no result reaches
        the quorum, extended with extra replicas up to ``max_replication``; escrows max_replication x reward
        (seats never used are refunded at settlement). Return its id and the receipt.

        Raises ValidationError (before anything is sent) if ``params`` break the contract's rules or
        ``max_replication`` is not in [replication, MAX_REPLICATION].
        """
        params.validate()
        top = checked_uint("max_replication", max_replication, 8)
        if not params.replication <= top <= MAX_REPLICATION:
            raise ValidationError(f'"max_replication" must be between replication and {MAX_REPLICATION} (got '
                                  f"max_replication={max_replication}, replication={params.replication})")
        escrow_wei = top * params.reward_per_node_wei
        spec = (params.program_id, params.manifest_ref, params.replication, params.quorum, params.commit_window_s,
                params.reveal_window_s, params.time_limit_s, escrow_wei)
        receipt = self._transact("createAdaptiveTask", (spec, top), escrow_wei, (params.replication,))
        created = receipt.named("TaskCreated")
        if len(created) != 1:
            raise ChainError(f"createAdaptiveTask transaction {receipt.tx_hash} emitted {len(created)} TaskCreated "
                             "events")
        return TaskId(created[0].args["taskId"]), receipt

    def create_tasks(self, tasks: Sequence[TaskParams]) -> tuple[list[TaskId | None], TxReceipt]:
        """Create several tasks in one transaction (at most MAX_BATCH), each escrowing its replication x reward.

        Returns each task's id in order (None for one the contract skipped: its error is in the receipt's
        ``skipped`` and its escrow became the sender's withdrawable balance). Raises ValidationError (before
        anything is sent) if any params break the contract's rules, naming which.
        """
        specs = []
        for index, params in enumerate(self._batch("tasks", tasks)):
            try:
                params.validate()
            except ValidationError as exc:
                raise ValidationError(f"tasks[{index}]: {exc}") from None
            specs.append((params.program_id, params.manifest_ref, params.replication, params.quorum,
                          params.commit_window_s, params.reveal_window_s, params.time_limit_s, params.escrow_wei))
        receipt = self._transact("createTasks", (specs,), sum(params.escrow_wei for params in tasks),
                                 tuple(params.replication for params in tasks))
        ids: list[TaskId | None] = [TaskId(event.args["taskId"]) for event in receipt.named("TaskCreated")]
        for index in sorted(receipt.skipped):
            ids.insert(index, None)
        if len(ids) != len(tasks):
            raise ChainError(f"createTasks transaction {receipt.tx_hash} accounts for {len(ids)} of {len(tasks)} tasks")
        return ids, receipt

    def commit(self, task_id: int, seal: bytes, *, replication: int = MAX_REPLICATION) -> TxReceipt:
        """Commit the sender's ``seal`` (see ``compute_seal``) for a task it is assigned to.

        ``replication`` (the task's, when known) only sizes the gas limit.
        """
        return self._transact("commit", (checked_uint("task_id", task_id, 256), checked_hash("seal", seal)),
                              replications=(replication,))

    def commit_many(self, seals: Sequence[tuple[int, bytes]], *,
                    replications: Sequence[int] | None = None) -> TxReceipt:
        """Commit several ``(task_id, seal)`` pairs in one transaction (at most MAX_BATCH).

        An item the contract refuses is skipped: its error (what ``commit`` would raise) is in the receipt's
        ``skipped`` by index, and the other items take effect. ``replications`` only sizes the gas limit.
        """
        items = self._batch("seals", seals)
        task_ids = [checked_uint(f"seals[{i}].task_id", task_id, 256) for i, (task_id, _) in enumerate(items)]
        hashes = [checked_hash(f"seals[{i}].seal", seal) for i, (_, seal) in enumerate(items)]
        return self._transact("commitMany", (task_ids, hashes),
                              replications=self._replications(replications, len(items)))

    def reveal(self, task_id: int, result_hash: bytes, status: int, salt: bytes, result_ref: bytes, *,
               replication: int = MAX_REPLICATION, queued: Queued | None = None,
               max_replication: int | None = None) -> TxReceipt:
        """Reveal the values behind the sender's seal; the last reveal of a task finalizes it (or extends an
        adaptive task without a quorum).

        ``replication`` (the task's), ``queued`` (what the sender knows of the queued tasks, which the
        finalization may match) and ``max_replication`` (an adaptive task's, which an extension may reach) only
        size the gas limit.
        """
        return self._transact("reveal", self._reveal_args("", task_id, result_hash, status, salt, result_ref),
                              replications=(replication,), queued=queued,
                              max_replications=() if max_replication is None else (max_replication,))

    def reveal_many(self, reveals: Sequence[tuple[int, bytes, int, bytes, bytes]], *,
                    replications: Sequence[int] | None = None, queued: Queued | None = None,
                    max_replications: Sequence[int] | None = None) -> TxReceipt:
        """Reveal several ``(task_id, result_hash, status, salt, result_ref)`` items in one transaction.

        At most MAX_BATCH items; an item the contract refuses is skipped (its error in the receipt's
        ``skipped``), and each task's last reveal finalizes it (or extends it). ``replications``, ``queued``
        and ``max_replications`` (one per item, for adaptive tasks) only size the gas limit.
        """
        items = [self._reveal_args(f"reveals[{i}].", *item) for i, item in enumerate(self._batch("reveals", reveals))]
        tops = () if max_replications is None else self._replications(max_replications, len(items))
        return self._transact("revealMany", (items,), replications=self._replications(replications, len(items)),
                              queued=queued, max_replications=tops)

    def finalize(self, task_id: int, *, replication: int = MAX_REPLICATION, queued: Queued | None = None,
                 max_replication: int | None = None) -> TxReceipt:
        """Settle a task after every reveal or its deadlines: pay, slash, refund, free the nodes (an adaptive
        task without a quorum and with seats left is extended instead). The keywords only size the gas limit."""
        return self._transact("finalize", (checked_uint("task_id", task_id, 256),), replications=(replication,),
                              queued=queued, max_replications=() if max_replication is None else (max_replication,))

    def match_pending(self, max_tasks: int) -> TxReceipt:
        """Try to match up to ``max_tasks`` queued tasks, oldest first."""
        checked = checked_uint("max_tasks", max_tasks, 256)
        return self._transact("matchPending", (checked,), replications=(MAX_REPLICATION,) * min(checked, MAX_BATCH))

    def gas_limit(self, function: str, replications: Sequence[int] = (), *, queued: Queued | None = None,
                  max_replications: Sequence[int] = ()) -> int:
        """The gas limit this binding sends ``function`` with: the gas table's, for the registered nodes, what
        ``queued`` says of the queued tasks (unknown when None) and the adaptive tasks' ``max_replications``,
        capped at the block gas limit."""
        queued_tasks = None if queued is None else queued.tasks + QUEUE_SLACK
        queued_replication = MAX_REPLICATION if queued is None else queued.most_replication
        table = self._gas.limit(function, replications, nodes=self._node_bound(function), queued_tasks=queued_tasks,
                                queued_replication=queued_replication, max_replications=max_replications)
        return min(table, self._connection.block_gas_limit())

    def in_transactions(self, function: str, items: Sequence[T], replication: int, *,
                        queued: Queued | None = None, max_replication: int | None = None) -> list[list[T]]:
        """``items`` split into consecutive chunks, one transaction of batch ``function`` each: MAX_BATCH items,
        or fewer, at least one, so that a chunk's gas limit stays within MAX_BATCH_GAS (tasks of ``replication``,
        adaptive up to ``max_replication`` when given).
        """
        size = 1
        while size < MAX_BATCH and self.gas_limit(
                function, (replication,) * (size + 1), queued=queued,
                max_replications=() if max_replication is None else (max_replication,) * (size + 1)
        ) <= MAX_BATCH_GAS:
            size += 1  # the limit grows with the count, so the first count past the cap ends the search
        return [list(items[first:first + size]) for first in range(0, len(items), size)]

    def _transact(self, function: str, args: Sequence[Any], value_wei: int = 0, replications: Sequence[int] = (),
                  queued: Queued | None = None, max_replications: Sequence[int] = ()) -> TxReceipt:
        if self._account is None:
            raise ValidationError(f"{function} needs an account: this TaskMarket binding is read-only")
        with self._connection.translated(self._interface.reverts):
            data = self._interface.functions.encode_call(function, args)
        gas = self.gas_limit(function, replications, queued=queued, max_replications=max_replications)
        receipt = self._connection.transact(self._account, self._address, data, value_wei, self._interface.reverts,
                                            gas)
        events = self._decode_logs(receipt["logs"])
        tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
        skipped = {
            int(event.args["index"]): self._interface.reverts.decode(
                bytes(event.args["reason"]), f"{function} item {event.args['index']} in transaction {tx_hash}")
            for event in events if event.name == "BatchItemSkipped"
        }
        return TxReceipt(tx_hash=tx_hash, block_number=int(receipt["blockNumber"]), gas_used=int(receipt["gasUsed"]),
                         events=events, skipped=skipped)

    def _node_bound(self, function: str) -> int:
        """An upper bound on the registered nodes (read at most every NODE_COUNT_REFRESH_S), for calls that match."""
        if function in ("deploy", "commit", "commitMany", "requestExit", "exit", "withdraw"):
            return 0
        bound, read_at_s = self._nodes_bound
        if time.monotonic() - read_at_s > NODE_COUNT_REFRESH_S:
            bound = self.node_count() + NODE_COUNT_SLACK
            self._nodes_bound = (bound, time.monotonic())
        return bound

    @staticmethod
    def _batch(name: str, items: Sequence[Any]) -> Sequence[Any]:
        if not isinstance(items, Sequence) or not 1 <= len(items) <= MAX_BATCH:
            count = len(items) if isinstance(items, Sequence) else items
            raise ValidationError(f'"{name}" must hold 1 to {MAX_BATCH} items (got {count!r})')
        return items

    @staticmethod
    def _replications(replications: Sequence[int] | None, count: int) -> tuple[int, ...]:
        if replications is None:
            return (MAX_REPLICATION,) * count
        if len(replications) != count:
            raise ValidationError(f'"replications" must have one entry per item ({count}, got {len(replications)})')
        return tuple(replications)

    @staticmethod
    def _reveal_args(prefix: str, task_id: int, result_hash: bytes, status: int, salt: bytes,
                     result_ref: bytes) -> tuple[int, bytes, int, bytes, bytes]:
        return (
            checked_uint(f"{prefix}task_id", task_id, 256),
            checked_hash(f"{prefix}result_hash", result_hash),
            checked_uint(f"{prefix}status", int(status) if isinstance(status, ExecStatus) else status, 8),
            checked_hash(f"{prefix}salt", salt),
            checked_hash(f"{prefix}result_ref", result_ref),
        )

    # --- views -------------------------------------------------------------------------------------

    def task(self, task_id: int) -> TaskView:
        """Return the task; raises UnknownTask for an unknown id."""
        (raw,) = self._call("getTask", checked_uint("task_id", task_id, 256))
        return task_view(task_id, raw)

    def task_round(self, task_id: int) -> TaskRound:
        """Return the task's adaptive terms and current round; raises UnknownTask for an unknown id."""
        raw = self._call("getRound", checked_uint("task_id", task_id, 256))
        return TaskRound(*(int(value) for value in raw))

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

    def prepare(self) -> None:
        """Read now what the account's first transaction would wait for: the chain id, the gas price, the block
        gas limit, the account's nonce and the registered node count (each kept as a transaction keeps it)."""
        if self._account is not None:
            self._connection.prepare(self._account)
        self._node_bound("createTasks")

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
        A ``from_block`` past the latest block has no events yet: anvil, like geth, refuses such a range, and a
        follower that has read every block asks for exactly that (an extra eth_blockNumber tells the two apart
        after a refusal). Raises ValidationError for an unknown event name.
        """
        log_filter = self._interface.events.log_filter(self._address, from_block, to_block, names, task_id)
        if log_filter is None:
            return []
        try:
            logs = self._connection.request("eth_getLogs", [log_filter])
        except ChainUnavailable:
            raise
        except ChainError:
            if to_block is None and from_block > self.block_number():
                return []
            raise
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
            "fromBlock": hex(checked_uint("from_block", from_block, 64)),
            "toBlock": "latest",
            "topics": ["0x" + self._interface.events.topic("NodeAssigned").hex(), None,
                       "0x" + bytes(12).hex() + checked[2:].lower()],
        }
        logs = self._connection.request("eth_getLogs", [log_filter])
        events = sorted(self._decode_logs(logs), key=lambda event: (event.block_number, event.log_index))
        return [TaskId(event.args["taskId"]) for event in events if event.args["node"] == checked]

    def reveals(self, task_id: int, from_block: int = 0) -> dict[Address, Reveal]:
        """Return, by node, each reveal of the task since ``from_block`` with the seal that node committed.

        Only nodes that revealed appear. The salt is not in the Revealed event: it is read from the reveal
        transaction's calldata (one eth_getTransactionByHash per reveal, after one eth_getLogs). Sends
        nothing. Raises ChainError for a reveal without a Committed event, or one that was not a direct call
        of reveal or revealMany (its salt cannot be read then), and ValidationError for a bad task id or block.
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
        """The salt in the calldata of the transaction that emitted ``revealed`` (a reveal, or the revealMany
        item of its task), checked against the event."""
        with self._connection.translated():
            tx: Mapping[str, Any] = self._connection.web3.eth.get_transaction(HexStr(revealed.tx_hash))
        calldata = bytes(tx.get("input", tx.get("data", b"")))
        target = str(tx.get("to") or "")
        function = self._interface.functions.function_of(calldata) if target.lower() == self._address.lower() else ""
        if function not in ("reveal", "revealMany"):
            raise ChainError(f"transaction {revealed.tx_hash} is not a direct call of reveal or revealMany on "
                             f"{self._address}: the salt of its reveal cannot be read from its calldata")
        with self._connection.translated():
            decoded = abi.decode(list(_input_types(function)), calldata[4:])
        items = [tuple(decoded)] if function == "reveal" else [tuple(item) for item in decoded[0]]
        args = revealed.args
        for task_id, result_hash, status, salt, result_ref in items:
            if (task_id, bytes(result_hash), status, bytes(result_ref)) == (
                    args["taskId"], args["resultHash"], int(args["status"]), args["resultRef"]):
                return Hash32(bytes(salt))
        raise ChainError(f"the calldata of transaction {revealed.tx_hash} does not match its Revealed event")

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

