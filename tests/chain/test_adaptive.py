"""Adaptive replication: a task without a quorum is extended with extra replicas up to its maximum, the earlier
reveals counting, and settles with the unused seats refunded; the extension's draws continue the first match's."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_abi import abi
from eth_hash.auto import keccak

from cipherquorum.chain import TaskMarket
from cipherquorum.chain.accounts import derive_account
from cipherquorum.chain.errors import BallotClosed, InvalidMaxReplication
from cipherquorum.chain.gas import MAX_BATCH_GAS
from cipherquorum.chain.market import Queued
from cipherquorum.exceptions import ValidationError
from cipherquorum.protocol import TaskParams
from cipherquorum.study.evm import InProcessMarket
from cipherquorum.types import Address, TaskState

HONEST = keccak(b"adaptive honest result")
OTHER = keccak(b"adaptive other result")
THIRD = keccak(b"adaptive third result")


def _events(receipt: Any, name: str, task_id: int) -> list[Any]:
    return [event for event in receipt.named(name) if event.args["taskId"] == task_id]


def test_a_dissent_at_r_min_extends_and_a_later_agreement_completes(
    market: TaskMarket, client: TaskMarket, register_nodes: Callable[..., dict[Address, TaskMarket]],
    make_params: Callable[..., TaskParams], vote: Callable[..., Any], terms: Any,
) -> None:
    """r_min=3, q=3, r_max=5: two agree and one dissents, so one node is added; it agrees, the task completes
    with three winners, the dissenter is slashed, and the client gets the unused seat back."""
    nodes = register_nodes(6)
    task_id, created = client.create_adaptive_task(make_params(replication=3, quorum=3), 5)
    assert [e.args["maxReplication"] for e in _events(created, "TaskAdaptive", task_id)] == [5]
    first = market.assignment(task_id)
    ballots = [vote(nodes[node], task_id, OTHER if i == 2 else HONEST) for i, node in enumerate(first)]
    for ballot in ballots:
        ballot.commit()
    receipts = [ballot.reveal() for ballot in ballots]
    (extended,) = _events(receipts[-1], "TaskExtended", task_id)
    added = tuple(extended.args["added"])
    assert len(added) == 1 and added[0] not in first
    assert [e.args["node"] for e in _events(receipts[-1], "NodeAssigned", task_id)] == list(added)
    view = market.task(task_id)
    assert view.state is TaskState.ACTIVE and view.replication == 4 and view.reveal_count == 3
    assert market.task_round(task_id).round_start == 3
    assert market.assignment(task_id) == first + added
    with pytest.raises(BallotClosed):
        ballots[2].reveal()  # the earlier round is closed
    late = vote(nodes[added[0]], task_id, HONEST)
    late.commit()
    done = late.reveal()
    (completed,) = _events(done, "TaskCompleted", task_id)
    assert set(completed.args["winners"]) == {first[0], first[1], added[0]}
    assert [e.args["node"] for e in _events(done, "Slashed", task_id)] == [first[2]]
    bonus_wei = terms.slash_wei // 3
    assert _events(done, "Refunded", task_id)[0].args["amountWei"] == (
        2 * terms.reward_wei + terms.slash_wei - 3 * bonus_wei)
    assert market.proof(task_id).agreeing == (first[0], first[1], added[0])
    assert market.balance_wei() == market.liabilities_wei()


def test_r_max_reached_without_a_quorum_ends_with_no_consensus_and_a_full_refund(
    market: TaskMarket, client: TaskMarket, register_nodes: Callable[..., dict[Address, TaskMarket]],
    make_params: Callable[..., TaskParams], vote: Callable[..., Any], terms: Any,
) -> None:
    """r_min=2, q=2, r_max=3 and three different results: one extension, then no consensus, the whole escrow
    (three seats) back to the client and nobody slashed (every replica revealed)."""
    nodes = register_nodes(5)
    task_id, _ = client.create_adaptive_task(make_params(replication=2, quorum=2), 3)
    ballots = [vote(nodes[node], task_id, answer) for node, answer in zip(market.assignment(task_id), [HONEST, OTHER])]
    for ballot in ballots:
        ballot.commit()
    receipt = [ballot.reveal() for ballot in ballots][-1]
    assert market.task(task_id).replication == 3
    (added,) = _events(receipt, "TaskExtended", task_id)[0].args["added"]
    last = vote(nodes[added], task_id, THIRD)
    last.commit()
    final = last.reveal()
    assert not _events(final, "TaskExtended", task_id)
    (failed,) = _events(final, "TaskFailed", task_id)
    assert failed.args["refundWei"] == 3 * terms.reward_wei
    assert not _events(final, "Slashed", task_id)
    assert market.task(task_id).state is TaskState.NO_CONSENSUS
    assert market.balance_wei() == market.liabilities_wei()


def test_unused_seats_are_refunded_when_r_min_agrees(
    market: TaskMarket, client: TaskMarket, register_nodes: Callable[..., dict[Address, TaskMarket]],
    make_params: Callable[..., TaskParams], vote: Callable[..., Any], terms: Any,
) -> None:
    """r_min=3, q=2, r_max=7 with every replica agreeing: no extension; the four unused seats are refunded."""
    nodes = register_nodes(8)
    task_id, _ = client.create_adaptive_task(make_params(replication=3, quorum=2), 7)
    assert market.task_round(task_id).max_replication == 7
    ballots = [vote(nodes[node], task_id, HONEST) for node in market.assignment(task_id)]
    for ballot in ballots:
        ballot.commit()
    receipts = [ballot.reveal() for ballot in ballots]
    assert not _events(receipts[-1], "TaskExtended", task_id)
    assert _events(receipts[-1], "Refunded", task_id)[0].args["amountWei"] == 4 * terms.reward_wei
    assert market.withdrawable(str(client.sender)) == 4 * terms.reward_wei
    assert market.balance_wei() == market.liabilities_wei()


def test_a_missing_vote_extends_and_the_silent_seat_is_closed_and_slashed(
    market: TaskMarket, client: TaskMarket, register_nodes: Callable[..., dict[Address, TaskMarket]],
    make_params: Callable[..., TaskParams], vote: Callable[..., Any], advance_time: Callable[[int], int],
) -> None:
    """r_min=3, q=3, r_max=4 with one node silent: after the commit deadline the two reveals are finalized,
    which extends the task by one; the silent node can no longer commit, the new one agrees, the task
    completes and the silent node is slashed for not committing."""
    nodes = register_nodes(5)
    task_id, _ = client.create_adaptive_task(make_params(replication=3, quorum=3), 4)
    first = market.assignment(task_id)
    ballots = [vote(nodes[node], task_id, HONEST) for node in first]
    for ballot in ballots[:2]:
        ballot.commit()
    advance_time(market.task(task_id).commit_deadline - market.block_timestamp() + 1)
    for ballot in ballots[:2]:
        ballot.reveal()
    extended = client.finalize(task_id, replication=3, max_replication=4)
    (added,) = _events(extended, "TaskExtended", task_id)[0].args["added"]
    assert market.task_round(task_id).closed_uncommitted == 1
    with pytest.raises(BallotClosed):
        ballots[2].commit()
    fresh = vote(nodes[added], task_id, HONEST)
    assert _events(fresh.commit(), "AllCommitted", task_id)  # the closed seat is not waited for
    done = fresh.reveal()
    assert set(_events(done, "TaskCompleted", task_id)[0].args["winners"]) == {first[0], first[1], added}
    assert [(e.args["node"], e.args["reason"]) for e in _events(done, "Slashed", task_id)] == [(first[2], 2)]


def test_without_an_eligible_node_left_the_task_settles_as_it_would_at_fixed_replication(
    market: TaskMarket, client: TaskMarket, register_nodes: Callable[..., dict[Address, TaskMarket]],
    make_params: Callable[..., TaskParams], vote: Callable[..., Any], terms: Any,
) -> None:
    """With only three nodes registered, a dissent at r_min=3, q=3 cannot be extended: no consensus, the whole
    escrow of r_max=5 seats refunded."""
    nodes = register_nodes(3)
    task_id, _ = client.create_adaptive_task(make_params(replication=3, quorum=3), 5)
    ballots = [vote(nodes[node], task_id, OTHER if i == 0 else HONEST)
               for i, node in enumerate(market.assignment(task_id))]
    for ballot in ballots:
        ballot.commit()
    final = [ballot.reveal() for ballot in ballots][-1]
    assert not _events(final, "TaskExtended", task_id)
    assert _events(final, "TaskFailed", task_id)[0].args["refundWei"] == 5 * terms.reward_wei


@pytest.mark.parametrize(("replication", "quorum", "max_replication"), [(3, 2, 2), (3, 2, 17), (2, 2, 1)])
def test_a_bad_max_replication_is_refused(
    client: TaskMarket, make_params: Callable[..., TaskParams], replication: int, quorum: int, max_replication: int,
) -> None:
    """The binding refuses a maximum below the replication or above MAX_REPLICATION before sending."""
    with pytest.raises(ValidationError, match=f"max_replication={max_replication}"):
        client.create_adaptive_task(make_params(replication=replication, quorum=quorum), max_replication)


SEED = "adaptive-draws"
PREVRANDAO = keccak(b"adaptive prevrandao")
STAKES_WEI = [(2 + i % 3) * 10**18 for i in range(8)]


def _in_process_market(capacity: int = 1) -> tuple[InProcessMarket, list[str], str]:
    market = InProcessMarket(derive_account(SEED, "deployer", 0).address, min_stake_wei=10**18,
                             slash_wei=10**17, exit_cooldown_s=60, prevrandao=PREVRANDAO, timestamp_s=1_700_000_000)
    nodes = [derive_account(SEED, "node", i).address for i in range(len(STAKES_WEI))]
    for node, stake in zip(nodes, STAKES_WEI):
        market.transact_function(node, "register", (capacity, 0), stake)
    return market, nodes, derive_account(SEED, "client", 0).address


def _expected_draws(candidates: list[tuple[str, int]], task_id: int, first_draw: int, draws: int) -> list[str]:
    """The contract's stake-weighted draw without replacement, redone in Python."""
    pool = list(candidates)
    total = sum(stake for _, stake in pool)
    chosen = []
    for k in range(draws):
        point = int.from_bytes(keccak(abi.encode(["bytes32", "uint256", "uint256"],
                                                 [PREVRANDAO, task_id, first_draw + k])), "big") % total
        j = 0
        while point >= pool[j][1]:
            point -= pool[j][1]
            j += 1
        chosen.append(pool[j][0])
        total -= pool[j][1]
        pool[j] = pool[len(pool) - 1]
        pool.pop()
    return chosen


def _adaptive_spec(market: InProcessMarket, replication: int, quorum: int, max_replication: int,
                   reward_wei: int = 10**16) -> tuple[bytes, int]:
    spec = (keccak(b"p"), keccak(b"m"), replication, quorum, 600, 600, 60, 0)
    return market.calldata("createAdaptiveTask", (spec, max_replication)), max_replication * reward_wei


@pytest.mark.parametrize("capacity", [1, 2])
def test_extension_draws_continue_the_first_match_and_are_reproducible(capacity: int) -> None:
    """On two markets with the same prevrandao and registry the first match and the extension pick the same
    nodes, and both are the contract's draw redone in Python: draw indexes 0..r_min-1, then r_min onwards among
    the eligible nodes not yet on the task: at capacity 1 the seated ones are busy and not eligible; at capacity 2
    they are, and the contract swaps each out of the candidates as it finds it."""
    picks = []
    for _ in range(2):
        market, nodes, client = _in_process_market(capacity)
        calldata, escrow = _adaptive_spec(market, 3, 3, 5)
        created = market.transact(client, calldata, escrow)
        task_id = int.from_bytes(created.output[:32], "big")
        (first,) = market.view("getAssignment", (task_id,))
        for i, node in enumerate(first):
            result = HONEST if i else OTHER
            salt = keccak(node.encode())
            seal = keccak(abi.encode(["uint256", "bytes32", "uint8", "address", "bytes32"],
                                     [task_id, result, 0, node, salt]))
            market.transact_function(node, "commit", (task_id, seal))
        for i, node in enumerate(first):
            market.transact_function(node, "reveal", (task_id, HONEST if i else OTHER, 0, keccak(node.encode()),
                                                      bytes(32)))
        (assigned,) = market.view("getAssignment", (task_id,))
        picks.append(tuple(a.lower() for a in assigned))
        candidates = [(node.lower(), stake) for node, stake in zip(nodes, STAKES_WEI)]
        assert [a.lower() for a in first] == _expected_draws(candidates, task_id, 0, 3)
        if capacity == 1:
            pool = [candidate for candidate in candidates if candidate[0] not in picks[-1][:3]]
        else:
            pool, j = list(candidates), 0
            while j < len(pool):  # the contract's _withoutAssigned
                if pool[j][0] in picks[-1][:3]:
                    pool[j] = pool[-1]
                    pool.pop()
                else:
                    j += 1
        assert list(picks[-1][3:]) == _expected_draws(pool, task_id, 3, 1)
    assert picks[0] == picks[1] and len(picks[0]) == 4


@pytest.mark.parametrize(("replication", "max_replication"), [(3, 2), (3, 17), (1, 0)])
def test_the_contract_refuses_a_bad_max_replication_with_its_typed_error(replication: int,
                                                                          max_replication: int) -> None:
    """createAdaptiveTask reverts InvalidMaxReplication(maxReplication, replication) outside [r, 16]."""
    market, _, client = _in_process_market()
    calldata, _ = _adaptive_spec(market, replication, replication, max_replication)
    with pytest.raises(InvalidMaxReplication) as caught:
        market.transact(client, calldata, 10**16 * max(max_replication, 1))
    assert caught.value.error_args == {"maxReplication": max_replication, "replication": replication}


def test_batches_of_reveals_on_adaptive_tasks_are_split_for_the_extensions_they_may_pay_for(
    market: TaskMarket, register_nodes: Callable[..., dict[Address, TaskMarket]],
) -> None:
    """A revealMany chunk of adaptive tasks is priced for an extension to max_replication on each item, so it
    holds fewer items than one of fixed tasks, and its gas limit stays within MAX_BATCH_GAS."""
    node = next(iter(register_nodes(3).values()))
    items, queued = list(range(64)), Queued(0, 3)
    fixed = node.in_transactions("revealMany", items, 3, queued=queued)
    adaptive = node.in_transactions("revealMany", items, 3, queued=queued, max_replication=16)
    assert 1 <= len(adaptive[0]) < len(fixed[0])
    assert node.gas_limit("revealMany", (3,) * len(adaptive[0]), queued=queued,
                          max_replications=(16,) * len(adaptive[0])) <= MAX_BATCH_GAS
