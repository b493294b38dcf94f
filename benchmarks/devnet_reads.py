"""CPU of the devnet's reads of a freshly mined block: a block's logs and its transaction's receipt, each built by
eth-tester, against both answered from one receipt build (the devnet's receipt cache), in this process.

    .venv/bin/python benchmarks/devnet_reads.py [--rounds 5]

The blocks are the quickstart's task stage replayed on an embedded devnet (8 tasks, r=3, 5 nodes: createTasks,
commitMany and revealMany). After a block is mined, every node and the client poll eth_getLogs, which reads the
block's logs once, and the sender asks its receipt: so each block's logs and receipt are read once each.
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections import OrderedDict

from cipherquorum.chain import TaskMarket, derive_account
from cipherquorum.devnet import Devnet
from cipherquorum.devnet.codec import to_json
from cipherquorum.nodes.driver.replay import ReplayTask, ReplicaVote, _Replay
from cipherquorum.settings.scenario import load_scenario


def replayed_blocks(devnet: Devnet, scenario_path: str) -> range:
    """Replay the scenario's task stage on ``devnet`` (8 honest tasks); return the task stage's block numbers."""
    scenario = load_scenario(scenario_path)
    seed = scenario.run.seed
    deployer = derive_account(seed, "deployer", 0)
    nodes = [derive_account(seed, "node", index) for index in range(scenario.node_count)]
    clients = [derive_account(seed, "client", 0)]
    devnet.fund_many([account.address for account in (deployer, *nodes, *clients)], scenario.chain.fund_wei)
    market = TaskMarket.deploy(devnet.url, deployer, min_stake_wei=scenario.chain.min_stake_wei,
                               slash_wei=scenario.chain.slash_wei, exit_cooldown_s=scenario.chain.exit_cooldown_s)
    offers = [group for group in scenario.nodes for _ in range(group.count)]
    for account, offer in zip(nodes, offers):
        market.with_account(account).register(offer.capacity, offer.price_wei, offer.stake_wei)
    first = market.block_number() + 1
    tasks = [ReplayTask(0, "histogram@1", (ReplicaVote(True, True),) * scenario.market.replication)] * 8
    _Replay(market, devnet.admin_url, scenario, nodes, clients).run(tasks, timeout_s=120)
    return range(first, market.block_number() + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", default="scenarios/quickstart.toml")
    parser.add_argument("--rounds", type=int, default=5, help="passes over the blocks (default 5; the median is shown)")
    args = parser.parse_args()
    with Devnet(seed="devnet-reads") as devnet:
        blocks = replayed_blocks(devnet, args.scenario)
        dispatcher = devnet._dispatcher
        chain = dispatcher._tester.backend.chain
        hashes = {n: ["0x" + tx.hash.hex() for tx in chain.get_canonical_block_by_number(n).transactions]
                  for n in blocks}
        separate, shared = [], []
        with dispatcher.lock:
            for _ in range(args.rounds):
                started = time.process_time()
                for number in blocks:  # eth-tester's eth_getLogs for the block, then each receipt
                    to_json(dispatcher.forward("eth_getLogs", [{"fromBlock": hex(number), "toBlock": hex(number)}]))
                    for tx_hash in hashes[number]:
                        to_json(dispatcher.forward("eth_getTransactionReceipt", [tx_hash]))
                separate.append(time.process_time() - started)
                dispatcher._receipts = OrderedDict()  # the receipts built anew, as for a block just mined
                started = time.process_time()
                for number in blocks:  # the block's logs from its receipts, then each receipt again (kept)
                    dispatcher._block_logs(number)
                    for tx_hash in hashes[number]:
                        dispatcher._receipt(tx_hash)
                shared.append(time.process_time() - started)
    count = len(blocks)
    before, after = statistics.median(separate), statistics.median(shared)
    print(f"{count} blocks of the task stage, median of {args.rounds} passes, this process's CPU:")
    print(f"  eth-tester builds the logs and the receipt apart: {1000 * before:6.1f} ms "
          f"({1000 * before / count:.2f} ms per block)")
    print(f"  one receipt build answers both:                 {1000 * after:6.1f} ms "
          f"({1000 * after / count:.2f} ms per block)  ratio {before / after:.2f}")


if __name__ == "__main__":
    main()
