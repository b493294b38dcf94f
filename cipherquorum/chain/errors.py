"""The TaskMarket's custom errors as project exceptions, and the translation of chain-library errors at the edge."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import IntEnum
from http.client import HTTPException
from typing import Any

import requests
from eth_abi import abi
from eth_abi.exceptions import DecodingError, EncodingError
from eth_hash.auto import keccak
from web3.exceptions import (
    ContractLogicError,
    Web3Exception,
    Web3RPCError,
    Web3TypeError,
    Web3ValidationError,
    Web3ValueError,
)

from cipherquorum.chain.views import abi_type, normalize_outbound
from cipherquorum.exceptions import (
    ChainError,
    ChainUnavailable,
    CipherQuorumError,
    ContractError,
    TransactionFailed,
    ValidationError,
)


class StakeBelowMinimum(ContractError):
    """A node registered with less stake than the market's minimum."""


class AlreadyRegistered(ContractError):
    """The caller is already a registered node."""


class NotRegistered(ContractError):
    """The caller is not a registered node."""


class InvalidCapacity(ContractError):
    """A node registered with capacity 0 or above the contract's maximum."""


class InvalidPrice(ContractError):
    """A node asked a price above the contract's maximum."""


class TooManyNodes(ContractError):
    """The registry is full."""


class InvalidReplication(ContractError):
    """A task's replication is 0 or above the contract's maximum."""


class InvalidQuorum(ContractError):
    """A task's quorum is above its replication or not more than half of it."""


class InvalidEscrow(ContractError):
    """The ether sent with createTask is 0 or not a multiple of replication."""


class InvalidWindow(ContractError):
    """A task's commit or reveal window or time limit is 0, too long, or the limit exceeds the commit window."""


class UnknownTask(ContractError):
    """No task has the given id."""


class WrongState(ContractError):
    """The task is not in the state the call needs (usually ACTIVE)."""


class NotAssigned(ContractError):
    """The caller is not assigned to the task."""


class CommitClosed(ContractError):
    """The task's commit deadline has passed."""


class AlreadyCommitted(ContractError):
    """The node already committed to the task."""


class RevealNotOpen(ContractError):
    """Reveals open only once every node committed or the commit deadline passed."""


class RevealClosed(ContractError):
    """The task's reveal deadline has passed."""


class NotCommitted(ContractError):
    """The node did not commit to the task, so it cannot reveal."""


class AlreadyRevealed(ContractError):
    """The node already revealed for the task."""


class BadSeal(ContractError):
    """The revealed values and the node's address do not hash to the seal it committed."""


class InvalidStatus(ContractError):
    """The revealed status is not an execution status code."""


class FinalizeTooEarly(ContractError):
    """The task cannot be finalized before every reveal or its deadlines."""


class NotFinalized(ContractError):
    """The task has no proof because it is not COMPLETED."""


class ExitNotRequested(ContractError):
    """The node exits without having requested to."""


class ExitAlreadyRequested(ContractError):
    """The node already requested to exit."""


class CooldownNotOver(ContractError):
    """The node's exit cooldown has not ended."""


class NodeBusy(ContractError):
    """The node still holds tasks and cannot exit."""


class InsufficientBalance(ContractError):
    """A withdrawal asks for more than the caller's withdrawable balance."""


class TransferFailed(ContractError):
    """Sending ether to the withdrawing account failed."""


class ReentrantCall(ContractError):
    """A guarded function was re-entered."""


class InvalidBatch(ContractError):
    """A batch call carried no items, more than MAX_BATCH, or arrays of different lengths."""


class BatchEscrowMismatch(ContractError):
    """The escrows of a createTasks batch do not add up to the value sent."""


class InvalidMaxReplication(ContractError):
    """An adaptive task's maximum replication is below its replication or above the contract's maximum."""


class BallotClosed(ContractError):
    """The node's seat is in a round of an extended adaptive task that has closed: it can no longer vote."""


CONTRACT_ERRORS: Mapping[str, type[ContractError]] = {
    cls.__name__: cls
    for cls in (
        StakeBelowMinimum, AlreadyRegistered, NotRegistered, InvalidCapacity, InvalidPrice, TooManyNodes,
        InvalidReplication, InvalidQuorum, InvalidEscrow, InvalidWindow, UnknownTask, WrongState, NotAssigned,
        CommitClosed, AlreadyCommitted, RevealNotOpen, RevealClosed, NotCommitted, AlreadyRevealed, BadSeal,
        InvalidStatus, FinalizeTooEarly, NotFinalized, ExitNotRequested, ExitAlreadyRequested, CooldownNotOver,
        NodeBusy, InsufficientBalance, TransferFailed, ReentrantCall, InvalidBatch, BatchEscrowMismatch,
        InvalidMaxReplication, BallotClosed,
    )
}
"""Every TaskMarket custom error class, by its Solidity name."""

_ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")
_PANIC_SELECTOR = bytes.fromhex("4e487b71")
_PANIC_REASONS = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x31: "pop from an empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
}


def _format_arg(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, tuple):
        return "[" + ", ".join(_format_arg(item) for item in value) + "]"
    if isinstance(value, IntEnum):
        return f"{int(value)} ({value.name})"
    return str(value)


class RevertDecoder:
    """Turns revert data into the project's exceptions, using the custom errors of the contract's ABI.

    An ABI error without a class in ``CONTRACT_ERRORS`` still decodes, into a ContractError subclass made
    for it, so a newer contract never yields an anonymous failure.
    """

    def __init__(self, contract_abi: Sequence[Mapping[str, Any]]) -> None:
        self._by_selector: dict[bytes, tuple[type[ContractError], tuple[str, ...], tuple[str, ...]]] = {}
        for entry in contract_abi:
            if entry.get("type") != "error":
                continue
            name = str(entry["name"])
            kinds = tuple(abi_type(item) for item in entry["inputs"])
            names = tuple(str(item["name"]) or f"arg{i}" for i, item in enumerate(entry["inputs"]))
            selector = keccak(f"{name}({','.join(kinds)})".encode())[:4]
            cls = CONTRACT_ERRORS.get(name) or type(name, (ContractError,), {"__doc__": f"The contract's {name}."})
            self._by_selector[selector] = (cls, names, kinds)

    def decode(self, data: bytes, context: str = "") -> CipherQuorumError:
        """Return the exception that revert ``data`` stands for: a ContractError subclass for a custom error,
        TransactionFailed for Error(string), Panic(uint256) or unknown data. ``context`` is appended to the message.
        """
        suffix = f" ({context})" if context else ""
        selector, payload = data[:4], data[4:]
        known = self._by_selector.get(selector)
        try:
            if known is not None:
                cls, names, kinds = known
                values = abi.decode(list(kinds), payload)
                args = {name: normalize_outbound(name, kind, value) for name, kind, value in zip(names, kinds, values)}
                described = ", ".join(f"{name}={_format_arg(value)}" for name, value in args.items())
                message = f"{cls.__name__}: {described}" if described else cls.__name__
                return cls(message + suffix, error_name=cls.__name__, error_args=args)
            if selector == _ERROR_STRING_SELECTOR:
                return TransactionFailed(f"reverted: {abi.decode(['string'], payload)[0]}{suffix}")
            if selector == _PANIC_SELECTOR:
                code = abi.decode(["uint256"], payload)[0]
                return TransactionFailed(f"panic 0x{code:02x}: {_PANIC_REASONS.get(code, 'unknown panic')}{suffix}")
        except DecodingError:
            pass
        shown = "0x" + data.hex() if data else "no data"
        return TransactionFailed(f"reverted with unknown data {shown}{suffix}")


def _revert_bytes(data: Any) -> bytes | None:
    """Return revert data that a web3 contract-logic error carries as hex, or None if it has none."""
    if isinstance(data, Mapping):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return None
    return None


def translate_error(exc: BaseException, url: str, decoder: RevertDecoder | None = None) -> CipherQuorumError:
    """Return the project exception for an error raised by web3, the HTTP transport or eth-abi while talking to
    ``url``.

    Connection failures become ChainUnavailable, reverts the contract error that ``decoder`` finds (or
    TransactionFailed), bad arguments ValidationError, and any other answer ChainError.
    """
    if isinstance(exc, CipherQuorumError):
        return exc
    if isinstance(exc, (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError)):
        return ChainUnavailable(f"no JSON-RPC endpoint answered at {url}: {exc}")
    if isinstance(exc, ContractLogicError):
        data = _revert_bytes(exc.data)
        if data is not None and decoder is not None:
            return decoder.decode(data)
        return TransactionFailed(f"reverted: {exc.message or exc.data or 'no reason'}")
    if isinstance(exc, Web3RPCError):
        return ChainError(f"{url} answered with an error: {exc.message}")
    if isinstance(exc, (Web3ValidationError, Web3TypeError, Web3ValueError, EncodingError)):
        return ValidationError(f"invalid value for the chain: {exc}")
    if isinstance(exc, (Web3Exception, requests.RequestException, HTTPException, DecodingError)):
        return ChainError(f"chain request to {url} failed: {exc}")
    return ChainError(f"chain request to {url} failed: {type(exc).__name__}: {exc}")


TRANSLATED_ERRORS: tuple[type[BaseException], ...] = (
    Web3Exception, requests.RequestException, OSError, HTTPException, EncodingError, DecodingError,
)
"""The library exceptions that ``translate_error`` handles; catch these at the edge."""
