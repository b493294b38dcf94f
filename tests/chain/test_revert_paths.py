"""Every way of breaking a TaskMarket rule reverts with the custom error named for it, raised as that ContractError."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from web3 import Web3

from cipherquorum.chain import RevertDecoder, TaskMarket, load_artifact
from cipherquorum.chain.errors import CONTRACT_ERRORS, TRANSLATED_ERRORS, translate_error
from cipherquorum.exceptions import ContractError
from cipherquorum.protocol import TaskParams
from cipherquorum.types import Address, ExecStatus, SlashReason, TaskState

RESULT = keccak(b"result")
OTHER_RESULT = keccak(b"other result")
ANY_SEAL = keccak(b"any seal")


@dataclass
class Bench:
    """One fresh market with the helpers a revert case needs to reach its rule."""

    market: TaskMarket
    client: TaskMarket
    rpc_url: str
    accounts: Callable[[str, int], LocalAccount]
    register_nodes: Callable[..., dict[Address, TaskMarket]]
    make_params: Callable[..., TaskParams]
    advance_time: Callable[[int], int]
    vote: Callable[..., Any]
    nodes: dict[Address, TaskMarket] = field(default_factory=dict)

    def register(self, count: int, **options: Any) -> list[TaskMarket]:
        """Register ``count`` more nodes (2x the minimum stake each) and return their bindings."""
        added = self.register_nodes(count, first=len(self.nodes), **options)
        self.nodes.update(added)
        return list(added.values())

    def create(self, **overrides: Any) -> int:
        """Create a task (r=3, q=2 unless overridden) as the client and return its id."""
        task_id, _ = self.client.create_task(self.make_params(**overrides))
        return task_id

    def assigned(self, task_id: int) -> list[TaskMarket]:
        """The bindings of the nodes assigned to ``task_id``, in assignment order."""
        return [self.nodes[address] for address in self.market.assignment(task_id)]

    def unassigned(self, task_id: int) -> TaskMarket:
        """A registered node that is not assigned to ``task_id``."""
        assigned = set(self.market.assignment(task_id))
        return next(node for address, node in self.nodes.items() if address not in assigned)

    def advance_past(self, deadline_s: int) -> None:
        """Make the next block's time later than ``deadline_s``."""
        gap_s = deadline_s - self.market.block_timestamp() + 1
        if gap_s > 0:
            self.advance_time(gap_s)

    def commit_all(self, task_id: int, result_hash: bytes = RESULT) -> list[Any]:
        """Every assigned node commits ``result_hash``; returns their ballots."""
        ballots = [self.vote(node, task_id, result_hash) for node in self.assigned(task_id)]
        for ballot in ballots:
            ballot.commit()
        return ballots

    def raw_create_task(self, replication: int, quorum: int, value_wei: int, windows_s: tuple[int, int, int]) -> None:
        """Send createTask as an eth_call that skips TaskParams.validate(), raising what the binding would."""
        artifact = load_artifact()
        web3 = Web3(Web3.HTTPProvider(self.rpc_url))
        contract = web3.eth.contract(address=self.market.address, abi=list(artifact.abi))
        program_id, manifest_ref = keccak(b"histogram@1"), keccak(b"manifest")
        call = contract.functions.createTask(program_id, manifest_ref, replication, quorum, *windows_s)
        try:
            call.call({"from": self.client.sender, "value": value_wei})
        except TRANSLATED_ERRORS as exc:
            raise translate_error(exc, self.rpc_url, RevertDecoder(artifact.abi)) from None


@dataclass(frozen=True)
class Breach:
    """The call that breaks a rule, and the error arguments it must revert with (a subset, by name)."""

    act: Callable[[], object]
    args: Mapping[str, Any] = field(default_factory=dict)


@pytest.fixture
def bench(
    market: TaskMarket,
    client: TaskMarket,
    rpc_url: str,
    accounts: Callable[[str, int], LocalAccount],
    register_nodes: Callable[..., dict[Address, TaskMarket]],
    make_params: Callable[..., TaskParams],
    advance_time: Callable[[int], int],
    vote: Callable[..., Any],
) -> Bench:
    """A fresh market, its client and the conftest helpers, bundled for the revert cases."""
    return Bench(market, client, rpc_url, accounts, register_nodes, make_params, advance_time, vote)


# --- the cases: each arranges a market one step short of a rule, and returns the step that breaks it --------

def commit_to_queued_task(b: Bench) -> Breach:
    b.register(2)
    task_id = b.create()
    node = next(iter(b.nodes.values()))
    return Breach(lambda: node.commit(task_id, ANY_SEAL), {"taskId": task_id, "state": TaskState.PENDING})


def finalize_completed_task(b: Bench) -> Breach:
    b.register(3)
    task_id = b.create()
    for ballot in b.commit_all(task_id):
        ballot.reveal()
    return Breach(lambda: b.client.finalize(task_id), {"taskId": task_id, "state": TaskState.COMPLETED})


def commit_by_unassigned_node(b: Bench) -> Breach:
    b.register(4)
    task_id = b.create()
    outsider = b.unassigned(task_id)
    return Breach(lambda: outsider.commit(task_id, ANY_SEAL), {"taskId": task_id, "caller": outsider.sender})


def reveal_other_result_than_sealed(b: Bench) -> Breach:
    b.register(3)
    task_id = b.create()
    ballot = b.commit_all(task_id)[0]
    node = ballot.node
    return Breach(
        lambda: node.reveal(task_id, OTHER_RESULT, ballot.status, ballot.salt, ballot.result_ref),
        {"taskId": task_id, "node": node.sender},
    )


def reveal_with_another_salt(b: Bench) -> Breach:
    b.register(3)
    task_id = b.create()
    ballot = b.commit_all(task_id)[0]
    return Breach(
        lambda: ballot.node.reveal(task_id, ballot.result_hash, ballot.status, keccak(b"guess"), ballot.result_ref),
        {"taskId": task_id, "node": ballot.node.sender},
    )


def lazy_node_reveals_copied_values(b: Bench) -> Breach:
    # The lazy node copies the honest node's seal from the chain, then its revealed values: the seal binds the
    # committer's address, so the copied values cannot open it.
    b.register(3)
    task_id = b.create()
    honest_node, lazy_node, third_node = b.assigned(task_id)
    honest = b.vote(honest_node, task_id, RESULT)
    honest.commit()
    lazy_node.commit(task_id, b.market.votes(task_id)[0].seal)
    b.vote(third_node, task_id, RESULT).commit()
    honest.reveal()
    revealed = b.market.votes(task_id)[0]
    return Breach(
        lambda: lazy_node.reveal(task_id, revealed.result_hash, revealed.status, honest.salt, revealed.result_ref),
        {"taskId": task_id, "node": lazy_node.sender},
    )


def commit_after_deadline(b: Bench) -> Breach:
    b.register(3)
    task_id = b.create()
    deadline_s = b.market.task(task_id).commit_deadline
    b.advance_past(deadline_s)
    node = b.assigned(task_id)[0]
    return Breach(lambda: node.commit(task_id, ANY_SEAL), {"taskId": task_id, "deadline": deadline_s})


def reveal_before_all_committed(b: Bench) -> Breach:
    b.register(3)
    task_id = b.create()
    ballot = b.vote(b.assigned(task_id)[0], task_id, RESULT)
    ballot.commit()
    return Breach(ballot.reveal, {"taskId": task_id})


def reveal_after_deadline(b: Bench) -> Breach:
    b.register(3)
    task_id = b.create()
    ballot = b.commit_all(task_id)[0]
    deadline_s = b.market.task(task_id).reveal_deadline
    b.advance_past(deadline_s)
    return Breach(ballot.reveal, {"taskId": task_id, "deadline": deadline_s})


def reveal_without_commit(b: Bench) -> Breach:
    b.register(3)
    task_id = b.create()
    first, second, third = b.assigned(task_id)
    b.vote(first, task_id, RESULT).commit()
    b.vote(second, task_id, RESULT).commit()
    b.advance_past(b.market.task(task_id).commit_deadline)
    return Breach(b.vote(third, task_id, RESULT).reveal, {"taskId": task_id, "node": third.sender})


def commit_twice(b: Bench) -> Breach:
    b.register(3)
    task_id = b.create()
    ballot = b.vote(b.assigned(task_id)[0], task_id, RESULT)
    ballot.commit()
    return Breach(ballot.commit, {"taskId": task_id, "node": ballot.node.sender})


def reveal_twice(b: Bench) -> Breach:
    b.register(3)
    task_id = b.create()
    ballot = b.commit_all(task_id)[0]
    ballot.reveal()
    return Breach(ballot.reveal, {"taskId": task_id, "node": ballot.node.sender})


def reveal_unknown_status(b: Bench) -> Breach:
    b.register(3)
    task_id = b.create()
    ballot = b.commit_all(task_id)[0]
    return Breach(lambda: ballot.node.reveal(task_id, RESULT, 7, ballot.salt, ballot.result_ref), {"statusCode": 7})


def finalize_before_reveals(b: Bench) -> Breach:
    b.register(3)
    task_id = b.create()
    b.commit_all(task_id)
    deadline_s = b.market.task(task_id).reveal_deadline
    return Breach(lambda: b.client.finalize(task_id), {"taskId": task_id, "revealDeadline": deadline_s})


def finalize_with_unrevealed_commit(b: Bench) -> Breach:
    b.register(3)
    task_id = b.create()
    first = b.commit_all(task_id)[0]
    first.reveal()
    b.advance_past(b.market.task(task_id).commit_deadline)
    return Breach(lambda: b.client.finalize(task_id), {"taskId": task_id})


def proof_of_active_task(b: Bench) -> Breach:
    b.register(3)
    task_id = b.create()
    return Breach(lambda: b.market.proof(task_id), {"taskId": task_id})


def commit_to_unknown_task(b: Bench) -> Breach:
    (node,) = b.register(1)
    return Breach(lambda: node.commit(99, ANY_SEAL), {"taskId": 99})


def read_unknown_task(b: Bench) -> Breach:
    return Breach(lambda: b.market.task(0), {"taskId": 0})


def finalize_unknown_task(b: Bench) -> Breach:
    return Breach(lambda: b.client.finalize(1), {"taskId": 1})


def quorum_above_replication(b: Bench) -> Breach:
    return Breach(lambda: b.raw_create_task(3, 4, 3, (10, 10, 5)), {"quorum": 4, "replication": 3})


def quorum_not_a_majority(b: Bench) -> Breach:
    return Breach(lambda: b.raw_create_task(4, 2, 4, (10, 10, 5)), {"quorum": 2, "replication": 4})


def replication_zero(b: Bench) -> Breach:
    return Breach(lambda: b.raw_create_task(0, 0, 1, (10, 10, 5)), {"replication": 0})


def replication_above_maximum(b: Bench) -> Breach:
    return Breach(lambda: b.raw_create_task(17, 9, 17, (10, 10, 5)), {"replication": 17})


def escrow_not_divisible(b: Bench) -> Breach:
    return Breach(lambda: b.raw_create_task(3, 2, 10, (10, 10, 5)), {"valueWei": 10, "replication": 3})


def escrow_zero(b: Bench) -> Breach:
    return Breach(lambda: b.raw_create_task(3, 2, 0, (10, 10, 5)), {"valueWei": 0, "replication": 3})


def time_limit_beyond_commit_window(b: Bench) -> Breach:
    return Breach(lambda: b.raw_create_task(3, 2, 3, (10, 10, 11)), {"commitWindowS": 10, "timeLimitS": 11})


def reveal_window_zero(b: Bench) -> Breach:
    return Breach(lambda: b.raw_create_task(3, 2, 3, (10, 0, 5)), {"revealWindowS": 0})


def withdraw_more_than_owed(b: Bench) -> Breach:
    b.register(3)
    task_id = b.create()
    for ballot in b.commit_all(task_id):
        ballot.reveal()
    node = b.assigned(task_id)[0]
    owed_wei = b.market.withdrawable(str(node.sender))
    return Breach(lambda: node.withdraw(owed_wei + 1), {"requested": owed_wei + 1, "available": owed_wei})


def withdraw_with_nothing_owed(b: Bench) -> Breach:
    return Breach(lambda: b.client.withdraw(1), {"requested": 1, "available": 0})


def exit_without_request(b: Bench) -> Breach:
    (node,) = b.register(1)
    return Breach(node.exit, {"node": node.sender})


def exit_during_cooldown(b: Bench) -> Breach:
    (node,) = b.register(1)
    node.request_exit()
    available_s = b.market.node(str(node.sender)).exit_requested_at + b.market.exit_cooldown_s
    return Breach(node.exit, {"node": node.sender, "availableAt": available_s})


def exit_while_busy(b: Bench) -> Breach:
    b.register(3)
    task_id = b.create()
    node = b.assigned(task_id)[0]
    node.request_exit()
    b.advance_time(b.market.exit_cooldown_s + 1)
    return Breach(node.exit, {"node": node.sender, "activeTasks": 1})


def request_exit_twice(b: Bench) -> Breach:
    (node,) = b.register(1)
    node.request_exit()
    return Breach(node.request_exit, {"node": node.sender})


def add_stake_unregistered(b: Bench) -> Breach:
    return Breach(lambda: b.client.add_stake(1), {"node": b.client.sender})


def stake_below_minimum(b: Bench) -> Breach:
    minimum_wei = b.market.min_stake_wei
    return Breach(lambda: b.client.register(1, 0, minimum_wei - 1), {"stakeWei": minimum_wei - 1})


def register_twice(b: Bench) -> Breach:
    (node,) = b.register(1)
    return Breach(lambda: node.register(1, 0, b.market.min_stake_wei), {"node": node.sender})


def capacity_zero(b: Bench) -> Breach:
    return Breach(lambda: b.client.register(0, 0, b.market.min_stake_wei), {"capacity": 0})


def capacity_above_maximum(b: Bench) -> Breach:
    return Breach(lambda: b.client.register(2**16, 0, b.market.min_stake_wei), {"capacity": 2**16})


def price_above_maximum(b: Bench) -> Breach:
    return Breach(lambda: b.client.register(1, 2**96, b.market.min_stake_wei), {"priceWei": 2**96})


CASES = [
    pytest.param(commit_to_queued_task, "WrongState", id="wrong-state-commit-to-queued-task"),
    pytest.param(finalize_completed_task, "WrongState", id="wrong-state-finalize-completed-task"),
    pytest.param(commit_by_unassigned_node, "NotAssigned", id="not-assigned"),
    pytest.param(reveal_other_result_than_sealed, "BadSeal", id="bad-seal-other-result"),
    pytest.param(reveal_with_another_salt, "BadSeal", id="bad-seal-other-salt"),
    pytest.param(lazy_node_reveals_copied_values, "BadSeal", id="bad-seal-lazy-node-copies"),
    pytest.param(commit_after_deadline, "CommitClosed", id="commit-after-deadline"),
    pytest.param(reveal_before_all_committed, "RevealNotOpen", id="reveal-before-open"),
    pytest.param(reveal_after_deadline, "RevealClosed", id="reveal-after-deadline"),
    pytest.param(reveal_without_commit, "NotCommitted", id="reveal-without-commit"),
    pytest.param(commit_twice, "AlreadyCommitted", id="double-commit"),
    pytest.param(reveal_twice, "AlreadyRevealed", id="double-reveal"),
    pytest.param(reveal_unknown_status, "InvalidStatus", id="invalid-status"),
    pytest.param(finalize_before_reveals, "FinalizeTooEarly", id="finalize-too-early"),
    pytest.param(finalize_with_unrevealed_commit, "FinalizeTooEarly", id="finalize-commit-unrevealed"),
    pytest.param(proof_of_active_task, "NotFinalized", id="proof-not-finalized"),
    pytest.param(commit_to_unknown_task, "UnknownTask", id="unknown-task-commit"),
    pytest.param(read_unknown_task, "UnknownTask", id="unknown-task-view"),
    pytest.param(finalize_unknown_task, "UnknownTask", id="unknown-task-finalize"),
    pytest.param(quorum_above_replication, "InvalidQuorum", id="quorum-above-replication"),
    pytest.param(quorum_not_a_majority, "InvalidQuorum", id="quorum-not-majority"),
    pytest.param(replication_zero, "InvalidReplication", id="replication-zero"),
    pytest.param(replication_above_maximum, "InvalidReplication", id="replication-above-max"),
    pytest.param(escrow_not_divisible, "InvalidEscrow", id="escrow-not-divisible"),
    pytest.param(escrow_zero, "InvalidEscrow", id="escrow-zero"),
    pytest.param(time_limit_beyond_commit_window, "InvalidWindow", id="time-limit-beyond-window"),
    pytest.param(reveal_window_zero, "InvalidWindow", id="reveal-window-zero"),
    pytest.param(withdraw_more_than_owed, "InsufficientBalance", id="withdraw-more-than-owed"),
    pytest.param(withdraw_with_nothing_owed, "InsufficientBalance", id="withdraw-nothing-owed"),
    pytest.param(exit_without_request, "ExitNotRequested", id="exit-without-request"),
    pytest.param(exit_during_cooldown, "CooldownNotOver", id="exit-during-cooldown"),
    pytest.param(exit_while_busy, "NodeBusy", id="exit-while-busy"),
    pytest.param(request_exit_twice, "ExitAlreadyRequested", id="request-exit-twice"),
    pytest.param(add_stake_unregistered, "NotRegistered", id="add-stake-unregistered"),
    pytest.param(stake_below_minimum, "StakeBelowMinimum", id="stake-below-minimum"),
    pytest.param(register_twice, "AlreadyRegistered", id="double-register"),
    pytest.param(capacity_zero, "InvalidCapacity", id="capacity-zero"),
    pytest.param(capacity_above_maximum, "InvalidCapacity", id="capacity-above-max"),
    pytest.param(price_above_maximum, "InvalidPrice", id="price-above-max"),
]


@pytest.mark.parametrize(("arrange", "error_name"), CASES)
def test_breaking_a_rule_raises_the_contract_error_named_for_it(
    bench: Bench, arrange: Callable[[Bench], Breach], error_name: str
) -> None:
    """The breaking call raises the ContractError subclass named like the Solidity error, with the offending values,
    and moves no ether."""
    breach = arrange(bench)
    liabilities_before_wei = bench.market.liabilities_wei()
    with pytest.raises(CONTRACT_ERRORS.get(error_name, ContractError)) as caught:
        breach.act()
    error = caught.value
    assert type(error).__name__ == error.error_name == error_name
    assert {name: error.error_args.get(name) for name in breach.args} == dict(breach.args)
    assert bench.market.liabilities_wei() == liabilities_before_wei == bench.market.balance_wei()


def test_lazy_node_that_copies_a_seal_is_slashed_and_the_honest_majority_wins(bench: Bench) -> None:
    """A node that committed a copied seal cannot reveal; at finalize it is slashed for not revealing."""
    breach = lazy_node_reveals_copied_values(bench)
    with pytest.raises(CONTRACT_ERRORS["BadSeal"]):
        breach.act()
    task_id = bench.market.task_count()
    honest_node, lazy_node, third_node = bench.assigned(task_id)
    bench.vote(third_node, task_id, RESULT).reveal()
    stake_before_wei = bench.market.node(str(lazy_node.sender)).stake_wei
    bench.advance_past(bench.market.task(task_id).reveal_deadline)
    receipt = bench.client.finalize(task_id)
    (slashed,) = receipt.named("Slashed")
    assert slashed.args["node"] == lazy_node.sender
    assert slashed.args["reason"] == SlashReason.NO_REVEAL  # it committed but never opened its seal
    assert bench.market.node(str(lazy_node.sender)).stake_wei == stake_before_wei - bench.market.slash_wei
    assert bench.market.proof(task_id).agreeing == (honest_node.sender, third_node.sender)
    assert bench.market.proof(task_id).status == ExecStatus.SUCCESS


# --- withdrawals to contracts: a tiny hand-assembled account that forwards calls to the market ----------------

_OPCODES = {
    "STOP": 0x00, "SHL": 0x1B, "ISZERO": 0x15, "CALLVALUE": 0x34, "CALLDATASIZE": 0x36, "CALLDATACOPY": 0x37,
    "CODECOPY": 0x39, "RETURNDATASIZE": 0x3D, "RETURNDATACOPY": 0x3E, "POP": 0x50, "MLOAD": 0x51, "MSTORE": 0x52,
    "SSTORE": 0x55, "JUMPI": 0x57, "GAS": 0x5A, "JUMPDEST": 0x5B, "PUSH0": 0x5F, "DUP1": 0x80, "CALL": 0xF1,
    "RETURN": 0xF3, "REVERT": 0xFD,
}


def _assemble(program: list[Any]) -> bytes:
    """EVM bytecode for mnemonics, ("PUSHn", int | bytes | label) and ("LABEL", name), which becomes a JUMPDEST."""
    offsets: dict[str, int] = {}
    size = 0
    for item in program:
        if isinstance(item, tuple) and item[0] == "LABEL":
            offsets[item[1]] = size
        size += 1 + (int(item[0][4:]) if isinstance(item, tuple) and item[0] != "LABEL" else 0)
    code = bytearray()
    for item in program:
        if isinstance(item, str):
            code.append(_OPCODES[item])
        elif item[0] == "LABEL":
            code.append(_OPCODES["JUMPDEST"])
        else:
            width, operand = int(item[0][4:]), item[1]
            value = offsets[operand] if isinstance(operand, str) else operand
            code += bytes([_OPCODES["PUSH0"] + width])
            code += value.to_bytes(width, "big") if isinstance(value, int) else bytes(value).rjust(width, b"\0")
    return bytes(code)


def _withdrawer_code(market: str, on_receive: str) -> bytes:
    """Creation code of an account that forwards any call with data (and its value) to ``market`` and answers
    with the market's answer. On plain ether it either refuses ("refuse") or calls withdraw(msg.value) again
    and stores the first 4 bytes of that call's answer in slot 0 ("reenter")."""
    market_address = bytes.fromhex(market[2:])
    forward = [
        "CALLDATASIZE", "ISZERO", ("PUSH2", "receive"), "JUMPI",
        "CALLDATASIZE", "PUSH0", "PUSH0", "CALLDATACOPY",
        "PUSH0", "PUSH0", "CALLDATASIZE", "PUSH0", "CALLVALUE", ("PUSH20", market_address), "GAS", "CALL",
        "RETURNDATASIZE", "PUSH0", "PUSH0", "RETURNDATACOPY",
        ("PUSH2", "answered"), "JUMPI",
        "RETURNDATASIZE", "PUSH0", "REVERT",
        ("LABEL", "answered"), "RETURNDATASIZE", "PUSH0", "RETURN",
        ("LABEL", "receive"),
    ]
    receive = {
        "refuse": ["PUSH0", "PUSH0", "REVERT"],
        "reenter": [
            ("PUSH4", keccak(b"withdraw(uint256)")[:4]), ("PUSH1", 224), "SHL", "PUSH0", "MSTORE",
            "CALLVALUE", ("PUSH1", 4), "MSTORE",
            ("PUSH1", 4), "PUSH0", ("PUSH1", 36), "PUSH0", "PUSH0", ("PUSH20", market_address), "GAS", "CALL",
            "POP", "PUSH0", "MLOAD", "PUSH0", "SSTORE", "STOP",
        ],
    }[on_receive]
    runtime = _assemble(forward + receive)
    constructor = _assemble([("PUSH2", len(runtime)), "DUP1", ("PUSH1", 10), "PUSH0", "CODECOPY", "PUSH0", "RETURN"])
    assert len(constructor) == 10
    return constructor + runtime


class ContractWithdrawer:
    """A contract account that holds a node's stake in the market; driven by a funded owner over raw web3."""

    def __init__(self, bench: Bench, owner: LocalAccount, on_receive: str) -> None:
        self._bench = bench
        self._owner = owner
        self._web3 = Web3(Web3.HTTPProvider(bench.rpc_url))
        receipt = self._send(None, _withdrawer_code(bench.market.address, on_receive), 0)
        self.address = Address(receipt["contractAddress"])
        self._abi = list(load_artifact().abi)
        self._market = self._web3.eth.contract(address=bench.market.address, abi=self._abi)

    def _send(self, to: str | None, data: bytes, value_wei: int) -> Mapping[str, Any]:
        transaction = {
            "data": data, "value": value_wei, "gas": 1_000_000, "gasPrice": self._web3.eth.gas_price,
            "nonce": self._web3.eth.get_transaction_count(self._owner.address, "pending"),
            "chainId": self._web3.eth.chain_id,
        }
        if to is not None:
            transaction["to"] = to
        signed = self._owner.sign_transaction(transaction)
        return self._web3.eth.wait_for_transaction_receipt(self._web3.eth.send_raw_transaction(signed.raw_transaction))

    def _calldata(self, function: str, *args: Any) -> bytes:
        return bytes.fromhex(self._market.encode_abi(function, args=list(args))[2:])

    def call_market(self, function: str, *args: Any, value_wei: int = 0) -> int:
        """Have this account call the market's ``function``; returns the mined transaction's status."""
        return int(self._send(self.address, self._calldata(function, *args), value_wei)["status"])

    def simulate_market(self, function: str, *args: Any) -> None:
        """eth_call the market's ``function`` as this account, raising the error the binding would raise."""
        try:
            request = {"from": self._owner.address, "to": self.address, "data": self._calldata(function, *args)}
            self._web3.eth.call(request)
        except TRANSLATED_ERRORS as exc:
            raise translate_error(exc, self._bench.rpc_url, RevertDecoder(self._abi)) from None

    def stake_and_exit(self, stake_wei: int) -> None:
        """Register as a node with ``stake_wei``, exit after the cooldown: the stake becomes withdrawable."""
        assert self.call_market("register", 1, 0, value_wei=stake_wei) == 1
        assert self.call_market("requestExit") == 1
        self._bench.advance_time(self._bench.market.exit_cooldown_s + 1)
        assert self.call_market("exit") == 1

    def recorded_answer(self) -> bytes:
        """The first 4 bytes the re-entered withdraw answered with (slot 0 of this account's storage)."""
        return bytes(self._web3.eth.get_storage_at(self.address, 0))[:4]


def test_withdraw_reentered_from_its_transfer_reverts_reentrant_call_and_pays_once(
    bench: Bench, accounts: Callable[[str, int], LocalAccount]
) -> None:
    """A contract that calls withdraw again while receiving gets ReentrantCall there, and is paid exactly once."""
    withdrawer = ContractWithdrawer(bench, accounts("withdrawer-owner", 0), "reenter")
    stake_wei = 2 * bench.market.min_stake_wei
    withdrawer.stake_and_exit(stake_wei)
    assert bench.market.withdrawable(withdrawer.address) == stake_wei

    assert withdrawer.call_market("withdraw", stake_wei // 2) == 1
    assert withdrawer.recorded_answer() == keccak(b"ReentrantCall()")[:4]
    assert bench.market.withdrawable(withdrawer.address) == stake_wei // 2
    assert bench.market.balance_wei(withdrawer.address) == stake_wei // 2
    assert bench.market.liabilities_wei() == bench.market.balance_wei()


def test_withdraw_to_an_account_that_refuses_ether_raises_transfer_failed_and_keeps_the_balance(
    bench: Bench, accounts: Callable[[str, int], LocalAccount]
) -> None:
    """If the withdrawing account rejects the ether, withdraw reverts TransferFailed and the balance stays owed."""
    withdrawer = ContractWithdrawer(bench, accounts("withdrawer-owner", 1), "refuse")
    stake_wei = 2 * bench.market.min_stake_wei
    withdrawer.stake_and_exit(stake_wei)

    with pytest.raises(CONTRACT_ERRORS["TransferFailed"]) as caught:
        withdrawer.simulate_market("withdraw", stake_wei)
    assert caught.value.error_args == {"account": withdrawer.address, "amountWei": stake_wei}
    assert withdrawer.call_market("withdraw", stake_wei) == 0
    assert bench.market.withdrawable(withdrawer.address) == stake_wei
    assert bench.market.balance_wei(withdrawer.address) == 0
    assert bench.market.liabilities_wei() == bench.market.balance_wei()
