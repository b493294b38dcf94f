"""The gas table against eth_estimateGas: every TaskMarket function, over node counts, replications and batches.

Each transaction the binding sends in these tests is first estimated with eth_estimateGas on the same request
(the hook below), so the test sees the limit the table gave beside what the chain says the call needs. The limit
must cover the estimate, and stay within a bounded factor of it (a table far above the costs would ask senders
for balance they do not need and hide a change in the contract's costs).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import pytest
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from web3.types import TxParams

from cipherquorum.chain import TaskMarket
from cipherquorum.chain.artifact import load_artifact
from cipherquorum.chain.connection import Connection
from cipherquorum.chain.market import Queued
from cipherquorum.chain.views import FunctionCodec
from cipherquorum.exceptions import TransactionFailed
from cipherquorum.protocol import TaskParams, compute_seal
from cipherquorum.types import Address, ExecStatus

RESULT = keccak(b"gas table result")
MOST_ABOVE = 2.0
"""Where the table knows every term (no queued task to match), the largest limit of a function may be at most
this many times its largest estimate plus ABOVE_FLOOR (matching is priced for the node count read, plus a slack
of NODE_COUNT_SLACK)."""
ABOVE_FLOOR = 100_000
BOUNDED = frozenset({"createTask", "createAdaptiveTask", "createTasks", "commit", "commitMany", "requestExit", "exit",
                     "withdraw"})
"""The functions whose cost the table's terms fix (the others may match queued tasks of unknown replication)."""


@dataclass(frozen=True)
class Sent:
    """One transaction: the function it called, the table's limit and eth_estimateGas's answer."""

    function: str
    limit: int
    estimate: int


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Sent]]:
    """Every transaction sent during the test, estimated first on the same request."""
    record: list[Sent] = []
    codec = FunctionCodec(load_artifact().abi, load_artifact().bytecode)
    transact = Connection.transact

    def estimated(connection: Connection, account: LocalAccount, to: Address | None, data: bytes, value_wei: int,
                  reverts: Any, gas: int) -> Any:
        request: dict[str, Any] = {"from": account.address, "data": data, "value": value_wei}
        if to is not None:
            request["to"] = to
        estimate = int(connection.web3.eth.estimate_gas(cast(TxParams, request)))
        record.append(Sent(codec.function_of(data) if to is not None else "deploy", gas, estimate))
        return transact(connection, account, to, data, value_wei, reverts, gas)

    monkeypatch.setattr(Connection, "transact", estimated)
    yield record
    assert record, "no transaction was sent"
    for item in record:
        assert item.limit >= item.estimate, f"{item.function}: limit {item.limit} < estimate {item.estimate}"
    for function in BOUNDED & {item.function for item in record}:
        limit, estimate = max((item.limit, item.estimate) for item in record if item.function == function)
        assert limit <= MOST_ABOVE * estimate + ABOVE_FLOOR, f"{function}: limit {limit} far above {estimate}"


def _lifecycle(market: TaskMarket, nodes: dict[Address, TaskMarket], client: TaskMarket, params: TaskParams,
               tasks: int, batched: bool) -> None:
    """Create ``tasks`` tasks (one transaction when batched), then commit and reveal them all, each node sending
    its commits and its reveals in one transaction when batched."""
    if batched:
        ids, _ = client.create_tasks([params] * tasks)
    else:
        ids = [client.create_task(params)[0] for _ in range(tasks)]
    by_node: dict[Address, list[int]] = {}
    for task_id in ids:
        assert task_id is not None
        for node in market.assignment(task_id):
            by_node.setdefault(node, []).append(task_id)
    salt = keccak(b"salt")
    r = params.replication
    for node, task_ids in by_node.items():
        seals = [(task_id, compute_seal(task_id, RESULT, ExecStatus.SUCCESS, node, salt)) for task_id in task_ids]
        if batched:
            nodes[node].commit_many(seals, replications=[r] * len(seals))
        else:
            for task_id, seal in seals:
                nodes[node].commit(task_id, seal, replication=r)
    for node, task_ids in by_node.items():
        reveals = [(task_id, RESULT, ExecStatus.SUCCESS, salt, keccak(RESULT)) for task_id in task_ids]
        if batched:
            receipt = nodes[node].reveal_many(reveals, replications=[r] * len(reveals), queued=Queued(0, r))
            assert not receipt.skipped
        else:
            for item in reveals:
                nodes[node].reveal(*item, replication=r, queued=Queued(0, r))


@pytest.mark.parametrize(("node_count", "replication", "batched"), [
    (3, 1, False), (3, 3, False), (12, 5, True), (20, 16, False), (20, 3, True),
])
def test_the_table_covers_every_call_of_a_task_lifecycle(
    sent: list[Sent], market: TaskMarket, client: TaskMarket, register_nodes: Callable[..., dict[Address, TaskMarket]],
    make_params: Callable[..., TaskParams], node_count: int, replication: int, batched: bool,
) -> None:
    """Tasks matched at once, then commits and reveals (the last finalizing), singly and in batches."""
    nodes = register_nodes(node_count, capacity=8)
    _lifecycle(market, nodes, client, make_params(replication=replication, quorum=replication // 2 + 1),
               tasks=4 if batched else 2, batched=batched)
    assert {item.function for item in sent} >= {"createTasks" if batched else "createTask",
                                                "commitMany" if batched else "commit",
                                                "revealMany" if batched else "reveal"}


def test_the_table_covers_finalizations_and_registrations_that_match_queued_tasks(
    sent: list[Sent], market: TaskMarket, client: TaskMarket, register_nodes: Callable[..., dict[Address, TaskMarket]],
    make_params: Callable[..., TaskParams], accounts: Callable[[str, int], LocalAccount],
) -> None:
    """With every node busy, new tasks queue; the last reveal, a registration and added stake each match up to
    two of them, at the largest replication, and matchPending matches what is left."""
    nodes = register_nodes(16, capacity=1)
    wide = make_params(replication=16, quorum=9)
    running, _ = client.create_task(wide)
    queued = [client.create_task(wide)[0] for _ in range(6)]
    assert all(market.task(task_id).state.name == "PENDING" for task_id in queued)
    salt = keccak(b"salt")
    for node in market.assignment(running):
        nodes[node].commit(running, compute_seal(running, RESULT, ExecStatus.SUCCESS, node, salt), replication=16)
    for node in market.assignment(running):
        nodes[node].reveal(running, RESULT, ExecStatus.SUCCESS, salt, keccak(RESULT), replication=16,
                           queued=Queued(len(queued), 16))
    extra = market.with_account(accounts("node", 100))
    extra.register(1, 0, 2 * 10**18)
    extra.add_stake(10**18)
    market.match_pending(4)
    assert {"reveal", "register", "addStake", "matchPending"} <= {item.function for item in sent}


def test_the_table_covers_finalize_exit_and_withdraw(
    sent: list[Sent], market: TaskMarket, client: TaskMarket, register_nodes: Callable[..., dict[Address, TaskMarket]],
    make_params: Callable[..., TaskParams], advance_time: Callable[[int], int],
) -> None:
    """A task finalized after its reveal deadline (one node silent), then a node's exit and withdrawal."""
    nodes = register_nodes(3)
    task_id, _ = client.create_task(make_params())
    assigned = market.assignment(task_id)
    salt = keccak(b"salt")
    for node in assigned:
        nodes[node].commit(task_id, compute_seal(task_id, RESULT, ExecStatus.SUCCESS, node, salt), replication=3)
    for node in assigned[:2]:
        nodes[node].reveal(task_id, RESULT, ExecStatus.SUCCESS, salt, keccak(RESULT), replication=3)
    advance_time(market.task(task_id).reveal_deadline - market.block_timestamp() + 1)
    client.finalize(task_id, replication=3)
    leaving = nodes[assigned[0]]
    leaving.request_exit()
    advance_time(market.exit_cooldown_s + 1)
    leaving.exit()
    leaving.withdraw(leaving.withdrawable(assigned[0]))
    assert {"finalize", "requestExit", "exit", "withdraw", "deploy"} <= {item.function for item in sent}


def test_a_limit_below_the_cost_is_an_out_of_gas_error_not_a_contract_error(
    market: TaskMarket, register_nodes: Callable[..., dict[Address, TaskMarket]],
    make_params: Callable[..., TaskParams], accounts: Callable[[str, int], LocalAccount],
) -> None:
    """A table that is too low shows up as TransactionFailed saying out of gas, with the limit."""
    from cipherquorum.chain.gas import FixedGas

    register_nodes(3)
    starved = TaskMarket(market.rpc_url, market.address, accounts("client", 0), gas_table=FixedGas(60_000))
    with pytest.raises(TransactionFailed, match=r"out of gas .*60000"):
        starved.create_task(make_params())


@pytest.mark.parametrize(("node_count", "replication", "max_replication"), [(5, 2, 3), (20, 3, 7), (40, 8, 16)])
def test_the_table_covers_adaptive_tasks_and_the_reveals_that_extend_them(
    sent: list[Sent], market: TaskMarket, client: TaskMarket, register_nodes: Callable[..., dict[Address, TaskMarket]],
    make_params: Callable[..., TaskParams], node_count: int, replication: int, max_replication: int,
) -> None:
    """createAdaptiveTask, then every replica reveals a result of its own (unanimous quorum), so the last reveal
    extends the task by quorum - 1 seats (the seated nodes, at capacity 2, still eligible and swapped out)."""
    nodes = register_nodes(node_count, capacity=2)
    params = make_params(replication=replication, quorum=replication)
    task_id, _ = client.create_adaptive_task(params, max_replication)
    salt = keccak(b"salt")
    assigned = market.assignment(task_id)
    answers = {node: keccak(node.encode()) for node in assigned}
    for node in assigned:
        nodes[node].commit(task_id, compute_seal(task_id, answers[node], ExecStatus.SUCCESS, node, salt),
                           replication=replication)
    receipt = None
    for node in assigned:
        receipt = nodes[node].reveal(task_id, answers[node], ExecStatus.SUCCESS, salt, keccak(answers[node]),
                                     replication=replication, queued=Queued(0, replication),
                                     max_replication=max_replication)
    assert receipt is not None and receipt.named("TaskExtended")
    assert market.task(task_id).replication == min(max_replication, 2 * replication - 1)
    assert {"createAdaptiveTask", "reveal"} <= {item.function for item in sent}
    reveals = [item.estimate for item in sent if item.function == "reveal"]
    assert reveals[-1] > 1.5 * reveals[0]  # the extending reveal, against one that neither extends nor settles
