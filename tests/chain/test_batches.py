"""Batch calls: createTasks, commitMany and revealMany do what the single calls do, and a bad item is skipped
with its error while the other items take effect."""
from __future__ import annotations

from collections.abc import Callable

import pytest
from eth_hash.auto import keccak

from cipherquorum.chain import TaskMarket
from cipherquorum.chain.errors import BadSeal, BatchEscrowMismatch, InvalidBatch, InvalidQuorum, NotAssigned
from cipherquorum.chain.gas import MAX_BATCH_GAS
from cipherquorum.chain.market import Queued
from cipherquorum.exceptions import ValidationError
from cipherquorum.protocol import MAX_BATCH, TaskParams, check_winners, compute_seal, failed_checks
from cipherquorum.types import Address, ExecStatus, TaskState

RESULT = keccak(b"batch result")


def _seal(task_id: int, node: Address, salt: bytes = b"s" * 32) -> bytes:
    return compute_seal(task_id, RESULT, ExecStatus.SUCCESS, node, salt)


def test_a_batched_lifecycle_settles_every_task_as_single_calls_would(
    market: TaskMarket, client: TaskMarket, register_nodes: Callable[..., dict[Address, TaskMarket]],
    make_params: Callable[..., TaskParams],
) -> None:
    """Three tasks created in one transaction; each node commits and reveals all of its tasks in one transaction
    each; every task completes, with every assigned node rewarded."""
    nodes = register_nodes(3, capacity=4)
    ids, receipt = client.create_tasks([make_params()] * 3)
    assert ids == [1, 2, 3] and len(receipt.named("TaskMatched")) == 3
    for node, binding in nodes.items():
        mine = [t for t in ids if t is not None and node in market.assignment(t)]
        assert not binding.commit_many([(t, _seal(t, node)) for t in mine]).skipped
    for node, binding in nodes.items():
        mine = [t for t in ids if t is not None and node in market.assignment(t)]
        receipt = binding.reveal_many([(t, RESULT, ExecStatus.SUCCESS, b"s" * 32, keccak(RESULT)) for t in mine])
        assert not receipt.skipped
    assert [market.task(t).state for t in ids if t is not None] == [TaskState.COMPLETED] * 3
    assert market.balance_wei() == market.liabilities_wei()


def test_an_outsider_reads_each_salt_of_a_reveal_batch_and_the_winners_check(
    market: TaskMarket, client: TaskMarket, register_nodes: Callable[..., dict[Address, TaskMarket]],
    make_params: Callable[..., TaskParams],
) -> None:
    """A third party finds each node's salt for each task inside revealMany calldata (every item has its own
    salt), so the seals check of a batched proof holds."""
    nodes = register_nodes(3, capacity=4)
    ids, _ = client.create_tasks([make_params()] * 2)
    tasks = [t for t in ids if t is not None]

    def salt(node: Address, task_id: int) -> bytes:
        return keccak(f"salt/{node}/{task_id}".encode())

    for node, binding in nodes.items():
        binding.commit_many([(t, _seal(t, node, salt(node, t))) for t in tasks if node in market.assignment(t)])
    for node, binding in nodes.items():
        binding.reveal_many([(t, RESULT, ExecStatus.SUCCESS, salt(node, t), keccak(RESULT))
                             for t in tasks if node in market.assignment(t)])
    for task_id in tasks:
        reveals = market.reveals(task_id)
        assert {node: bytes(r.salt) for node, r in reveals.items()} == {
            node: salt(node, task_id) for node in market.assignment(task_id)}
        proof = market.proof(task_id)
        assert not failed_checks(check_winners(proof, market.task(task_id).quorum, reveals))


def test_a_bad_commit_or_reveal_is_skipped_with_its_error_and_the_others_take_effect(
    market: TaskMarket, client: TaskMarket, register_nodes: Callable[..., dict[Address, TaskMarket]],
    make_params: Callable[..., TaskParams],
) -> None:
    """A commit for a task the node is not assigned to, and a reveal with the wrong salt, are skipped (the
    receipt names the item and the contract's error); the items beside them are committed and revealed."""
    nodes = register_nodes(4, capacity=2)
    first, _ = client.create_task(make_params())
    second, _ = client.create_task(make_params())
    node = next(n for n in market.assignment(first) if n in market.assignment(second))
    outsider = next(n for n in nodes if n not in market.assignment(first))
    receipt = nodes[outsider].commit_many([(first, _seal(first, outsider)), (second, _seal(second, outsider))])
    if outsider in market.assignment(second):
        assert set(receipt.skipped) == {0}
    else:
        assert set(receipt.skipped) == {0, 1}
    assert isinstance(receipt.skipped[0], NotAssigned) and "item 0" in str(receipt.skipped[0])
    assert not market.votes(first)[market.assignment(first).index(node)].committed
    receipt = nodes[node].commit_many([(first, _seal(first, node)), (second, _seal(second, node))])
    assert not receipt.skipped
    for peer in market.assignment(first):
        if peer != node:
            nodes[peer].commit(first, _seal(first, peer))
    for peer in market.assignment(second):
        if peer not in (node, outsider):
            nodes[peer].commit(second, _seal(second, peer))
    receipt = nodes[node].reveal_many([(first, RESULT, ExecStatus.SUCCESS, b"x" * 32, keccak(RESULT)),
                                       (second, RESULT, ExecStatus.SUCCESS, b"s" * 32, keccak(RESULT))])
    assert set(receipt.skipped) == {0} and isinstance(receipt.skipped[0], BadSeal)
    assert [event.args["taskId"] for event in receipt.named("Revealed")] == [second]
    seat = market.assignment(first).index(node)
    assert not market.votes(first)[seat].revealed
    assert market.votes(second)[market.assignment(second).index(node)].revealed


def test_a_create_batch_skips_a_task_the_contract_refuses_and_credits_its_escrow(
    market: TaskMarket, client: TaskMarket, register_nodes: Callable[..., dict[Address, TaskMarket]],
    make_params: Callable[..., TaskParams],
) -> None:
    """A spec that slipped past the binding's checks (sent here as raw calldata) is skipped with InvalidQuorum:
    the task beside it is created, and the skipped escrow becomes the client's withdrawable balance."""
    register_nodes(3)
    good, bad = make_params(), make_params(quorum=1)
    specs = [(p.program_id, p.manifest_ref, p.replication, p.quorum, p.commit_window_s, p.reveal_window_s,
              p.time_limit_s, p.escrow_wei) for p in (bad, good)]
    receipt = client._transact("createTasks", (specs,), good.escrow_wei + bad.escrow_wei)
    assert set(receipt.skipped) == {0} and isinstance(receipt.skipped[0], InvalidQuorum)
    assert [event.args["taskId"] for event in receipt.named("TaskCreated")] == [1]
    assert market.withdrawable(str(client.sender)) == bad.escrow_wei
    assert market.balance_wei() == market.liabilities_wei()


def test_a_malformed_batch_reverts_whole_with_a_typed_error(
    client: TaskMarket, make_params: Callable[..., TaskParams],
) -> None:
    """Escrows that do not add up to the value sent, and arrays of different lengths, revert the transaction."""
    params = make_params()
    spec = (params.program_id, params.manifest_ref, params.replication, params.quorum, params.commit_window_s,
            params.reveal_window_s, params.time_limit_s, params.escrow_wei)
    with pytest.raises(BatchEscrowMismatch, match="valueWei=1"):
        client._transact("createTasks", ([spec],), 1)
    with pytest.raises(InvalidBatch):
        client._transact("commitMany", ([1, 2], [b"\0" * 32]))


@pytest.mark.parametrize("count", [0, MAX_BATCH + 1])
def test_the_binding_refuses_an_empty_or_oversized_batch_before_sending(
    client: TaskMarket, make_params: Callable[..., TaskParams], count: int,
) -> None:
    """A batch must hold 1 to MAX_BATCH items; the error names the argument and the count."""
    with pytest.raises(ValidationError, match=f'"tasks" must hold 1 to {MAX_BATCH} items \\(got {count}\\)'):
        client.create_tasks([make_params()] * count)
    with pytest.raises(ValidationError, match='"seals" must hold'):
        client.commit_many([(1, b"\0" * 32)] * count)


def test_the_binding_names_the_bad_task_of_a_batch_before_sending(
    client: TaskMarket, make_params: Callable[..., TaskParams],
) -> None:
    """Invalid params in a create batch raise ValidationError naming their index; nothing is sent."""
    before = client.block_number()
    with pytest.raises(ValidationError, match=r"tasks\[1\]: .*quorum"):
        client.create_tasks([make_params(), make_params(quorum=1)])
    assert client.block_number() == before


def test_a_batch_is_split_only_past_the_gas_cap_and_each_chunk_stays_within_it(
    market: TaskMarket, register_nodes: Callable[..., dict[Address, TaskMarket]],
) -> None:
    """A node seated on seven tasks of replication 3 reveals them in one transaction; a longer batch is split
    into chunks whose gas limits all stay within MAX_BATCH_GAS, the largest that fit."""
    node = next(iter(register_nodes(5).values()))
    queued = Queued(0, 3)
    assert len(node.in_transactions("revealMany", list(range(7)), 3, queued=queued)) == 1
    for function in ("createTasks", "commitMany", "revealMany"):
        chunks = node.in_transactions(function, list(range(MAX_BATCH)), 3, queued=queued)
        assert [item for chunk in chunks for item in chunk] == list(range(MAX_BATCH))
        size = len(chunks[0])
        assert node.gas_limit(function, (3,) * size, queued=queued) <= MAX_BATCH_GAS
        if len(chunks) > 1:  # one item more would not fit
            assert node.gas_limit(function, (3,) * (size + 1), queued=queued) > MAX_BATCH_GAS
