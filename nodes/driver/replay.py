"""The raw chain ceiling of a run: its transactions sent straight to a fresh chain of its kind, as fast as it takes
them."""
from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from multiprocessing.connection import Connection
from typing import Any

import requests
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

from cipherquorum.chain import Queued, TaskMarket, TxReceipt, derive_account
from cipherquorum.chain.anvil import Anvil, find_anvil
from cipherquorum.devnet import Devnet, RpcMethodStats
from cipherquorum.devnet.affinity import serving_cpu
from cipherquorum.exceptions import ChainError, ValidationError
from cipherquorum.fhe import program_id
from cipherquorum.nodes.driver.metrics import rpc_delta
from cipherquorum.protocol import TaskParams, compute_seal
from cipherquorum.settings.scenario import ChainKind, Scenario
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
    rpc: dict[str, RpcMethodStats] = field(default_factory=dict)


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
    """Child process: run a devnet (its serving thread on a CPU of its own, as the run's), fund ``addresses``, send
    back its URL and admin URL; answer "stats" with its JSON-RPC work per method, and serve until told to stop."""
    with Devnet(seed=seed, cpu=serving_cpu()) as devnet:
        devnet.fund_many(list(addresses), fund_wei)
        pipe.send((devnet.url, devnet.admin_url))
        while pipe.recv() == "stats":
            pipe.send(devnet.rpc_stats())


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
    """Replay ``tasks`` on a fresh chain of the run's kind (devnet or anvil) and return what it cost the chain.

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
    with _fresh_chain(scenario, addresses) as chain:
        market = TaskMarket.deploy(chain.url, deployer, min_stake_wei=scenario.chain.min_stake_wei,
                                   slash_wei=scenario.chain.slash_wei, exit_cooldown_s=scenario.chain.exit_cooldown_s)
        offers = [group for group in scenario.nodes for _ in range(group.count)]
        for account, group in zip(node_accounts, offers):
            market.with_account(account).register(group.capacity, group.price_wei, group.stake_wei)
        before = chain.stats()
        cost = _Replay(market, chain.admin_url, scenario, node_accounts, client_accounts).run(tasks, timeout_s)
        after = chain.stats()
    return replace(cost, rpc=rpc_delta(before, after))


class _FreshChain:
    """A chain of the run's kind for the replay alone: its URL, admin URL and per-method JSON-RPC stats."""

    url: str
    admin_url: str

    def stats(self) -> dict[str, RpcMethodStats]:
        return {}


class _ChildDevnet(_FreshChain):
    """A devnet in a child process of its own (the replay's senders must never wait on its work)."""

    def __init__(self, seed: str, addresses: Sequence[str], fund_wei: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._server = context.Process(target=_serve_devnet, args=(seed, addresses, fund_wei, child), daemon=True)
        self._server.start()
        started_s = time.monotonic()
        while not self._pipe.poll(0.2):
            if not self._server.is_alive() or time.monotonic() - started_s > DEVNET_START_TIMEOUT_S:
                alive = self._server.is_alive()
                self.close()
                raise ChainError(f"the replay devnet did not start (process alive: {alive}, "
                                 f"waited {time.monotonic() - started_s:.0f} s of {DEVNET_START_TIMEOUT_S} s)")
        self.url, self.admin_url = self._pipe.recv()

    def stats(self) -> dict[str, RpcMethodStats]:
        self._pipe.send("stats")
        stats: dict[str, RpcMethodStats] = self._pipe.recv()
        return stats

    def close(self) -> None:
        if self._server.is_alive():
            try:
                self._pipe.send("stop")
            except OSError:
                pass
            self._server.join(timeout=10)
        if self._server.is_alive():
            self._server.kill()


class _FreshAnvil(_FreshChain):
    """A fresh anvil, as the run's managed chain is (it serves evm_increaseTime to anyone)."""

    def __init__(self, scenario: Scenario, addresses: Sequence[str]) -> None:
        self._anvil = Anvil(find_anvil(scenario.chain.anvil_path))
        self.url = self.admin_url = self._anvil.start()
        try:
            self._anvil.fund_many(addresses, scenario.chain.fund_wei)
        except BaseException:
            self._anvil.stop()
            raise

    def close(self) -> None:
        self._anvil.stop()


@contextmanager
def _fresh_chain(scenario: Scenario, addresses: Sequence[str]) -> Iterator[_ChildDevnet | _FreshAnvil]:
    """A fresh chain of the run's kind with ``addresses`` funded; ChainError for an external chain (a replay
    there would spend its funder's ether and share it with others, so it would measure neither)."""
    kind = scenario.chain.kind
    if kind is ChainKind.EXTERNAL:
        raise ChainError("a chain replay needs a chain of its own: the run's chain is external (chain.rpc_url)")
    chain = (_FreshAnvil(scenario, addresses) if kind is ChainKind.ANVIL
             else _ChildDevnet(scenario.run.seed, addresses, scenario.chain.fund_wei))
    try:
        yield chain
    finally:
        chain.close()


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
            for chunk in self._clients[client].in_transactions("createTasks", per_client[client],
                                                               market.replication):
                params = [TaskParams.for_terms(market, program_id(task.spec.program),
                                               Hash32(keccak(f"replay/{id(task)}".encode()))) for task in chunk]
                if len(chunk) == 1:
                    task_id, receipt = self._clients[client].create_task(params[0])
                    ids: list[TaskId | None] = [task_id]
                else:
                    ids, receipt = self._clients[client].create_tasks(params)
                self._recorder.sent("createTask" if len(chunk) == 1 else "createTasks", receipt)
                with self._lock:
                    for task, created in zip(chunk, ids):
                        if created is None:
                            raise ChainError(f"the replay's createTasks skipped a task: {receipt.skipped}")
                        task.task_id = created
                        self._by_id[created] = task
                self._observe(receipt)

        _in_threads({client: partial(create, client) for client in per_client})

    def _commit(self, matched: Sequence[_Replayed]) -> bool:
        seals: dict[Address, list[tuple[TaskId, bytes]]] = {}
        for task in matched:
            for node, vote in zip(task.nodes, task.spec.votes):
                if vote.commits:
                    seal = compute_seal(task.task_id, _result_hash(vote), ExecStatus.SUCCESS, node, _salt(task, node))
                    seals.setdefault(node, []).append((task.task_id, seal))
            task.stage = TaskStage.COMMITTED
        replication = self._scenario.market.replication
        self._run_per_sender({node: [partial(self._batched, "commit", self._nodes[node].commit,
                                             self._nodes[node].commit_many, chunk, replication)
                                     for chunk in self._market.in_transactions("commitMany", items, replication)]
                              for node, items in seals.items()})
        return bool(matched)

    def _reveal(self, committed: Sequence[_Replayed]) -> bool:
        if any(not all(v.commits for v in task.spec.votes) for task in committed):
            self._advance_past(max(task.commit_deadline for task in committed))
        reveals: dict[Address, list[tuple[TaskId, Hash32, ExecStatus, Hash32, Hash32]]] = {}
        for task in committed:
            for node, vote in zip(task.nodes, task.spec.votes):
                if vote.commits and vote.reveals:
                    result_hash = _result_hash(vote)
                    reveals.setdefault(node, []).append((task.task_id, Hash32(result_hash), ExecStatus.SUCCESS,
                                                         _salt(task, node), Hash32(keccak(result_hash))))
            task.stage = TaskStage.DONE if all(v.commits and v.reveals for v in task.spec.votes) else TaskStage.REVEALED
        replication = self._scenario.market.replication
        with self._lock:  # the queued tasks are those not matched yet; all have the scenario's replication
            queued = Queued(sum(1 for task in self._by_id.values() if not task.nodes), replication)
        self._run_per_sender({node: [partial(self._batched, "reveal", self._nodes[node].reveal,
                                             self._nodes[node].reveal_many, chunk, replication, queued)
                                     for chunk in self._market.in_transactions("revealMany", items, replication,
                                                                               queued=queued)]
                              for node, items in reveals.items()})
        return bool(committed)

    def _batched(self, function: str, single: Callable[..., TxReceipt], many: Callable[..., TxReceipt],
                 items: Sequence[tuple[Any, ...]], replication: int, queued: Queued | None = None) -> None:
        """Send ``items`` as the roles do: the single call for one, the batch call for more."""
        extra = {} if queued is None else {"queued": queued}
        if len(items) == 1:
            self._sent(function, single(*items[0], replication=replication, **extra))
        else:
            receipt = many(items, replications=[replication] * len(items), **extra)
            if receipt.skipped:
                raise ChainError(f"the replay's {function} batch skipped items: {receipt.skipped}")
            self._sent(f"{function}Many", receipt)

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


def _salt(task: _Replayed, node: str) -> Hash32:
    return Hash32(keccak(f"replay salt {task.task_id}/{node}".encode()))


__all__ = ["ChainCost", "ReplayTask", "ReplicaVote", "replay_chain"]
