"""Measure the devnet's cost per transaction, eth_call and eth_getLogs with 1, 8 and 24 tasks in flight.

The devnet runs in a process of its own (as the chain actor has it), with the real TaskMarket deployed. Each
level keeps N tasks in flight: N client threads each create a task and wait for it (one eth_call per
``--client-poll-s`` while waiting); registered node threads follow their assignments as the compute nodes do
(one eth_getLogs per poll; read the task, commit once matched, reveal once all committed: the last reveal
finalizes); one watcher follows the tasks' outcomes as the client pool does. Every transaction is what the
binding sends (estimate or gas table, send, receipt polls). The figures are the devnet's own
(``Devnet.rpc_stats``): calls and the milliseconds each held the chain per method, the CPU milliseconds of the
holding thread where the devnet counts them, and the devnet process's CPU per transaction.

    .venv/bin/python benchmarks/devnet_load.py --json /tmp/cq/devnet_load.json
    .venv/bin/python benchmarks/devnet_load.py --levels 1,24 --rounds 2
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

from cipherquorum.chain import TaskMarket, derive_account
from cipherquorum.devnet import Devnet
from cipherquorum.exceptions import CipherQuorumError
from cipherquorum.protocol import TaskParams, compute_seal
from cipherquorum.types import Address, ExecStatus, Hash32, TaskId

SEED = "devnet-load-benchmark"
FUND_WEI = 10**6 * 10**18
MIN_STAKE_WEI = 10**18
STAKE_WEI = 10 * MIN_STAKE_WEI
REWARD_WEI = 10**16
WINDOW_S = 600
RESULT = keccak(b"devnet load benchmark result")
NODE_POLL_S = 0.1
"""A compute node's poll interval when it sent nothing (nodes/compute.py)."""
WATCHER_POLL_S = 0.05
"""The client pool's watcher poll interval (nodes/client.py)."""
OUTCOME_EVENTS = ("TaskCompleted", "TaskFailed")
REPORTED_METHODS = ("eth_sendRawTransaction", "eth_estimateGas", "eth_getTransactionReceipt", "eth_call",
                    "eth_getLogs", "eth_blockNumber", "eth_getBlockByNumber")

Stats = dict[str, Any]


def _devnet_stats(devnet: Devnet) -> Stats:
    """The devnet's per-method counters and its process's CPU seconds, as plain JSON values."""
    methods = {}
    for method, stats in devnet.rpc_stats().items():
        methods[method] = {"calls": stats.calls, "busy_s": stats.busy_s, "cpu_s": getattr(stats, "cpu_s", None)}
    return {"methods": methods, "process_cpu_s": time.process_time(), "threads": threading.active_count()}


def _serve_devnet(addresses: Sequence[str], pipe: Connection) -> None:
    """Child process: run a devnet, fund ``addresses``, send its URL and pid, answer "stats" until "stop"."""
    with Devnet(seed=SEED) as devnet:
        devnet.fund_many(list(addresses), FUND_WEI)
        pipe.send({"url": devnet.url, "pid": os.getpid()})
        while (command := pipe.recv()) != "stop":
            pipe.send(_devnet_stats(devnet) if command == "stats" else None)


def _spin() -> None:
    """A process that only burns CPU, as a run's compute nodes and population do beside the chain."""
    while True:
        pass


@dataclass
class _Work:
    """A task a node thread was assigned: whether it has committed and whether every node has."""

    task_id: TaskId
    committed: bool = False
    all_committed: bool = False


class NodeDriver:
    """A registered node: one thread that polls the market's events and commits, then reveals, each assignment."""

    def __init__(self, market: TaskMarket, stop: threading.Event) -> None:
        if market.sender is None:
            raise ValueError("a node driver needs a market binding with an account")
        self._market = market
        self._address = market.sender
        self._stop = stop
        self._next_block = market.block_number()
        self._work: dict[TaskId, _Work] = {}
        self._salt = keccak(f"salt/{self._address}".encode())
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._loop, name=f"node-{self._address}", daemon=True)

    def start(self) -> None:
        """Start following assignments."""
        self._thread.start()

    def join(self) -> None:
        """Wait for the thread to end (after ``stop`` is set)."""
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self._step()
            except CipherQuorumError as exc:
                self.errors.append(str(exc))
                sent = False
            if not sent:
                self._stop.wait(NODE_POLL_S)

    def _step(self) -> bool:
        """Read new events, then send at most one transaction per open task; return whether any was sent."""
        events = self._market.events(self._next_block)
        for event in events:
            if "taskId" not in event.args:
                continue
            task_id = TaskId(event.args["taskId"])
            if event.name == "TaskMatched" and self._address in event.args["nodes"]:
                self._work[task_id] = _Work(task_id)
            elif event.name == "AllCommitted" and task_id in self._work:
                self._work[task_id].all_committed = True
            elif event.name in OUTCOME_EVENTS:
                self._work.pop(task_id, None)
        if events:
            self._next_block = events[-1].block_number + 1
        sent = False
        for work in list(self._work.values()):
            if not work.committed:
                self._market.task(work.task_id)  # a compute node reads the task's terms before computing
                seal = compute_seal(work.task_id, RESULT, ExecStatus.SUCCESS, self._address, self._salt)
                self._market.commit(work.task_id, seal)
                work.committed = sent = True
            elif work.all_committed:
                self._market.reveal(work.task_id, RESULT, ExecStatus.SUCCESS, self._salt, keccak(RESULT))
                del self._work[work.task_id]
                sent = True
        return sent


class OutcomeWatcher:
    """One thread that follows every task's outcome with one eth_getLogs per poll, as the client pool does."""

    def __init__(self, reader: TaskMarket, stop: threading.Event) -> None:
        self._reader = reader
        self._stop = stop
        self._next_block = reader.block_number()
        self._lock = threading.Lock()
        self._done: dict[TaskId, threading.Event] = {}
        self._thread = threading.Thread(target=self._loop, name="outcome-watcher", daemon=True)

    def start(self) -> None:
        """Start following outcomes."""
        self._thread.start()

    def outcome_of(self, task_id: TaskId) -> threading.Event:
        """The event set once ``task_id`` completes or fails."""
        with self._lock:
            return self._done.setdefault(task_id, threading.Event())

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                events = self._reader.events(self._next_block, names=OUTCOME_EVENTS)
            except CipherQuorumError:
                events = []
            for event in events:
                self.outcome_of(TaskId(event.args["taskId"])).set()
            if events:
                self._next_block = events[-1].block_number + 1
            self._stop.wait(WATCHER_POLL_S)


@dataclass
class Level:
    """What one level measured: its tasks, wall time and the devnet's counters over it."""

    in_flight: int
    tasks: int
    wall_s: float
    before: Stats
    after: Stats
    load_avg_1m: float
    errors: list[str] = field(default_factory=list)

    def method(self, name: str) -> dict[str, float]:
        """Calls, busy and CPU seconds of one method during the level."""
        new = self.after["methods"].get(name, {"calls": 0, "busy_s": 0.0, "cpu_s": None})
        old = self.before["methods"].get(name, {"calls": 0, "busy_s": 0.0, "cpu_s": None})
        cpu = None if new["cpu_s"] is None else new["cpu_s"] - (old["cpu_s"] or 0.0)
        return {"calls": new["calls"] - old["calls"], "busy_s": new["busy_s"] - old["busy_s"], "cpu_s": cpu}

    def summary(self) -> dict[str, Any]:
        """The level's figures as JSON: per method calls and ms per call, and per transaction totals."""
        methods = {name: self.method(name) for name in self.after["methods"]}
        transactions = methods.get("eth_sendRawTransaction", {"calls": 0})["calls"]
        per_method = {}
        for name, stats in methods.items():
            if stats["calls"]:
                per_method[name] = {
                    "calls": stats["calls"],
                    "busy_ms_per_call": round(1000 * stats["busy_s"] / stats["calls"], 3),
                    "cpu_ms_per_call": None if stats["cpu_s"] is None else
                    round(1000 * stats["cpu_s"] / stats["calls"], 3),
                }
        busy_s = sum(stats["busy_s"] for stats in methods.values())
        cpu_s = self.after["process_cpu_s"] - self.before["process_cpu_s"]
        return {
            "in_flight": self.in_flight, "tasks": self.tasks, "transactions": transactions,
            "wall_s": round(self.wall_s, 2), "tx_per_s": round(transactions / self.wall_s, 2),
            "chain_busy_share": round(busy_s / self.wall_s, 3),
            "busy_ms_per_tx": round(1000 * busy_s / max(transactions, 1), 2),
            "process_cpu_ms_per_tx": round(1000 * cpu_s / max(transactions, 1), 2),
            "devnet_threads": self.after["threads"], "load_avg_1m": round(self.load_avg_1m, 2),
            "methods": per_method, "errors": self.errors[:5],
        }


class Bench:
    """The deployed market, its nodes and watcher, and the devnet child whose counters each level reads."""

    def __init__(self, url: str, pipe: Connection, deployer: LocalAccount, nodes: Sequence[LocalAccount],
                 capacity: int) -> None:
        self._pipe = pipe
        self.stop = threading.Event()
        self.market = TaskMarket.deploy(url, deployer, min_stake_wei=MIN_STAKE_WEI, slash_wei=MIN_STAKE_WEI // 2,
                                        exit_cooldown_s=3600)
        self.nodes = []
        for account in nodes:
            node_market = TaskMarket(url, self.market.address, account)
            node_market.register(capacity, 0, STAKE_WEI)
            self.nodes.append(NodeDriver(node_market, self.stop))
        self.watcher = OutcomeWatcher(TaskMarket(url, self.market.address), self.stop)
        for node in self.nodes:
            node.start()
        self.watcher.start()

    def stats(self) -> Stats:
        """The devnet's counters now."""
        self._pipe.send("stats")
        answer: Stats = self._pipe.recv()
        return answer

    def run_level(self, clients: Sequence[LocalAccount], tasks: int, client_poll_s: float) -> Level:
        """Run ``tasks`` tasks with ``len(clients)`` in flight; return the level's figures."""
        params = TaskParams(Hash32(keccak(b"histogram@1")), Hash32(keccak(b"manifest")), 3, 2, WINDOW_S, WINDOW_S, 60,
                            REWARD_WEI)
        remaining = [tasks]
        lock = threading.Lock()
        errors: list[str] = []

        def client_loop(account: LocalAccount) -> None:
            market = TaskMarket(self.market.rpc_url, self.market.address, account)
            while True:
                with lock:
                    if remaining[0] == 0:
                        return
                    remaining[0] -= 1
                try:
                    task_id, _ = market.create_task(params)
                    done = self.watcher.outcome_of(task_id)
                    while not done.wait(client_poll_s):
                        market.task(task_id)  # a reader, as a client checks its task's state
                except CipherQuorumError as exc:
                    errors.append(str(exc))

        before = self.stats()
        started_s = time.perf_counter()
        threads = [threading.Thread(target=client_loop, args=(account,), daemon=True) for account in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall_s = time.perf_counter() - started_s
        after = self.stats()
        for node in self.nodes:
            errors.extend(node.errors)
            node.errors.clear()
        return Level(len(clients), tasks, wall_s, before, after, os.getloadavg()[0], errors)

    def close(self) -> None:
        """Stop the node and watcher threads."""
        self.stop.set()
        for node in self.nodes:
            node.join()


def _print_table(rows: Sequence[dict[str, Any]]) -> None:
    columns = [("send", "eth_sendRawTransaction"), ("estimate", "eth_estimateGas"),
               ("receipt", "eth_getTransactionReceipt"), ("call", "eth_call"), ("getLogs", "eth_getLogs")]
    cpu_known = any(method.get("cpu_ms_per_call") is not None for row in rows for method in row["methods"].values())
    print("devnet ms per call, held the chain" + (" (CPU ms of the holding thread)" if cpu_known else ""))
    header = f"{'in flight':>9}{'tasks':>6}{'tx':>6}{'tx/s':>7}{'busy%':>7}"
    header += "".join(f"{label:>17}" for label, _ in columns) + f"{'busy/tx':>9}{'cpu/tx':>8}{'load':>6}"
    print(header)
    for row in rows:
        line = f"{row['in_flight']:>9}{row['tasks']:>6}{row['transactions']:>6}{row['tx_per_s']:>7}"
        line += f"{100 * row['chain_busy_share']:>6.0f}%"
        for _, method in columns:
            stats = row["methods"].get(method)
            if stats is None:
                line += f"{'-':>17}"
                continue
            cell = f"{stats['busy_ms_per_call']:.1f}"
            if stats["cpu_ms_per_call"] is not None:
                cell += f" ({stats['cpu_ms_per_call']:.1f})"
            line += f"{cell + ' x' + str(stats['calls']):>17}"
        line += f"{row['busy_ms_per_tx']:>9.1f}{row['process_cpu_ms_per_tx']:>8.1f}{row['load_avg_1m']:>6.1f}"
        print(line)
    print("busy/tx: every method's chain time over the level / transactions; cpu/tx: the devnet process's CPU "
          "(all its threads) / transactions; load: the machine's 1-minute load average at the level's end")


def main(argv: Sequence[str] | None = None) -> None:
    """Run the levels and print the table (and write JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="1,8,24", help="tasks in flight per level, comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="tasks per level = rounds x in flight (min 8)")
    parser.add_argument("--nodes", type=int, default=5, help="registered nodes, one thread each (default 5)")
    parser.add_argument("--capacity", type=int, default=16, help="task slots per node (default 16)")
    parser.add_argument("--client-poll-s", type=float, default=1.0,
                        help="a waiting client reads its task (eth_call) this often (default 1 s)")
    parser.add_argument("--busy-processes", type=int, default=0,
                        help="processes that spin on the CPU during the levels, as a run's roles do (default 0)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    levels = [int(level) for level in args.levels.split(",")]
    if min(levels) < 1 or 3 * max(levels) > args.nodes * args.capacity:
        parser.error(f"levels must be >= 1 and 3 x in flight <= nodes x capacity (got {levels})")

    deployer = derive_account(SEED, "deployer", 0)
    nodes = [derive_account(SEED, "node", index) for index in range(args.nodes)]
    clients = [derive_account(SEED, "client", index) for index in range(max(levels))]
    addresses = [Address(account.address) for account in (deployer, *nodes, *clients)]
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve_devnet, args=(addresses, child), daemon=True)
    server.start()
    started = parent.recv()
    print(f"devnet pid {started['pid']} at {started['url']}; {args.nodes} nodes, replication 3, quorum 2; "
          f"{args.busy_processes} busy processes", flush=True)
    rows = []
    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.busy_processes)]
    try:
        bench = Bench(started["url"], parent, deployer, nodes, args.capacity)
        for spinner in spinners:
            spinner.start()
        try:
            for in_flight in levels:
                level = bench.run_level(clients[:in_flight], max(8, args.rounds * in_flight), args.client_poll_s)
                rows.append(level.summary())
                print(f"level {in_flight} in flight: {level.tasks} tasks in {level.wall_s:.1f} s", flush=True)
        finally:
            bench.close()
    finally:
        for spinner in spinners:
            spinner.terminate()
        parent.send("stop")
        server.join(timeout=10)
    _print_table(rows)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"levels": rows, "nodes": args.nodes, "capacity": args.capacity,
                       "busy_processes": args.busy_processes}, out, indent=2)


if __name__ == "__main__":
    main()
