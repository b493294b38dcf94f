"""Measure the TaskMarket on the embedded devnet: gas per phase of a task, transactions per task, and tx/s."""
from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection

import requests
from eth_hash.auto import keccak

from cipherquorum.chain import TaskMarket, TxReceipt, derive_account
from cipherquorum.devnet import Devnet
from cipherquorum.protocol import TaskParams, compute_seal
from cipherquorum.types import Address, ExecStatus

SEED = "gas-benchmark"
FUND_WEI = 10**6 * 10**18
MIN_STAKE_WEI = 10**18
SLASH_WEI = 10**17
STAKE_WEI = 2 * MIN_STAKE_WEI
REWARD_WEI = 10**16
COMMIT_WINDOW_S = 600
REVEAL_WINDOW_S = 600
RESULT = keccak(b"benchmark result")


@dataclass
class Sample:
    """One measured transaction: its phase, gas used and wall time (estimate, sign, send, receipt)."""

    phase: str
    gas_used: int
    seconds: float


class Recorder:
    """Times each transaction and keeps its gas under a phase name."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []

    def run(self, phase: str, send: Callable[[], TxReceipt]) -> TxReceipt:
        """Send one transaction through ``send`` and record it under ``phase``."""
        start = time.perf_counter()
        receipt = send()
        self.samples.append(Sample(phase, receipt.gas_used, time.perf_counter() - start))
        return receipt

    def table(self) -> list[dict]:
        """Per phase: count, gas min / median / max, median wall milliseconds, in first-seen order."""
        by_phase: dict[str, list[Sample]] = defaultdict(list)
        for sample in self.samples:
            by_phase[sample.phase].append(sample)
        rows = []
        for phase, samples in by_phase.items():
            gas = [sample.gas_used for sample in samples]
            rows.append({
                "phase": phase, "count": len(samples), "gas_min": min(gas), "gas_median": int(statistics.median(gas)),
                "gas_max": max(gas), "ms_median": round(1000 * statistics.median(s.seconds for s in samples), 1),
            })
        return rows


def _serve_devnet(addresses: Sequence[str], pipe: Connection) -> None:
    """Child process: run a devnet, fund ``addresses``, send back its URL, serve until told to stop."""
    with Devnet(seed=SEED, admin_methods=True) as devnet:
        devnet.fund_many(list(addresses), FUND_WEI)
        pipe.send(devnet.url)
        pipe.recv()


def advance_time(url: str, seconds: int) -> None:
    """Move block time forward with evm_increaseTime."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "evm_increaseTime", "params": [seconds]}
    requests.post(url, json=body, timeout=10).raise_for_status()


def run_task(market: TaskMarket, client: TaskMarket, nodes: dict[Address, TaskMarket], params: TaskParams,
             recorder: Recorder, url: str, deadline_path: bool) -> int:
    """Run one task to settlement and return how many transactions it took.

    The happy path ends with the last reveal finalizing; the deadline path leaves one node silent after its
    commit, moves time past the reveal deadline and finalizes explicitly.
    """
    created = recorder.run("create (matched)", lambda: client.create_task(params)[1])
    task_id = created.named("TaskCreated")[0].args["taskId"]
    assigned = market.assignment(task_id)
    salts = {node: keccak(f"{task_id}/{node}".encode()) for node in assigned}
    for index, node in enumerate(assigned):
        seal = compute_seal(task_id, RESULT, ExecStatus.SUCCESS, node, salts[node])
        phase = "commit (last)" if index == len(assigned) - 1 else "commit"
        recorder.run(phase, lambda node=node, seal=seal: nodes[node].commit(task_id, seal))
    revealing = assigned[:-1] if deadline_path else assigned
    for index, node in enumerate(revealing):
        last = index == len(assigned) - 1
        phase = "reveal (last, finalizes)" if last else "reveal"
        recorder.run(phase, lambda node=node: nodes[node].reveal(task_id, RESULT, ExecStatus.SUCCESS, salts[node],
                                                                 keccak(RESULT)))
    transactions = 1 + len(assigned) + len(revealing)
    if deadline_path:
        advance_time(url, market.task(task_id).reveal_deadline - market.block_timestamp() + 1)
        recorder.run("finalize (after deadline)", lambda: client.finalize(task_id))
        transactions += 1
    return transactions


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print its tables (and write JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=20, help="happy-path tasks to run (default 20)")
    parser.add_argument("--deadline-tasks", type=int, default=5, help="deadline-path tasks (default 5)")
    parser.add_argument("--nodes", type=int, default=5, help="registered nodes (default 5)")
    parser.add_argument("--replication", type=int, default=3, help="replication r (quorum r//2+1; default 3)")
    parser.add_argument("--in-process", action="store_true", help="serve the devnet from this process")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)

    deployer = derive_account(SEED, "deployer", 0)
    client_account = derive_account(SEED, "client", 0)
    node_accounts = [derive_account(SEED, "node", i) for i in range(args.nodes)]
    addresses = [account.address for account in (deployer, client_account, *node_accounts)]
    if args.in_process:
        devnet = Devnet(seed=SEED, admin_methods=True)
        url = devnet.start()
        devnet.fund_many(addresses, FUND_WEI)
        stop: Callable[[], None] = devnet.stop
    else:
        parent, child = multiprocessing.Pipe()
        server = multiprocessing.Process(target=_serve_devnet, args=(addresses, child), daemon=True)
        server.start()
        url = parent.recv()

        def stop() -> None:
            parent.send("stop")
            server.join(timeout=10)

    try:
        recorder = Recorder()
        market = TaskMarket.deploy(url, deployer, min_stake_wei=MIN_STAKE_WEI, slash_wei=SLASH_WEI,
                                   exit_cooldown_s=3600)
        nodes = {}
        for account in node_accounts:
            node = market.with_account(account)
            recorder.run("register", lambda node=node: node.register(2, 0, STAKE_WEI))
            nodes[Address(account.address)] = node
        client = market.with_account(client_account)
        params = TaskParams(keccak(b"histogram@1"), keccak(b"manifest"), args.replication, args.replication // 2 + 1,
                            COMMIT_WINDOW_S, REVEAL_WINDOW_S, 60, REWARD_WEI)

        start = time.perf_counter()
        happy_txs = sum(run_task(market, client, nodes, params, recorder, url, False) for _ in range(args.tasks))
        happy_s = time.perf_counter() - start
        deadline_txs = sum(run_task(market, client, nodes, params, recorder, url, True)
                           for _ in range(args.deadline_tasks))
        earner = next(iter(nodes.values()))
        recorder.run("withdraw", lambda: earner.withdraw(market.withdrawable(str(earner.sender))))
        balanced = market.balance_wei() == market.liabilities_wei()
    finally:
        stop()

    rows = recorder.table()
    print(f"TaskMarket gas on the eth-tester devnet: {args.nodes} nodes, r={args.replication}, "
          f"q={args.replication // 2 + 1}, devnet {'in this process' if args.in_process else 'in a child process'}")
    print(f"{'phase':<28}{'count':>6}{'gas min':>10}{'gas median':>12}{'gas max':>10}{'ms median':>11}")
    for row in rows:
        print(f"{row['phase']:<28}{row['count']:>6}{row['gas_min']:>10}{row['gas_median']:>12}{row['gas_max']:>10}"
              f"{row['ms_median']:>11}")
    print(f"contract ether == stakes + escrows + withdrawable after the run: {balanced}")
    per_task = happy_txs / max(args.tasks, 1)
    rate = happy_txs / happy_s if happy_s else 0.0
    print(f"transactions per task: {per_task:.0f} on the happy path (1 create + r commits + r reveals), "
          f"{deadline_txs / max(args.deadline_tasks, 1):.0f} on the deadline path")
    print(f"throughput: {happy_txs} transactions in {happy_s:.1f} s = {rate:.1f} tx/s "
          f"({args.tasks / happy_s:.2f} tasks/s), one sender at a time")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"phases": rows, "tx_per_task": per_task, "tx_per_s": rate, "nodes": args.nodes,
                       "replication": args.replication, "in_process": args.in_process}, out, indent=2)


if __name__ == "__main__":
    main()
