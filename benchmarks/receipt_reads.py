"""A receipt read through web3's formatting against the plain JSON-RPC answer that ``receipt_of`` converts (what
Connection does now), on a createTasks receipt of six matched tasks, alternating so that a noisy machine slows both
alike.

    .venv/bin/python benchmarks/receipt_reads.py [--tasks 6] [--reads 50] [--rounds 9]

Prints the CPU milliseconds per read, median of the rounds. The devnet runs in this process, so both figures
include its answer; the difference is the client's formatting.
"""
from __future__ import annotations

import argparse

from eth_hash.auto import keccak
from hexbytes import HexBytes

from cipherquorum.chain import TaskMarket
from cipherquorum.chain.accounts import derive_account
from cipherquorum.chain.connection import Connection, receipt_of
from cipherquorum.devnet import Devnet
from cipherquorum.measurement.stats import alternating_cpu_ms
from cipherquorum.protocol import TaskParams

SEED = "receipt-reads"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=6)
    parser.add_argument("--reads", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    deployer, client = derive_account(SEED, "deployer", 0), derive_account(SEED, "client", 0)
    nodes = [derive_account(SEED, "node", index) for index in range(5)]
    with Devnet(seed=SEED) as devnet:
        devnet.fund_many([account.address for account in (deployer, client, *nodes)], 10**24)
        market = TaskMarket.deploy(devnet.url, deployer, min_stake_wei=10**18, slash_wei=10**17, exit_cooldown_s=60)
        for node in nodes:
            market.with_account(node).register(8, 0, 2 * 10**18)
        params = TaskParams(keccak(b"sum@1"), keccak(b"manifest"), 3, 2, 600, 600, 60, 10**16)
        _, receipt = market.with_account(client).create_tasks([params] * args.tasks)
        connection = Connection(devnet.url, 30.0, 30.0)
        tx_hash = receipt.tx_hash
        reads = {
            "web3": lambda: connection.web3.eth.get_transaction_receipt(HexBytes(tx_hash)),
            "plain": lambda: receipt_of(connection.request("eth_getTransactionReceipt", [tx_hash])),
        }
        logs = len(receipt_of(connection.request("eth_getTransactionReceipt", [tx_hash]))["logs"])
        medians = alternating_cpu_ms(reads, args.rounds, args.reads)
    web3_ms, plain_ms = medians["web3"], medians["plain"]
    print(f"a receipt of {logs} logs, CPU per read (median of {args.rounds} rounds of {args.reads}):")
    print(f"  through web3's formatting  {web3_ms:.3f} ms")
    print(f"  plain JSON, receipt_of     {plain_ms:.3f} ms")
    print(f"  ratio                      {plain_ms / web3_ms:.3f}")


if __name__ == "__main__":
    main()
