"""A task's life on the real TaskMarket through the binding: matching, commit/reveal, settlement and exit."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from web3 import Web3

from cipherquorum.chain import ChainEvent, TaskMarket, load_artifact
from cipherquorum.chain.connection import Connection
from cipherquorum.chain.errors import (
    CommitClosed,
    CooldownNotOver,
    FinalizeTooEarly,
    NodeBusy,
    NotAssigned,
    NotFinalized,
    RevealNotOpen,
    UnknownTask,
)
from cipherquorum.exceptions import ContractError, ValidationError
from cipherquorum.protocol import MAX_REPLICATION, MAX_WINDOW_S, TaskParams
from cipherquorum.types import Address, ExecStatus, SlashReason, TaskState

RegisterNodes = Callable[..., dict[Address, TaskMarket]]
MakeParams = Callable[..., TaskParams]
Vote = Callable[..., Any]
Advance = Callable[[int], int]

RESULT = keccak(b"the agreed result")
OTHER = keccak(b"a different result")


def by_node(events: tuple[ChainEvent, ...] | list[ChainEvent], name: str) -> dict[Address, ChainEvent]:
    """Events called ``name``, keyed by their node argument."""
    return {event.args["node"]: event for event in events if event.name == name}


def test_full_lifecycle_pays_the_nodes_and_lets_them_exit_and_withdraw(
    terms: Any, market: TaskMarket, client: TaskMarket, register_nodes: RegisterNodes, make_params: MakeParams,
    vote: Vote, advance_time: Advance,
) -> None:
    """register -> create -> match -> commit -> reveal -> auto-finalize -> withdraw; exit after the cooldown."""
    nodes = register_nodes(3)
    task_id, created = client.create_task(make_params())
    assert [event.name for event in created.events] == ["TaskCreated"] + ["NodeAssigned"] * 3 + ["TaskMatched"]
    assigned = market.assignment(task_id)
    assert set(assigned) == set(nodes)
    assert created.named("TaskMatched")[0].args["nodes"] == assigned
    task = market.task(task_id)
    assert task.state is TaskState.ACTIVE and task.client == client.sender
    assert task.commit_deadline == task.matched_at + terms.commit_window_s
    assert task.reveal_deadline == task.commit_deadline + terms.reveal_window_s

    ballots = [vote(nodes[address], task_id, RESULT) for address in assigned]
    commits = [ballot.commit() for ballot in ballots]
    assert commits[-1].named("AllCommitted")
    assert all(vote_.committed and not vote_.revealed for vote_ in market.votes(task_id))
    ballots[0].reveal()
    ballots[1].reveal()
    last = ballots[2].reveal()
    assert {event.name for event in last.events} == {"Revealed", "Rewarded", "TaskCompleted"}
    assert not last.named("Slashed")
    assert market.task(task_id).state is TaskState.COMPLETED

    worker = nodes[assigned[0]]
    assert market.withdrawable(worker.sender) == terms.reward_wei
    balance_before = market.balance_wei(worker.sender)
    withdrawn = worker.withdraw(terms.reward_wei)
    assert withdrawn.named("Withdrawn")[0].args == {"account": worker.sender, "amountWei": terms.reward_wei}
    assert market.withdrawable(worker.sender) == 0
    assert market.balance_wei(worker.sender) > balance_before

    stake_wei = market.node(worker.sender).stake_wei
    worker.request_exit()
    with pytest.raises(CooldownNotOver) as refused:
        worker.exit()
    assert refused.value.error_args["node"] == worker.sender
    advance_time(terms.exit_cooldown_s + 1)
    exited = worker.exit()
    assert exited.named("NodeExited")[0].args["stakeWei"] == stake_wei
    assert not market.node(worker.sender).registered
    worker.withdraw(stake_wei)
    assert market.balance_wei() == market.liabilities_wei() == market.totals().liabilities_wei


def test_a_dissenting_node_is_slashed_and_its_stake_shared_by_the_winners(
    terms: Any, market: TaskMarket, client: TaskMarket, register_nodes: RegisterNodes, make_params: MakeParams,
    vote: Vote,
) -> None:
    """With 2 of 3 agreeing, the dissenter loses slashWei (DISSENT), winners get reward + half the slash."""
    nodes = register_nodes(3)
    task_id, _ = client.create_task(make_params())
    honest_a, honest_b, dissenter = market.assignment(task_id)
    ballots = [vote(nodes[honest_a], task_id, RESULT), vote(nodes[honest_b], task_id, RESULT),
               vote(nodes[dissenter], task_id, OTHER)]
    for ballot in ballots:
        ballot.commit()
    receipts = [ballot.reveal() for ballot in ballots]
    settled = receipts[-1].events
    slashed = by_node(settled, "Slashed")
    assert set(slashed) == {dissenter}
    assert slashed[dissenter].args["reason"] is SlashReason.DISSENT
    assert slashed[dissenter].args["amountWei"] == terms.slash_wei
    rewarded = by_node(settled, "Rewarded")
    assert set(rewarded) == {honest_a, honest_b}
    assert all(event.args["amountWei"] == terms.reward_wei + terms.slash_wei // 2 for event in rewarded.values())
    refund = [event for event in settled if event.name == "Refunded"]
    assert refund and refund[0].args["amountWei"] == terms.reward_wei
    assert market.node(dissenter).stake_wei == terms.node_stake_wei - terms.slash_wei


def test_no_commit_and_no_reveal_nodes_are_slashed_after_the_deadlines(
    terms: Any, market: TaskMarket, client: TaskMarket, register_nodes: RegisterNodes, make_params: MakeParams,
    vote: Vote, advance_time: Advance,
) -> None:
    """A node that never commits is slashed NO_COMMIT, one that commits but never reveals NO_REVEAL."""
    nodes = register_nodes(5)
    task_id, _ = client.create_task(make_params(replication=5, quorum=3))
    assigned = market.assignment(task_id)
    ballots = [vote(nodes[address], task_id, RESULT) for address in assigned]
    no_reveal, silent = assigned[3], assigned[4]
    for ballot in ballots[:4]:
        ballot.commit()
    with pytest.raises(RevealNotOpen):
        ballots[0].reveal()
    advance_time(terms.commit_window_s + 1)
    for ballot in ballots[:3]:
        ballot.reveal()
    with pytest.raises(FinalizeTooEarly) as early:
        client.finalize(task_id)
    assert early.value.error_args == {"taskId": task_id, "revealDeadline": market.task(task_id).reveal_deadline}
    advance_time(terms.reveal_window_s + 1)
    settled = client.finalize(task_id).events
    slashed = by_node(settled, "Slashed")
    assert {node: event.args["reason"] for node, event in slashed.items()} == {
        silent: SlashReason.NO_COMMIT, no_reveal: SlashReason.NO_REVEAL,
    }
    assert set(by_node(settled, "Rewarded")) == set(assigned[:3])
    assert market.task(task_id).state is TaskState.COMPLETED


def test_without_consensus_the_client_is_refunded_and_only_no_shows_are_slashed(
    terms: Any, market: TaskMarket, client: TaskMarket, register_nodes: RegisterNodes, make_params: MakeParams,
    vote: Vote, advance_time: Advance,
) -> None:
    """Split answers and one silent node: NO_CONSENSUS, escrow + slash refunded, dissenters keep their stake."""
    nodes = register_nodes(4)
    task_id, _ = client.create_task(make_params(replication=4, quorum=3))
    assigned = market.assignment(task_id)
    answers = [RESULT, RESULT, OTHER]
    ballots = [vote(nodes[address], task_id, answer) for address, answer in zip(assigned, answers)]
    for ballot in ballots:
        ballot.commit()
    advance_time(terms.commit_window_s + 1)
    for ballot in ballots:
        ballot.reveal()
    settled = client.finalize(task_id).events
    failed = [event for event in settled if event.name == "TaskFailed"]
    assert failed and failed[0].args["refundWei"] == 4 * terms.reward_wei + terms.slash_wei
    assert {node: event.args["reason"] for node, event in by_node(settled, "Slashed").items()} == {
        assigned[3]: SlashReason.NO_COMMIT,
    }
    assert not by_node(settled, "Rewarded")
    assert market.task(task_id).state is TaskState.NO_CONSENSUS
    assert market.withdrawable(client.sender) == 4 * terms.reward_wei + terms.slash_wei
    with pytest.raises(NotFinalized):
        market.proof(task_id)


def test_a_queued_task_is_matched_when_capacity_frees(
    market: TaskMarket, client: TaskMarket, register_nodes: RegisterNodes, make_params: MakeParams, vote: Vote
) -> None:
    """With every slot taken a new task is PENDING; finishing the first task matches it in the same tx."""
    nodes = register_nodes(3, capacity=1)
    first, _ = client.create_task(make_params())
    second, queued = client.create_task(make_params())
    assert [event.name for event in queued.events] == ["TaskCreated", "TaskQueued"]
    assert market.task(second).state is TaskState.PENDING
    assert market.assignment(second) == ()
    assert market.pending_count() == 1
    assert not market.match_pending(5).events
    ballots = [vote(nodes[address], first, RESULT) for address in market.assignment(first)]
    for ballot in ballots:
        ballot.commit()
    for ballot in ballots[:-1]:
        ballot.reveal()
    last = ballots[-1].reveal()
    matched = last.named("TaskMatched")
    assert matched and matched[0].args["taskId"] == second
    assert market.task(second).state is TaskState.ACTIVE
    assert market.pending_count() == 0


def test_the_proof_view_names_program_manifest_result_and_the_agreeing_nodes(
    market: TaskMarket, client: TaskMarket, register_nodes: RegisterNodes, make_params: MakeParams, vote: Vote
) -> None:
    """getProof returns what ran, the agreed (hash, status), the first winner's result ref and the winners."""
    nodes = register_nodes(3)
    params = make_params(program_id=keccak(b"mean@2"), manifest_ref=keccak(b"manifest-7"))
    task_id, _ = client.create_task(params)
    assigned = market.assignment(task_id)
    ballots = [vote(nodes[assigned[0]], task_id, OTHER, ExecStatus.SUCCESS),
               vote(nodes[assigned[1]], task_id, RESULT, ExecStatus.INPUT_INVALID),
               vote(nodes[assigned[2]], task_id, RESULT, ExecStatus.INPUT_INVALID)]
    for ballot in ballots:
        ballot.commit()
    last = [ballot.reveal() for ballot in ballots][-1]
    proof = market.proof(task_id)
    assert (proof.task_id, proof.program_id, proof.manifest_ref) == (task_id, params.program_id, params.manifest_ref)
    assert (proof.result_hash, proof.status, proof.result_ref) == (RESULT, ExecStatus.INPUT_INVALID,
                                                                   ballots[1].result_ref)
    assert proof.agreeing == (assigned[1], assigned[2])
    assert proof.finalized_block == last.block_number
    completed = market.events(last.block_number, names=["TaskCompleted"], task_id=task_id)
    assert [event.args["winners"] for event in completed] == [proof.agreeing]


def test_events_filter_by_name_and_task_and_come_in_chain_order(
    market: TaskMarket, client: TaskMarket, register_nodes: RegisterNodes, make_params: MakeParams
) -> None:
    """events() filters by names and task id in one call and orders by (block, log index)."""
    start = market.block_number()
    nodes = register_nodes(3, capacity=2)
    first, _ = client.create_task(make_params())
    second, _ = client.create_task(make_params())
    everything = market.events(start)
    assert [(e.block_number, e.log_index) for e in everything] == sorted((e.block_number, e.log_index)
                                                                         for e in everything)
    assert {e.name for e in market.events(start, names=["NodeRegistered"])} == {"NodeRegistered"}
    assert {e.args["taskId"] for e in market.events(start, task_id=second)} == {second}
    assert all(e.name == "NodeAssigned" for e in market.events(start, names=["NodeAssigned"], task_id=first))
    node = next(iter(nodes))
    assert market.assignments_for(node, start) == [first, second]
    with pytest.raises(ValidationError):
        market.events(start, names=["NoSuchEvent"])


def test_matching_is_weighted_by_stake(
    market: TaskMarket, client: TaskMarket, register_nodes: RegisterNodes, make_params: MakeParams
) -> None:
    """Over many single-node tasks a node with 3x the stake is chosen about 3 times as often (loose bounds)."""
    tasks = 80
    nodes = register_nodes(2, capacity=tasks, stakes_wei=[10**18, 3 * 10**18])
    light, heavy = list(nodes)
    params = make_params(replication=1, quorum=1)
    chosen = Counter(client.create_task(params)[1].named("NodeAssigned")[0].args["node"] for _ in range(tasks))
    assert chosen[light] + chosen[heavy] == tasks
    assert 44 <= chosen[heavy] <= 76  # mean 60, sd 3.9: about 4 sd either way


def test_contract_errors_name_the_error_and_decode_its_arguments(
    market: TaskMarket, client: TaskMarket, register_nodes: RegisterNodes, make_params: MakeParams
) -> None:
    """A revert raises the contract error's own class with its name and arguments in message and fields."""
    register_nodes(3)
    task_id, _ = client.create_task(make_params())
    with pytest.raises(NotAssigned) as outsider:
        client.commit(task_id, keccak(b"seal"))
    assert isinstance(outsider.value, ContractError)
    assert outsider.value.error_name == "NotAssigned"
    assert outsider.value.error_args == {"taskId": task_id, "caller": client.sender}
    assert str(outsider.value).startswith(f"NotAssigned: taskId={task_id}, caller={client.sender} (transaction 0x")
    assert "reverted in block" in str(outsider.value)  # sent unrun (gas from the table), replayed once mined
    with pytest.raises(UnknownTask, match="UnknownTask: taskId=999"):
        market.task(999)


def test_a_busy_node_cannot_exit(
    terms: Any, market: TaskMarket, client: TaskMarket, register_nodes: RegisterNodes, make_params: MakeParams,
    advance_time: Advance,
) -> None:
    """A node holding a task after its cooldown gets NodeBusy with its task count."""
    nodes = register_nodes(1)
    client.create_task(make_params(replication=1, quorum=1))
    node = next(iter(nodes.values()))
    node.request_exit()
    advance_time(terms.exit_cooldown_s + 1)
    with pytest.raises(NodeBusy) as busy:
        node.exit()
    assert busy.value.error_args["activeTasks"] == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"replication": 0, "quorum": 0}, "replication"),
        ({"replication": MAX_REPLICATION + 1, "quorum": MAX_REPLICATION}, "replication"),
        ({"quorum": 4}, "quorum"),
        ({"quorum": 1}, "quorum"),
        ({"replication": 4, "quorum": 2}, "quorum"),
        ({"commit_window_s": 0}, "commit_window_s"),
        ({"reveal_window_s": 0}, "reveal_window_s"),
        ({"reveal_window_s": MAX_WINDOW_S + 1}, "reveal_window_s"),
        ({"time_limit_s": 0}, "time_limit_s"),
        ({"commit_window_s": 50, "time_limit_s": 51}, "time_limit_s"),
        ({"reward_per_node_wei": 0}, "reward_per_node_wei"),
        ({"program_id": b"short"}, "program_id"),
        ({"manifest_ref": "0x" + "00" * 32}, "manifest_ref"),
        ({"replication": 3.0}, "replication"),
    ],
)
def test_invalid_task_params_raise_validation_error_before_sending(
    market: TaskMarket, client: TaskMarket, make_params: MakeParams, overrides: dict, field: str
) -> None:
    """TaskParams that the contract would reject raise ValidationError naming the field; nothing is sent."""
    block_before = market.block_number()
    with pytest.raises(ValidationError, match=f'"{field}"'):
        client.create_task(make_params(**overrides))
    assert market.block_number() == block_before
    assert market.task_count() == 0


def test_local_validation_limits_match_the_contract_constants(market: TaskMarket, rpc_url: str) -> None:
    """The limits TaskParams.validate applies are the contract's MAX_REPLICATION and MAX_WINDOW_S."""
    contract = Web3(Web3.HTTPProvider(rpc_url)).eth.contract(address=market.address, abi=load_artifact().abi)
    assert contract.functions.MAX_REPLICATION().call() == MAX_REPLICATION
    assert contract.functions.MAX_WINDOW_S().call() == MAX_WINDOW_S


def test_a_read_only_binding_refuses_to_send(rpc_url: str, market: TaskMarket,
                                             accounts: Callable[[str, int], LocalAccount]) -> None:
    """A TaskMarket without an account reads views but raises ValidationError on a transaction."""
    reader = TaskMarket(rpc_url, market.address)
    assert reader.sender is None and reader.min_stake_wei == market.min_stake_wei
    with pytest.raises(ValidationError, match="read-only"):
        reader.request_exit()
    assert reader.with_account(accounts("client", 0)).sender == accounts("client", 0).address


def test_valid_params_pass_validation(terms: Any, make_params: MakeParams) -> None:
    """The fixture's default parameters and the boundary cases the contract accepts pass validate()."""
    for params in (make_params(), make_params(replication=1, quorum=1),
                   make_params(replication=MAX_REPLICATION, quorum=MAX_REPLICATION // 2 + 1),
                   make_params(time_limit_s=terms.commit_window_s), make_params(reveal_window_s=MAX_WINDOW_S)):
        assert isinstance(params, TaskParams)
        params.validate()


def test_a_stale_local_nonce_is_fetched_again_and_the_transaction_goes_through(
    terms: Any, rpc_url: str, market: TaskMarket, accounts: Callable[[str, int], LocalAccount],
    register_nodes: RegisterNodes,
) -> None:
    """When another binding (another process) spent from the same account, the next transaction still lands."""
    node_address, first = next(iter(register_nodes(1).items()))
    elsewhere = TaskMarket(rpc_url, market.address, accounts("node", 0))
    elsewhere.add_stake(10**17)
    first.add_stake(10**17)
    assert market.node(node_address).stake_wei == terms.node_stake_wei + 2 * 10**17


def test_a_transaction_that_reverts_when_mined_raises_the_contract_error(
    terms: Any, market: TaskMarket, client: TaskMarket, register_nodes: RegisterNodes, make_params: MakeParams,
    vote: Vote, advance_time: Advance, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When the commit deadline passes between the gas estimate and the mining, the mined revert is replayed
    and raised as CommitClosed naming the transaction."""
    nodes = register_nodes(3)
    task_id, _ = client.create_task(make_params())
    ballot = vote(nodes[market.assignment(task_id)[0]], task_id, RESULT)
    send = Connection._sign_and_send

    def send_after_the_deadline(connection: Connection, *args: Any) -> bytes:
        advance_time(terms.commit_window_s + 1)
        return send(connection, *args)

    monkeypatch.setattr(Connection, "_sign_and_send", send_after_the_deadline)
    with pytest.raises(CommitClosed, match="reverted in block"):
        ballot.commit()
    monkeypatch.undo()
    assert not market.votes(task_id)[0].committed
