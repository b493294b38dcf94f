"""Fixtures shared across test folders: one local Ray and one embedded chain for the whole session.

- ``ray_runtime``: a local Ray.
- ``devnet``: the session's Devnet (serving, prevrandao seeded with SEED); ``rpc_url`` its URL.
- ``accounts``: ``accounts(role, index)`` returns a derived account funded with FUND_WEI (once per session).
- ``busy_market``: a devnet of its own where four nodes registered and a client created three tasks.
- ``run_on_devnet``: ``run_on_devnet(document)`` runs a scenario (a TOML document as a dict) on Ray against the
  session devnet, its seed's accounts funded first, and returns the report, data dir and market address.
- ``advance_time``: ``advance_time(seconds)`` moves block time forward via ``evm_increaseTime`` (through the
  devnet's admin URL: the public one does not serve it).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

from cipherquorum.chain import TaskMarket, derive_account
from cipherquorum.devnet import Devnet
from cipherquorum.nodes.driver.runner import MarketRun
from cipherquorum.nodes.hosting import RayRuntime
from cipherquorum.protocol import TaskParams
from cipherquorum.reports.run import RunReport
from cipherquorum.settings.scenario import parse_scenario


@pytest.fixture(scope="session")
def ray_runtime() -> Iterator[RayRuntime]:
    """A local Ray started once for every test that hosts roles as actors."""
    runtime = RayRuntime()
    runtime.start()
    yield runtime
    runtime.shutdown()


SEED = "chain-tests"
FUND_WEI = 10**6 * 10**18


@pytest.fixture(scope="session")
def devnet() -> Iterator[Devnet]:
    """A devnet serving JSON-RPC on a free local port for the whole session; its prevrandao is seeded, so
    matching draws repeat from run to run."""
    with Devnet(seed=SEED) as chain:
        yield chain


@pytest.fixture(scope="session")
def rpc_url(devnet: Devnet) -> str:
    """The session devnet's JSON-RPC URL."""
    return devnet.url


@pytest.fixture(scope="session")
def accounts(devnet: Devnet) -> Callable[[str, int], LocalAccount]:
    """``accounts(role, index)``: the derived account for SEED, funded the first time it is asked for."""
    funded: set[str] = set()

    def get(role: str, index: int) -> LocalAccount:
        account = derive_account(SEED, role, index)
        if account.address not in funded:
            devnet.fund(account.address, FUND_WEI)
            funded.add(account.address)
        return account

    return get


@pytest.fixture(scope="session")
def advance_time(devnet: Devnet) -> Callable[[int], int]:
    """``advance_time(seconds)``: make the next block ``seconds`` later (evm_increaseTime); returns its time."""
    session = requests.Session()

    def advance(seconds: int) -> int:
        body = {"jsonrpc": "2.0", "id": 1, "method": "evm_increaseTime", "params": [seconds]}
        reply = session.post(devnet.admin_url, json=body, timeout=10).json()
        assert "result" in reply, f"evm_increaseTime({seconds}) failed: {reply}"
        return int(reply["result"], 16)

    return advance


BUSY_SEED = "load-tests"
BUSY_NODES = 4


@dataclass(frozen=True)
class MarketOnDevnet:
    """A devnet, its TaskMarket (bound to the deployer) and the block the market was deployed in."""

    devnet: Devnet
    market: TaskMarket
    deploy_block: int


@pytest.fixture(scope="module")
def busy_market() -> Iterator[MarketOnDevnet]:
    """A devnet where four nodes registered and a client created three tasks (one block per transaction)."""
    deployer = derive_account(BUSY_SEED, "deployer", 0)
    client = derive_account(BUSY_SEED, "client", 0)
    nodes = [derive_account(BUSY_SEED, "node", index) for index in range(BUSY_NODES)]
    with Devnet(seed=BUSY_SEED) as devnet:
        devnet.fund_many([a.address for a in (deployer, client, *nodes)], 10**24)
        market = TaskMarket.deploy(devnet.url, deployer, min_stake_wei=10**18, slash_wei=10**17, exit_cooldown_s=60)
        deploy_block = market.block_number()
        for node in nodes:
            market.with_account(node).register(4, 0, 2 * 10**18)
        params = TaskParams(keccak(b"sum@1"), keccak(b"manifest"), 3, 2, 600, 600, 60, 10**16)
        for _ in range(3):
            market.with_account(client).create_task(params)
        yield MarketOnDevnet(devnet, market, deploy_block)


@dataclass(frozen=True)
class RunOnDevnet:
    """A finished run on the session devnet: its report, its data dir, and what `verify` needs to find it."""

    report: RunReport
    data_dir: Path
    rpc_url: str

    @property
    def market_address(self) -> str:
        return str(self.report.chain["market_address"])

    def verify_args(self, task_id: int) -> list[str]:
        """The arguments of `cipherquorum verify` for one of the run's tasks."""
        return ["verify", "--rpc-url", self.rpc_url, "--market", self.market_address, "--task", str(task_id),
                "--data-dir", str(self.data_dir), "--from-block", str(self.report.chain["deploy_block"])]


@pytest.fixture(scope="module")
def run_on_devnet(ray_runtime: RayRuntime, devnet: Devnet,
                  tmp_path_factory: pytest.TempPathFactory) -> Callable[..., RunOnDevnet]:
    """``run_on_devnet(document, **options)``: run the scenario on the session devnet, which outlives the run
    (``options`` go to MarketRun, e.g. check_proofs=True)."""

    def run(document: dict, **options: Any) -> RunOnDevnet:
        scenario = parse_scenario({**document, "chain": {"rpc_url": devnet.url}}, f"{document['run']['name']}.toml")
        seed = scenario.run.seed
        accounts = [derive_account(seed, "deployer", 0)]
        accounts += [derive_account(seed, "node", i) for i in range(scenario.node_count)]
        accounts += [derive_account(seed, "client", i) for i in range(scenario.client_accounts)]
        devnet.fund_many([account.address for account in accounts], 10**21)
        data_dir = tmp_path_factory.mktemp("run") / scenario.run.name
        return RunOnDevnet(MarketRun(scenario, data_dir=data_dir, **options).run(), data_dir, devnet.url)

    return run



@pytest.fixture(scope="session")
def anvil_binary() -> Path:
    """The anvil binary the managed chain runs (``find_anvil``); the test is skipped, saying how to install
    anvil, when there is none."""
    from cipherquorum.chain.anvil import find_anvil
    from cipherquorum.exceptions import DependencyMissing

    try:
        return find_anvil()
    except DependencyMissing as exc:
        pytest.skip(str(exc))
