"""Contract-mode trials per second: the TaskMarket bytecode in pyrevm, and the same trials on the embedded devnet
and on anvil (the faster chain).

Usage: python benchmarks/sweep_speed.py [--trials N] [--devnet-tasks N] [--anvil-tasks N] [--json PATH]

For r in 1, 3, 5, 7 (majority quorums) on 20 equal-stake nodes of which 30% collude, it times N contract-mode
trials (market setup excluded; the market is rebuilt every REBUILD_TRIALS trials, which is included), then plays
--devnet-tasks of the same trials on an embedded devnet through the JSON-RPC binding (deploy and registrations
excluded), and --anvil-tasks of them on a managed anvil (skipped, saying why, when anvil is not installed).
Each figure is trials a second of wall time on this machine.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from cipherquorum.chain.anvil import Anvil, find_anvil
from cipherquorum.devnet import Devnet
from cipherquorum.exceptions import DependencyMissing
from cipherquorum.protocol import BehaviourName
from cipherquorum.study import ContractTrials, MarketPrices, MarketSetup
from cipherquorum.study.grid import build_registry
from cipherquorum.study.replay import FUND_WEI, play_on_chain, replay_accounts

PRICES = MarketPrices(reward_per_node_wei=10**16, slash_wei=10**17, gas_price_wei=10**9)
REPLICATIONS = (1, 3, 5, 7)
SEED = "sweep-speed"


def contract_mode(replication: int, trials: int) -> float:
    """Contract-mode trials a second at r = ``replication``."""
    registry = build_registry(20, "equal", 2 * 10**18, 0.3, "count", SEED)
    setup = MarketSetup(SEED, replication, replication // 2 + 1, BehaviourName.COLLUDING, PRICES, 10**18)
    runner = ContractTrials(registry, setup)
    started = time.perf_counter()
    runner.run(trials)
    return trials / (time.perf_counter() - started)


def on_devnet(replication: int, tasks: int) -> float:
    """The same trials a second on an embedded devnet (deploy and registrations included, then subtracted)."""
    registry = build_registry(20, "equal", 2 * 10**18, 0.3, "count", SEED)
    setup = MarketSetup(SEED, replication, replication // 2 + 1, BehaviourName.COLLUDING, PRICES, 10**18)
    with Devnet(seed=SEED) as devnet:
        devnet.fund_many(replay_accounts(setup, registry), FUND_WEI)
        started = time.perf_counter()
        play_on_chain(devnet.url, registry, setup, 0)
        setup_s = time.perf_counter() - started
    with Devnet(seed=SEED) as devnet:
        devnet.fund_many(replay_accounts(setup, registry), FUND_WEI)
        started = time.perf_counter()
        play_on_chain(devnet.url, registry, setup, tasks)
        return tasks / max(1e-9, time.perf_counter() - started - setup_s)


def on_anvil(replication: int, tasks: int) -> float:
    """The same trials a second on a managed anvil (deploy and registrations included, then subtracted)."""
    registry = build_registry(20, "equal", 2 * 10**18, 0.3, "count", SEED)
    setup = MarketSetup(SEED, replication, replication // 2 + 1, BehaviourName.COLLUDING, PRICES, 10**18)
    seconds = []
    for count in (0, tasks):
        with Anvil(find_anvil()) as anvil:
            anvil.fund_many(replay_accounts(setup, registry), FUND_WEI)
            started = time.perf_counter()
            play_on_chain(anvil.url, registry, setup, count)
            seconds.append(time.perf_counter() - started)
    return tasks / max(1e-9, seconds[1] - seconds[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5000, help="contract-mode trials per replication")
    parser.add_argument("--devnet-tasks", type=int, default=20, help="devnet trials per replication (0: skip)")
    parser.add_argument("--anvil-tasks", type=int, default=20, help="anvil trials per replication (0: skip)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args()
    if args.anvil_tasks:
        try:
            find_anvil()
        except DependencyMissing as exc:
            print(f"anvil skipped: {exc}")
            args.anvil_tasks = 0
    figures = {}
    for replication in REPLICATIONS:
        row = {"contract_mode_trials_per_s": contract_mode(replication, args.trials)}
        if args.devnet_tasks:
            row["devnet_trials_per_s"] = on_devnet(replication, args.devnet_tasks)
        if args.anvil_tasks:
            row["anvil_trials_per_s"] = on_anvil(replication, args.anvil_tasks)
        figures[f"r{replication}q{replication // 2 + 1}"] = row
        shown = ", ".join(f"{name} {value:.1f}" for name, value in row.items())
        print(f"r={replication} q={replication // 2 + 1}: {shown}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
