"""Typed values read from or sent to the TaskMarket: task parameters, views, receipts and decoded events."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from eth_abi import abi
from eth_abi.exceptions import DecodingError
from eth_hash.auto import keccak
from eth_utils import to_checksum_address

from cipherquorum.chain.abiwords import Word, compile_decoder, word_decoder
from cipherquorum.exceptions import ArtifactError, ChainError, CipherQuorumError, ValidationError
from cipherquorum.protocol import (
    Proof,
    checked_uint,
)
from cipherquorum.types import Address, ExecStatus, Hash32, SlashReason, TaskId, TaskState

UINT64_MAX = 2**64 - 1

_ENUM_ARGS = {"status": ExecStatus, "state": TaskState, "reason": SlashReason}
"""uint8 arguments that carry a domain enum, by ABI argument name."""


def abi_type(param: Mapping[str, Any]) -> str:
    """Return the canonical ABI type string of an ABI parameter, expanding tuples: ``(address,bool)[]``."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(abi_type(component) for component in param["components"])
        return f"({inner}){kind[len('tuple'):]}"
    return kind


@lru_cache(maxsize=4096)
def checksummed(address: str) -> Address:
    """``address`` in its EIP-55 checksummed form (cached: a market has few distinct addresses, and every node
    decodes every event)."""
    return Address(to_checksum_address(address))


def _as_bytes(value: str | bytes) -> bytes:
    """A log field as bytes, whether web3 formatted it (bytes) or it came as JSON-RPC hex."""
    return bytes.fromhex(value[2:] if value.startswith("0x") else value) if isinstance(value, str) else bytes(value)


def _as_int(value: str | int) -> int:
    """A log quantity as int, whether web3 formatted it or it came as JSON-RPC hex."""
    return int(value, 16) if isinstance(value, str) else int(value)


def normalize_outbound(name: str, kind: str, value: Any) -> Any:
    """Return a decoded ABI value in the project's form.

    Addresses become checksummed ``Address``, bytesN stay ``bytes``, arrays become tuples, and uint8
    arguments named status, state or reason become ExecStatus, TaskState or SlashReason (a value outside
    the enum stays an int).
    """
    if kind.endswith("[]"):
        return tuple(normalize_outbound(name, kind[:-2], item) for item in value)
    if kind == "address":
        return checksummed(value)
    if kind.startswith("bytes"):
        return bytes(value)
    enum = _ENUM_ARGS.get(name) if kind == "uint8" else None
    if enum is not None and value in enum._value2member_map_:
        return enum(value)
    return value


@dataclass(frozen=True)
class ChainEvent:
    """One decoded TaskMarket event; ``args`` maps the ABI argument names to normalized values."""

    name: str
    args: Mapping[str, Any]
    block_number: int
    tx_hash: str
    log_index: int


@dataclass(frozen=True)
class TxReceipt:
    """A mined, successful transaction: its hash, block, gas used and the TaskMarket events it emitted."""

    tx_hash: str
    block_number: int
    gas_used: int
    events: tuple[ChainEvent, ...]
    skipped: Mapping[int, CipherQuorumError] = field(default_factory=dict)
    """A batch call's skipped items: by index, the error the single call would have raised for that item."""

    def named(self, name: str) -> tuple[ChainEvent, ...]:
        """Return the events called ``name``, in log order."""
        return tuple(event for event in self.events if event.name == name)


@dataclass(frozen=True)
class TxSummary:
    """One mined transaction as a block lists it: block, time, sender, the TaskMarket function, gas used.

    ``function`` is "" for a transaction that is not a call of the contract (a deployment, a transfer).
    """

    block_number: int
    timestamp_s: int
    sender: Address
    function: str
    gas_used: int
    succeeded: bool


@dataclass(frozen=True)
class TaskRound:
    """A task's adaptive terms (getRound): the seats its escrow pays for (its replication for an ordinary task),
    the first ballot of its current round, and the ballots an extension closed without a commit and without a
    reveal."""

    max_replication: int
    round_start: int
    closed_uncommitted: int
    closed_unrevealed: int


@dataclass(frozen=True)
class TaskView:
    """A task as the contract's getTask returns it; times are unix seconds of block time."""

    task_id: TaskId
    client: Address
    program_id: Hash32
    manifest_ref: Hash32
    replication: int
    quorum: int
    state: TaskState
    reward_per_node_wei: int
    created_at: int
    matched_at: int
    commit_deadline: int
    reveal_deadline: int
    commit_window_s: int
    reveal_window_s: int
    time_limit_s: int
    commit_count: int
    reveal_count: int


@dataclass(frozen=True)
class VoteView:
    """One assigned node's commit and reveal on a task (zero hashes until it commits or reveals)."""

    node: Address
    committed: bool
    revealed: bool
    seal: Hash32
    result_hash: Hash32
    status: ExecStatus
    result_ref: Hash32


@dataclass(frozen=True)
class NodeView:
    """A compute node's registration; all zero with ``registered=False`` for an unknown address."""

    address: Address
    stake_wei: int
    price_wei: int
    capacity: int
    active_tasks: int
    exit_requested_at: int
    registered: bool


@dataclass(frozen=True)
class MarketTotals:
    """The contract's three liability totals; their sum must equal the contract's ether balance."""

    stakes_wei: int
    escrow_wei: int
    withdrawable_wei: int

    @property
    def liabilities_wei(self) -> int:
        """Stakes plus escrows plus withdrawable balances."""
        return self.stakes_wei + self.escrow_wei + self.withdrawable_wei


def task_view(task_id: int, raw: Sequence[Any]) -> TaskView:
    """Build a TaskView from getTask's decoded TaskInfo tuple."""
    (client, program_id, manifest_ref, replication, quorum, state, reward, created_at, matched_at,
     commit_deadline, reveal_deadline, commit_window_s, reveal_window_s, time_limit_s, commit_count,
     reveal_count) = raw
    return TaskView(
        TaskId(task_id), checksummed(client), Hash32(bytes(program_id)),
        Hash32(bytes(manifest_ref)), replication, quorum, TaskState(state), reward, created_at, matched_at,
        commit_deadline, reveal_deadline, commit_window_s, reveal_window_s, time_limit_s, commit_count,
        reveal_count,
    )


def vote_view(raw: Sequence[Any]) -> VoteView:
    """Build a VoteView from one of getVotes' decoded Vote tuples."""
    node, committed, revealed, seal, result_hash, status, result_ref = raw
    return VoteView(
        checksummed(node), committed, revealed, Hash32(bytes(seal)), Hash32(bytes(result_hash)),
        ExecStatus(status), Hash32(bytes(result_ref)),
    )


def proof_view(task_id: int, raw: Sequence[Any]) -> Proof:
    """Build a Proof from getProof's decoded Proof tuple."""
    program_id, manifest_ref, result_hash, status, result_ref, agreeing, finalized_block = raw
    return Proof(
        TaskId(task_id), Hash32(bytes(program_id)), Hash32(bytes(manifest_ref)), Hash32(bytes(result_hash)),
        ExecStatus(status), Hash32(bytes(result_ref)),
        tuple(checksummed(node) for node in agreeing), finalized_block,
    )


def node_view(address: str, raw: Sequence[Any]) -> NodeView:
    """Build a NodeView from getNode's decoded NodeInfo tuple."""
    stake_wei, price_wei, capacity, active_tasks, exit_requested_at, registered = raw
    return NodeView(
        checksummed(address), stake_wei, price_wei, capacity, active_tasks, exit_requested_at,
        registered,
    )


@dataclass(frozen=True)
class _Function:
    selector: bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


class FunctionCodec:
    """Encodes calls and the deployment of the contract, and decodes its functions' outputs, from its ABI."""

    def __init__(self, contract_abi: Sequence[Mapping[str, Any]], bytecode: str) -> None:
        self._bytecode = bytes.fromhex(bytecode[2:])
        self._functions: dict[str, _Function] = {}
        self._constructor_inputs: tuple[str, ...] = ()
        for entry in contract_abi:
            inputs = tuple(abi_type(item) for item in entry.get("inputs", ()))
            if entry.get("type") == "constructor":
                self._constructor_inputs = inputs
            elif entry.get("type") == "function":
                selector = keccak(f"{entry['name']}({','.join(inputs)})".encode())[:4]
                outputs = tuple(abi_type(item) for item in entry.get("outputs", ()))
                self._functions[entry["name"]] = _Function(selector, inputs, outputs)

    def function_of(self, calldata: bytes) -> str:
        """Return the name of the function ``calldata`` calls ("" when its selector is not the contract's)."""
        selector = bytes(calldata[:4])
        return next((name for name, function in self._functions.items() if function.selector == selector), "")

    def encode_call(self, name: str, args: Sequence[Any]) -> bytes:
        """Return the calldata for function ``name`` with ``args`` (eth-abi's EncodingError if they do not fit)."""
        function = self._functions[name]
        return function.selector + abi.encode(list(function.inputs), list(args))

    def decode_output(self, name: str, data: bytes) -> tuple[Any, ...]:
        """Return the decoded outputs of function ``name``."""
        return tuple(abi.decode(list(self._functions[name].outputs), data))

    def encode_deploy(self, args: Sequence[Any]) -> bytes:
        """Return the creation code followed by the encoded constructor arguments."""
        return self._bytecode + abi.encode(list(self._constructor_inputs), list(args))


@dataclass(frozen=True)
class _EventSpec:
    name: str
    topic: bytes
    indexed: tuple[tuple[str, str], ...]
    data: tuple[tuple[str, str], ...]
    order: tuple[str, ...]
    fast_topics: tuple[Word, ...] | None = None  # word decoders of the indexed arguments, where all have one
    fast_data: Callable[[bytes], tuple[Any, ...]] | None = None  # the data's decoder, where abiwords covers it

    def decode_values(self, topics: Sequence[bytes], data: bytes) -> dict[str, Any]:
        """The raw ABI values of the indexed and data arguments; raises DecodingError."""
        values: dict[str, Any] = {}
        if self.fast_topics is not None:
            for (name, _), decode, topic in zip(self.indexed, self.fast_topics, topics):
                values[name] = decode(topic)
        else:
            for (name, kind), topic in zip(self.indexed, topics):
                values[name] = abi.decode([kind], topic)[0]
        decoded = (self.fast_data(data) if self.fast_data is not None
                   else abi.decode([kind for _, kind in self.data], data))
        for (name, _), value in zip(self.data, decoded):
            values[name] = value
        return values


class EventDecoder:
    """Decodes TaskMarket logs into ChainEvents, using the events of the contract's ABI."""

    def __init__(self, contract_abi: Sequence[Mapping[str, Any]], *, word_decoding: bool = True) -> None:
        """``word_decoding`` decodes with abiwords where it covers an event's types (eth_abi otherwise, or always
        when false: the two agree, and abiwords took a third of the time in benchmarks/event_decoding.py)."""
        self._by_topic: dict[bytes, _EventSpec] = {}
        self._by_name: dict[str, _EventSpec] = {}
        for entry in contract_abi:
            if entry.get("type") != "event" or entry.get("anonymous"):
                continue
            inputs = entry["inputs"]
            signature = f"{entry['name']}({','.join(abi_type(item) for item in inputs)})"
            indexed = tuple((item["name"], abi_type(item)) for item in inputs if item["indexed"])
            data = tuple((item["name"], abi_type(item)) for item in inputs if not item["indexed"])
            topic_decoders = tuple(word_decoder(kind) for _, kind in indexed)
            spec = _EventSpec(
                name=entry["name"],
                topic=keccak(signature.encode()),
                indexed=indexed,
                data=data,
                order=tuple(item["name"] for item in inputs),
                fast_topics=tuple(d for d in topic_decoders if d is not None)
                if word_decoding and all(topic_decoders) else None,
                fast_data=compile_decoder([kind for _, kind in data]) if word_decoding else None,
            )
            if any(kind.endswith("]") or kind in ("bytes", "string") or kind.startswith("(")
                   for _, kind in spec.indexed):
                raise ArtifactError(f"event {spec.name} indexes a dynamic type, which cannot be decoded")
            self._by_topic[spec.topic] = spec
            self._by_name[spec.name] = spec

    @property
    def names(self) -> frozenset[str]:
        """The names of every event the contract emits."""
        return frozenset(self._by_name)

    def topic(self, name: str) -> bytes:
        """Return the topic0 of event ``name``; raises ValidationError for an unknown name."""
        spec = self._by_name.get(name)
        if spec is None:
            raise ValidationError(f'"{name}" is not a TaskMarket event (known: {", ".join(sorted(self._by_name))})')
        return spec.topic

    def first_indexed(self, name: str) -> str | None:
        """Return the name of event ``name``'s first indexed argument, or None if it has none."""
        spec = self._by_name[name]
        return spec.indexed[0][0] if spec.indexed else None

    def log_filter(
        self, address: str, from_block: int, to_block: int | None, names: Iterable[str] | None = None,
        task_id: int | None = None,
    ) -> dict[str, Any] | None:
        """Return the eth_getLogs filter for the events called ``names`` (all if None) that ``address`` emitted
        in [from_block, to_block] (to the latest block if None), only those of ``task_id`` when given, as
        JSON-RPC (block numbers in hex).

        Returns None when no event can match (none of the names has a task id). Raises ValidationError for an
        unknown name or a negative block or task id.
        """
        selected = sorted(self.names if names is None else {str(name) for name in names})
        topics = ["0x" + self.topic(name).hex() for name in selected]
        log_filter: dict[str, Any] = {
            "address": address,
            "fromBlock": hex(checked_uint("from_block", from_block, 64)),
            "toBlock": "latest" if to_block is None else hex(checked_uint("to_block", to_block, 64)),
        }
        if task_id is not None:
            task_topic = "0x" + checked_uint("task_id", task_id, 256).to_bytes(32, "big").hex()
            topics = ["0x" + self.topic(name).hex() for name in selected if self.first_indexed(name) == "taskId"]
            if not topics:
                return None
            log_filter["topics"] = [topics, task_topic]
        elif names is not None:
            if not topics:
                return None
            log_filter["topics"] = [topics]
        return log_filter

    def decode(self, log: Mapping[str, Any]) -> ChainEvent | None:
        """Return the ChainEvent of a JSON-RPC log, or None if it is not one of the contract's events.

        Raises ChainError if a known event's data does not decode.
        """
        topics = [_as_bytes(topic) for topic in log["topics"]]
        spec = self._by_topic.get(topics[0]) if topics else None
        if spec is None or len(topics) != 1 + len(spec.indexed):
            return None
        try:
            raw = spec.decode_values(topics[1:], _as_bytes(log["data"]))
        except DecodingError as exc:
            raise ChainError(f"log of event {spec.name} does not decode: {exc}") from None
        values = {name: normalize_outbound(name, kind, raw[name]) for name, kind in spec.indexed + spec.data}
        tx_hash = log["transactionHash"]
        return ChainEvent(
            name=spec.name,
            args=MappingProxyType({name: values[name] for name in spec.order}),
            block_number=_as_int(log["blockNumber"]),
            tx_hash=tx_hash if isinstance(tx_hash, str) else "0x" + bytes(tx_hash).hex(),
            log_index=_as_int(log["logIndex"]),
        )
