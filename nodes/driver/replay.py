"""The raw chain ceiling of a run: its transactions sent straight to a fresh devnet, as fast as it takes them."""
from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from multiprocessing.connection import Connection
from typing import Any

import requests
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

from cipherquorum.chain import TaskMarket, TxReceipt, derive_account
from cipherquorum.devnet import Devnet
from cipherquorum.exceptions import ChainError, ValidationError
from cipherquorum.fhe import program_id
from cipherquorum.protocol import TaskParams, compute_seal
from cipherquorum.settings.scenario import Scenario
from cipherquorum.types import Address, ExecStatus, Hash32, TaskId, TaskStage

DEVNET_START_TIMEOUT_S = 120
"""Longest wait for the replay's devnet process to come up."""


@dataclass(frozen=True)
class ReplicaVote:
    """How one assigned replica voted in the run: whether it committed and revealed, and which result it
    revealed (replicas with the same ``result_class`` revealed the same hash)."""

    commits: bool
    reveals: bool
    result_class: int = 0


@dataclass(frozen=True)
class ReplayTask:
    """A task to replay: the client that created it and its replicas' votes in assignment order."""

    client: int
    program: str
    votes: tuple[ReplicaVote, ...]


@dataclass(frozen=True)
class ChainCost:
    """What the replay sent and how long the devnet took to take it.

    ``chain_s`` runs from the first createTask sent to the last transaction mined.
    """

    tasks: int
    transactions: int
    by_function: dict[str, int]
    gas_used: int
    chain_s: float
    settled: int
    rpc: dict[str, tuple[int, float]] = field(default_factory=dict)


@dataclass
class _Replayed:
    """A replayed task's progress (mutable, private to one replay)."""

    spec: ReplayTask
    task_id: TaskId = field(default=TaskId(0))
    nodes: tuple[Address, ...] = ()
    commit_deadline: int = 0
    reveal_deadline: int = 0
    stage: TaskStage = TaskStage.CREATED


def _serve_devnet(seed: str, addresses: Sequence[str], fund_wei: int, pipe: Connection) -> None:
    """Child process: run a devnet, fund ``addresses``, send back its URL and admin URL; answer "stats" with its
    JSON-RPC work per method, and serve until told to stop."""
    with Devnet(seed=seed) as devnet:
        devnet.fund_many(list(addresses), fund_wei)
        pipe.send((devnet.url, devnet.admin_url))
        while pipe.recv() == "stats":
            pipe.send({method: (stats.calls, stats.busy_s) for method, stats in devnet.rpc_stats().items()})


class _Recorder:
    """Counts the replay's transactions by function and adds up their gas (thread-safe)."""

    def __init__(self) -> None:
        self.by_function: dict[str, int] = {}
        self.gas_used = 0
        self._lock = threading.Lock()

    def sent(self, function: str, receipt: TxReceipt) -> TxReceipt:
        with self._lock:
            self.by_function[function] = self.by_function.get(function, 0) + 1
            self.gas_used += receipt.gas_used
        return receipt


def replay_chain(scenario: Scenario, tasks: Sequence[ReplayTask], *, timeout_s: float = 600) -> ChainCost:
    """Replay ``tasks`` on a fresh devnet built like the run's and return what it cost the chain.

    The replay deploys the TaskMarket and registers the scenario's nodes as a run does (same seed, so the same
    accounts and the same matching), then, timed, sends each task's transactions from the same senders through
    the same TaskMarket binding: the clients create every task, the assigned nodes commit and reveal as they
    voted in the run (the last reveal finalizes), and a client finalizes after the deadline where a replica
    stayed silent. Each sender has its own thread, and the devnet a process of its own, so the devnet is never
    left waiting on one of them. No Ray, storage or FHE is involved.

    Raises ValidationError if a task names a client the scenario does not have or has more votes than the
    replication, ChainError if the devnet cannot be started or refuses a transaction.
    """
    market_cfg = scenario.market
    clients = 1 + max((task.client for task in tasks), default=0)
    for task in tasks:
        if len(task.votes) != market_cfg.replication:
            raise ValidationError(f"a replayed task needs one vote per replica (got {len(task.votes)} votes, "
                                  f"replication={market_cfg.replication})")
    seed = scenario.run.seed
    deployer = derive_account(seed, "deployer", 0)
    node_accounts = [derive_account(seed, "node", i) for i in range(scenario.node_count)]
    client_accounts = [derive_account(seed, "client", i) for i in range(clients)]
    addresses = [a.address for a in (deployer, *node_accounts, *client_accounts)]
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=_serve_devnet, args=(seed, addresses, scenario.chain.fund_wei, child),
                             daemon=True)
    server.start()
    try:
        started_s = time.monotonic()
        while not parent.poll(0.2):
            if not server.is_alive() or time.monotonic() - started_s > DEVNET_START_TIMEOUT_S:
                raise ChainError(f"the replay devnet did not start (process alive: {server.is_alive()}, "
                                 f"waited {time.monotonic() - started_s:.0f} s of {DEVNET_START_TIMEOUT_S} s)")
        url, admin_url = parent.recv()
        market = TaskMarket.deploy(url, deployer, min_stake_wei=scenario.chain.min_stake_wei,
                                   slash_wei=scenario.chain.slash_wei, exit_cooldown_s=scenario.chain.exit_cooldown_s)
        offers = [group for group in scenario.nodes for _ in range(group.count)]
        for account, group in zip(node_accounts, offers):
            market.with_account(account).register(group.capacity, group.price_wei, group.stake_wei)
        parent.send("stats")
        before = parent.recv()
        cost = _Replay(market, admin_url, scenario, node_accounts, client_accounts).run(tasks, timeout_s)
        parent.send("stats")
        after = parent.recv()
        rpc = {method: (calls - before.get(method, (0, 0.0))[0], busy_s - before.get(method, (0, 0.0))[1])
               for method, (calls, busy_s) in after.items() if calls > before.get(method, (0, 0.0))[0]}
        return replace(cost, rpc=dict(sorted(rpc.items(), key=lambda item: -item[1][1])))
    finally:
        parent.send("stop")
        server.join(timeout=10)
        if server.is_alive():
            server.kill()


class _Replay:
    """Sends a replay's transactions stage by stage, one thread per sender."""

    def __init__(self, market: TaskMarket, admin_url: str, scenario: Scenario, nodes: Sequence[LocalAccount],
                 clients: Sequence[LocalAccount]) -> None:
        self._market = market
        self._admin_url = admin_url
        self._scenario = scenario
        self._nodes = {Address(a.address): market.with_account(a) for a in nodes}
        self._clients = [market.with_account(a) for a in clients]
        self._recorder = _Recorder()
        self._by_id: dict[TaskId, _Replayed] = {}
        self._lock = threading.Lock()

    def run(self, tasks: Sequence[ReplayTask], timeout_s: float) -> ChainCost:
        replayed = [_Replayed(task) for task in tasks]
        start_s = time.perf_counter()
        deadline_s = start_s + timeout_s
        self._create(replayed)
        while any(r.stage is not TaskStage.DONE for r in replayed):
            if time.perf_counter() > deadline_s:
                raise ChainError(f"the chain replay did not settle every task within {timeout_s} s")
            progressed = self._commit([r for r in replayed if r.stage is TaskStage.ASSIGNED])
            progressed |= self._reveal([r for r in replayed if r.stage is TaskStage.COMMITTED])
            if not progressed:
                waiting = [r for r in replayed if r.stage in (TaskStage.COMMITTED, TaskStage.REVEALED)]
                self._finalize_after_deadlines(waiting)
        chain_s = time.perf_counter() - start_s
        transactions = sum(self._recorder.by_function.values())
        return ChainCost(tasks=len(replayed), transactions=transactions, by_function=dict(self._recorder.by_function),
                         gas_used=self._recorder.gas_used, chain_s=chain_s, settled=len(replayed))

    # --- stages ------------------------------------------------------------------------------------

    def _create(self, replayed: Sequence[_Replayed]) -> None:
        market = self._scenario.market
        per_client: dict[int, list[_Replayed]] = {}
        for task in replayed:
            per_client.setdefault(task.spec.client, []).append(task)

        def create(client: int) -> None:
            for task in per_client[client]:
                params = TaskParams.for_terms(market, program_id(task.spec.program),
                                              Hash32(keccak(f"replay/{id(task)}".encode())))
                task_id, receipt = self._clients[client].create_task(params)
                self._recorder.sent("createTask", receipt)
                with self._lock:
                    task.task_id = task_id
                    self._by_id[task_id] = task
                self._observe(receipt)

        _in_threads({client: partial(create, client) for client in per_client})

    def _commit(self, matched: Sequence[_Replayed]) -> bool:
        work: dict[Address, list[Callable[[], None]]] = {}
        for task in matched:
            for node, vote in zip(task.nodes, task.spec.votes):
                if vote.commits:
                    seal = compute_seal(task.task_id, _result_hash(vote), ExecStatus.SUCCESS, node, _salt(task, node))
                    work.setdefault(node, []).append(partial(self._commit_one, node, task, seal))
            task.stage = TaskStage.COMMITTED
        self._run_per_sender(work)
        return bool(matched)

    def _commit_one(self, node: Address, task: _Replayed, seal: Hash32) -> None:
        self._sent("commit", self._nodes[node].commit(task.task_id, seal))

    def _reveal(self, committed: Sequence[_Replayed]) -> bool:
        if any(not all(v.commits for v in task.spec.votes) for task in committed):
            self._advance_past(max(task.commit_deadline for task in committed))
        work: dict[Address, list[Callable[[], None]]] = {}
        for task in committed:
            for node, vote in zip(task.nodes, task.spec.votes):
                if vote.commits and vote.reveals:
                    work.setdefault(node, []).append(partial(self._reveal_one, node, task, vote))
            task.stage = TaskStage.DONE if all(v.commits and v.reveals for v in task.spec.votes) else TaskStage.REVEALED
        self._run_per_sender(work)
        return bool(committed)

    def _reveal_one(self, node: Address, task: _Replayed, vote: ReplicaVote) -> None:
        result_hash = _result_hash(vote)
        self._sent("reveal", self._nodes[node].reveal(task.task_id, result_hash, ExecStatus.SUCCESS, _salt(task, node),
                                                      keccak(result_hash)))

    def _finalize_after_deadlines(self, waiting: Sequence[_Replayed]) -> None:
        if not waiting:
            raise ChainError("the chain replay stalled: tasks wait for a match that no finalize will free")
        self._advance_past(max(task.reveal_deadline for task in waiting))
        for task in waiting:
            self._sent("finalize", self._clients[task.spec.client].finalize(task.task_id))
            task.stage = TaskStage.DONE

    # --- plumbing ----------------------------------------------------------------------------------

    def _sent(self, function: str, receipt: TxReceipt) -> None:
        self._recorder.sent(function, receipt)
        self._observe(receipt)

    def _observe(self, receipt: TxReceipt) -> None:
        """Note the assignments a receipt reports (a create, or a finalize that matched queued tasks)."""
        with self._lock:
            for event in receipt.named("TaskMatched"):
                task = self._by_id.get(event.args["taskId"])
                if task is not None:
                    task.nodes = tuple(event.args["nodes"])
                    task.commit_deadline = event.args["commitDeadline"]
                    task.reveal_deadline = event.args["revealDeadline"]
                    task.stage = TaskStage.ASSIGNED

    def _run_per_sender(self, work: dict[Address, list[Callable[[], None]]]) -> None:
        _in_threads({sender: partial(_call_in_turn, calls) for sender, calls in work.items()})

    def _advance_past(self, deadline: int) -> None:
        """Move block time past ``deadline`` with evm_increaseTime through the devnet's admin URL (the replay does
        not wait out windows)."""
        seconds = deadline - self._market.block_timestamp() + 1
        if seconds > 0:
            body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "evm_increaseTime", "params": [seconds]}
            try:
                response = requests.post(self._admin_url, json=body, timeout=30)
                response.raise_for_status()
                reply = response.json()
            except (requests.RequestException, ValueError) as exc:
                raise ChainError(f"evm_increaseTime({seconds}) failed on the replay devnet: {exc}") from None
            if "error" in reply:
                raise ChainError(f"evm_increaseTime({seconds}) failed on the replay devnet: {reply['error']}")


def _call_in_turn(calls: Sequence[Callable[[], None]]) -> None:
    for call in calls:
        call()


def _in_threads(calls: dict[object, Callable[[], object]]) -> None:
    """Run each call in its own thread and wait for all; re-raise the first error."""
    errors: list[BaseException] = []

    def guarded(call: Callable[[], object]) -> None:
        try:
            call()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(call,), daemon=True) for call in calls.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _result_hash(vote: ReplicaVote) -> bytes:
    return keccak(f"replay result {vote.result_class}".encode())


def _salt(task: _Replayed, node: str) -> bytes:
    return keccak(f"replay salt {task.task_id}/{node}".encode())


__all__ = ["ChainCost", "ReplayTask", "ReplicaVote", "replay_chain"]
