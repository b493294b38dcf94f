"""The rules that decide a consensus: task terms, the seal, the proof check, error statuses, time limits, behaviours."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from eth_abi import abi
from eth_hash.auto import keccak
from eth_utils import is_address, to_checksum_address

from cipherquorum.exceptions import (
    BlobCorrupted,
    ProgramTimeout,
    StorageError,
    UnknownProgram,
    ValidationError,
)
from cipherquorum.types import Address, ExecStatus, Hash32, TaskId, TextEnum

# --- task terms --------------------------------------------------------------------------------

MAX_REPLICATION = 16
"""Most nodes a task can be replicated on (the contract's MAX_REPLICATION)."""
MAX_BATCH = 64
"""Most items one batch call (createTasks, commitMany, revealMany) may carry (the contract's MAX_BATCH)."""
MAX_WINDOW_S = 365 * 24 * 3600
"""Longest commit or reveal window, in seconds (the contract's MAX_WINDOW_S)."""
MIN_TIME_LIMIT_S = 1
"""The shortest time limit a task can have (the contract refuses 0). A run shorter than this is in time
whatever the task's limit, so a node needs the task's limit only after a run this long."""
UINT256_MAX = 2**256 - 1


class TermsViolation(ValidationError):
    """Task terms that the contract would refuse; ``field`` names the term that broke a rule."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class TaskTerms(Protocol):
    """How a task is replicated, timed and paid: what a scenario's market and a createTask call share."""

    @property
    def replication(self) -> int: ...
    @property
    def quorum(self) -> int: ...
    @property
    def commit_window_s(self) -> int: ...
    @property
    def reveal_window_s(self) -> int: ...
    @property
    def time_limit_s(self) -> int: ...
    @property
    def reward_per_node_wei(self) -> int: ...


TERM_FIELDS = ("replication", "quorum", "commit_window_s", "reveal_window_s", "time_limit_s", "reward_per_node_wei")


def check_task_terms(terms: TaskTerms) -> None:
    """Raise TermsViolation, naming the term and its value, if the contract would refuse ``terms``.

    The rules: 1 <= replication <= MAX_REPLICATION; quorum <= replication and a majority (2q > r); both
    windows in [1, MAX_WINDOW_S]; 1 <= time limit <= commit window; 1 <= replication x reward < 2**256.
    """
    for name in TERM_FIELDS:
        value = getattr(terms, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise TermsViolation(name, f'"{name}" must be an int (got {name}={value!r})')
    r, q = terms.replication, terms.quorum
    if not 1 <= r <= MAX_REPLICATION:
        raise TermsViolation("replication", f'"replication" must be in [1, {MAX_REPLICATION}] (got replication={r})')
    if q > r:
        raise TermsViolation("quorum", f'"quorum" must be <= replication (got quorum={q}, replication={r})')
    if 2 * q <= r:
        raise TermsViolation("quorum",
                             f'"quorum" must be a majority, > replication/2 (got quorum={q}, replication={r})')
    for name in ("commit_window_s", "reveal_window_s"):
        value = getattr(terms, name)
        if not 1 <= value <= MAX_WINDOW_S:
            raise TermsViolation(name, f'"{name}" must be in [1, {MAX_WINDOW_S}] (got {name}={value})')
    if not MIN_TIME_LIMIT_S <= terms.time_limit_s <= terms.commit_window_s:
        raise TermsViolation("time_limit_s", f'"time_limit_s" must be in [{MIN_TIME_LIMIT_S}, commit_window_s] '
                             f"(got time_limit_s={terms.time_limit_s}, commit_window_s={terms.commit_window_s})")
    if not 1 <= r * terms.reward_per_node_wei <= UINT256_MAX:
        raise TermsViolation("reward_per_node_wei", '"reward_per_node_wei" must be >= 1 and replication x reward '
                             f"must fit in uint256 (got reward_per_node_wei={terms.reward_per_node_wei})")


@dataclass(frozen=True)
class TaskParams:
    """What a client asks for when it creates a task; ``validate()`` applies the contract's rules locally."""

    program_id: Hash32
    manifest_ref: Hash32
    replication: int
    quorum: int
    commit_window_s: int
    reveal_window_s: int
    time_limit_s: int
    reward_per_node_wei: int

    @classmethod
    def for_terms(cls, terms: TaskTerms, program_id: Hash32, manifest_ref: Hash32) -> TaskParams:
        """The parameters of a task that runs ``program_id`` on ``manifest_ref`` under ``terms``."""
        return cls(program_id, manifest_ref, *(getattr(terms, name) for name in TERM_FIELDS))

    @property
    def escrow_wei(self) -> int:
        """The ether sent with createTask: replication x reward per node."""
        return self.replication * self.reward_per_node_wei

    def validate(self) -> None:
        """Raise ValidationError naming the field and value if the contract would reject these parameters."""
        for name in ("program_id", "manifest_ref"):
            value = getattr(self, name)
            if not isinstance(value, bytes) or len(value) != 32:
                raise TermsViolation(name, f'"{name}" must be 32 bytes (got {value!r})')
        check_task_terms(self)


# --- the seal ----------------------------------------------------------------------------------

def checked_uint(name: str, value: Any, bits: int) -> int:
    """Return ``value`` if it is an int in [0, 2**bits - 1]; raise ValidationError naming it otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**bits:
        raise ValidationError(f'"{name}" must be an int in [0, 2**{bits} - 1] (got {name}={value!r})')
    return int(value)


def checked_hash(name: str, value: Any) -> bytes:
    """Return ``value`` if it is 32 bytes; raise ValidationError naming it otherwise."""
    if not isinstance(value, (bytes, bytearray)) or len(value) != 32:
        raise ValidationError(f'"{name}" must be 32 bytes (got {name}={value!r})')
    return bytes(value)


def checked_address(name: str, value: Any) -> Address:
    """Return ``value`` checksummed if it is an address; raise ValidationError naming it otherwise."""
    if not isinstance(value, str) or not is_address(value):
        raise ValidationError(f'"{name}" must be a 20-byte hex address (got {name}={value!r})')
    return Address(to_checksum_address(value))


def compute_seal(task_id: int, result_hash: bytes, status: int, node: str, salt: bytes) -> Hash32:
    """Return keccak256(abi.encode(taskId, resultHash, status, node, salt)), the seal a node commits.

    Binding the node's address and a salt stops a lazy node from copying another's commitment. Equals the
    contract's computeSeal. Raises ValidationError for an out-of-range value.
    """
    encoded = abi.encode(
        ["uint256", "bytes32", "uint8", "address", "bytes32"],
        [
            checked_uint("task_id", task_id, 256),
            checked_hash("result_hash", result_hash),
            checked_uint("status", int(status), 8),
            checked_address("node", node),
            checked_hash("salt", salt),
        ],
    )
    return Hash32(keccak(encoded))


# --- the proof of execution --------------------------------------------------------------------

@dataclass(frozen=True)
class Proof:
    """The proof of execution of a COMPLETED task: what ran, the agreed result and the nodes that agreed."""

    task_id: TaskId
    program_id: Hash32
    manifest_ref: Hash32
    result_hash: Hash32
    status: ExecStatus
    result_ref: Hash32
    agreeing: tuple[Address, ...]
    finalized_block: int


@dataclass(frozen=True)
class Delivered:
    """The result blob a proof points to, as its reader found it: the status it records and its outputs' hash."""

    status: int
    result_hash: Hash32


@dataclass(frozen=True)
class Check:
    """One verdict of a proof check: what was checked, whether it held, and why not.

    An ``advisory`` check does not decide whether a proof holds; when it fails it flags something the reader
    should act on (a consensus reached with dissent).
    """

    name: str
    ok: bool
    detail: str = ""
    advisory: bool = False


@dataclass(frozen=True)
class Reveal:
    """A node's reveal as the chain recorded it: the values behind its seal, and the seal it committed."""

    node: Address
    seal: Hash32
    result_hash: Hash32
    status: int
    salt: Hash32


def check_proof(proof: Proof, *, program_id: Hash32, manifest_ref: Hash32, delivered: Delivered) -> tuple[Check, ...]:
    """Check a proof against the task its reader expects and the result blob it downloaded.

    ``program_id`` and ``manifest_ref`` are what the reader expects the task ran (a client: what it created; an
    outsider: what the manifest blob names). The result's hash is compared only for SUCCESS, since a task
    that failed agrees on its status alone.
    """
    compared = proof.status is ExecStatus.SUCCESS
    hash_ok = not compared or bytes(delivered.result_hash) == bytes(proof.result_hash)
    hash_detail = (f"result blob hashes to 0x{bytes(delivered.result_hash).hex()}, agreed "
                   f"0x{bytes(proof.result_hash).hex()}" if compared
                   else f"not compared: the agreed status is {proof.status.name}, agreed on alone")
    return (
        Check("program id", bytes(proof.program_id) == bytes(program_id),
              f"proof 0x{bytes(proof.program_id).hex()}, expected 0x{bytes(program_id).hex()}"),
        Check("manifest", bytes(proof.manifest_ref) == bytes(manifest_ref),
              f"proof 0x{bytes(proof.manifest_ref).hex()}, expected 0x{bytes(manifest_ref).hex()}"),
        Check("result hash", hash_ok, hash_detail),
        Check("status", delivered.status == int(proof.status),
              f"result blob says {delivered.status}, agreed {int(proof.status)}"),
    )


def check_winners(proof: Proof, quorum: int, reveals: Mapping[Address, Reveal]) -> tuple[Check, ...]:
    """Check that at least ``quorum`` nodes agreed, each with a seal that opens to the agreed result.

    ``reveals`` are the chain's reveals of the task by node. A winner without a reveal, or whose revealed
    values differ from the proof's, or whose seal does not open to them, fails the check.
    """
    problems = []
    for node in proof.agreeing:
        reveal = reveals.get(node)
        if reveal is None:
            problems.append(f"{node} has no reveal")
        elif bytes(reveal.result_hash) != bytes(proof.result_hash) or reveal.status != int(proof.status):
            problems.append(f"{node} revealed another result")
        elif compute_seal(proof.task_id, reveal.result_hash, reveal.status, node, reveal.salt) != reveal.seal:
            problems.append(f"{node}'s seal does not open to its reveal")
    count = len(set(proof.agreeing))
    return (
        Check("quorum", count >= quorum, f"{count} agreeing nodes, quorum {quorum}"),
        Check("seals", not problems, "; ".join(problems) or f"{count} seals open to the agreed result"),
    )


def dissenters(proof: Proof, reveals: Mapping[Address, Reveal]) -> tuple[Address, ...]:
    """The nodes that revealed another (result hash, status) than the one that won, in address order."""
    agreed = (bytes(proof.result_hash), int(proof.status))
    return tuple(sorted(node for node, reveal in reveals.items()
                        if (bytes(reveal.result_hash), int(reveal.status)) != agreed))


def check_dissent(proof: Proof, reveals: Mapping[Address, Reveal]) -> Check:
    """An advisory check that no revealed result disagreed with the winner.

    A quorum that wins against a dissenting node may be a colluding majority of the assigned nodes (with r=3
    and q=2, two colluders outvote one honest node): the proof holds, but its reader should know.
    """
    against = dissenters(proof, reveals)
    if not against:
        return Check("dissent", True, f"every revealed result agrees ({len(reveals)} reveals)", advisory=True)
    return Check("dissent", False, f"{len(against)} of {len(reveals)} revealed another result: {', '.join(against)}",
                 advisory=True)


def failed_checks(checks: Sequence[Check]) -> list[str]:
    """The names of the checks that did not hold (advisory ones aside)."""
    return [check.name for check in checks if not check.ok and not check.advisory]


def flagged_checks(checks: Sequence[Check]) -> list[str]:
    """The names of the advisory checks that did not hold."""
    return [check.name for check in checks if not check.ok and check.advisory]


# --- the status an error becomes ---------------------------------------------------------------

def status_for_error(exc: BaseException) -> ExecStatus:
    """The execution status every replica agrees on when fetching or running a task met ``exc``.

    A blob that no longer hashes to its id is INPUT_CHECKSUM_ERROR; a missing blob or a storage failure
    INPUT_UNAVAILABLE; an unknown program PROGRAM_UNKNOWN; a running past the time limit TIMEOUT; anything
    that is not what the task's parameters call for (an undecodable manifest, key bundle or ciphertext, bad
    params) INPUT_INVALID; any other failure EXECUTION_ERROR.
    """
    if isinstance(exc, BlobCorrupted):
        return ExecStatus.INPUT_CHECKSUM_ERROR
    if isinstance(exc, StorageError):
        return ExecStatus.INPUT_UNAVAILABLE
    if isinstance(exc, UnknownProgram):
        return ExecStatus.PROGRAM_UNKNOWN
    if isinstance(exc, ProgramTimeout):
        return ExecStatus.TIMEOUT
    if isinstance(exc, ValidationError):
        return ExecStatus.INPUT_INVALID
    return ExecStatus.EXECUTION_ERROR


# --- the time limit ----------------------------------------------------------------------------

def effective_time_limit_s(manifest_limit_s: float, chain_limit_s: float | None) -> float:
    """The time a program may run: the task's limit on chain binds, the manifest's can only be stricter."""
    return float(manifest_limit_s if chain_limit_s is None else min(manifest_limit_s, chain_limit_s))


def needs_chain_limit(ran_s: float) -> bool:
    """Whether a run this long must be checked against the task's limit on chain (shorter runs are in time)."""
    return ran_s >= MIN_TIME_LIMIT_S


def overran(ran_s: float, limit_s: float) -> bool:
    """Whether a run of ``ran_s`` seconds went past a limit of ``limit_s``: its status is then TIMEOUT."""
    return ran_s > limit_s


# --- behaviours --------------------------------------------------------------------------------

class BehaviourName(TextEnum):
    """How a compute node behaves: honest, or one of the byzantine ways a scenario can choose."""

    HONEST = "honest"
    WRONG = "wrong"
    LAZY = "lazy"
    CRASH = "crash"
    SLOW = "slow"
    COLLUDING = "colluding"


BEHAVIOUR_NAMES = tuple(b.value for b in BehaviourName)
"""The behaviours a scenario may name, in the order the README lists them."""


def behaviour_named(name: str) -> BehaviourName:
    """The behaviour called ``name``; raises ValidationError listing the known ones."""
    try:
        return BehaviourName(name)
    except ValueError:
        raise ValidationError(f"unknown behaviour {name!r} (known: {', '.join(BEHAVIOUR_NAMES)})") from None


__all__ = [
    "BEHAVIOUR_NAMES",
    "MAX_BATCH",
    "MAX_REPLICATION",
    "MAX_WINDOW_S",
    "MIN_TIME_LIMIT_S",
    "BehaviourName",
    "Check",
    "Delivered",
    "Proof",
    "Reveal",
    "TaskParams",
    "TaskTerms",
    "TermsViolation",
    "behaviour_named",
    "check_dissent",
    "check_proof",
    "check_task_terms",
    "check_winners",
    "checked_address",
    "checked_hash",
    "checked_uint",
    "compute_seal",
    "dissenters",
    "effective_time_limit_s",
    "failed_checks",
    "flagged_checks",
    "needs_chain_limit",
    "overran",
    "status_for_error",
]
