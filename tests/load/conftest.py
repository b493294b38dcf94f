"""Fixtures for the load-testing and benchmark tests: a devnet with a market that has run a few tasks."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_hash.auto import keccak

from cipherquorum.chain import Devnet, TaskMarket, TaskParams, derive_account

SEED = "load-tests"
NODES = 4


@dataclass(frozen=True)
class MarketOnDevnet:
    """A devnet, its TaskMarket (bound to the deployer) and the block the market was deployed in."""

    devnet: Devnet
    market: TaskMarket
    deploy_block: int


@pytest.fixture(scope="module")
def busy_market() -> Iterator[MarketOnDevnet]:
    """A devnet where four nodes registered and a client created three tasks (one block per transaction)."""
    deployer = derive_account(SEED, "deployer", 0)
    client = derive_account(SEED, "client", 0)
    nodes = [derive_account(SEED, "node", index) for index in range(NODES)]
    with Devnet(seed=SEED) as devnet:
        devnet.fund_many([a.address for a in (deployer, client, *nodes)], 10**24)
        market = TaskMarket.deploy(devnet.url, deployer, min_stake_wei=10**18, slash_wei=10**17, exit_cooldown_s=60)
        deploy_block = market.block_number()
        for node in nodes:
            market.with_account(node).register(4, 0, 2 * 10**18)
        params = TaskParams(keccak(b"sum@1"), keccak(b"manifest"), 3, 2, 600, 600, 60, 10**16)
        for _ in range(3):
            market.with_account(client).create_task(params)
        yield MarketOnDevnet(devnet, market, deploy_block)


SMALL_SCENARIO = {
    "run": {"name": "small-load", "seed": "small-load-1"},
    "market": {"replication": 3, "quorum": 2, "commit_window_s": 30, "reveal_window_s": 20, "time_limit_s": 20},
    "population": {"respondents": 12, "shards": 1},
    "nodes": [{"count": 3, "capacity": 4, "stake_wei": "2 ether"}],
    "studies": [{"id": "s", "inputs_per_task": 4, "questions": [
        {"text": "Pick one", "kind": "choice", "options": ["a", "b", "c"], "programs": ["histogram@1"]}]}],
}


@pytest.fixture
def small_scenario():
    """A three-node market scenario, small enough to replay or run in seconds."""
    from cipherquorum.scenario import parse_scenario

    return parse_scenario(SMALL_SCENARIO, "small-load.toml")
