"""Foundry's anvil as the run's chain and as an external one, and the funding of a run's accounts on any chain.

Everything here runs the real anvil binary (``anvil_binary``, from ``cd contracts && npm ci --ignore-scripts``;
the tests are skipped, saying so, without it), real Ray actors and the real ``cipherquorum run``.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from cipherquorum import cli
from cipherquorum.chain.accounts import derive_account, run_addresses
from cipherquorum.chain.anvil import ANVIL_CHAIN_ID, ANVIL_PATH_ENV, Anvil, process_alive
from cipherquorum.chain.funding import ExternalChain
from cipherquorum.chain.market import TaskMarket
from cipherquorum.exceptions import ValidationError
from cipherquorum.nodes.chain_host import ChainHost, ChainSpec
from cipherquorum.nodes.driver.stack import check_chain
from cipherquorum.nodes.hosting import RayRuntime
from cipherquorum.settings.scenario import ChainKind, load_scenario

QUICKSTART = Path(__file__).parents[2] / "scenarios" / "quickstart.toml"
ETHER = 10**18


def small_quickstart(directory: Path, name: str, chain_lines: str) -> Path:
    """A copy of scenarios/quickstart.toml made small (3 nodes, one of them wrong; 20 respondents in one shard;
    one task per question), named and seeded ``name``, with ``chain_lines`` added to its [chain] table."""
    text = QUICKSTART.read_text(encoding="utf-8")
    for old, new in (('name = "quickstart"', f'name = "{name}"'), ('seed = "quickstart-1"', f'seed = "{name}-1"'),
                     ("[chain]\n", f"[chain]\n{chain_lines}\n"), ("respondents = 200", "respondents = 20"),
                     ("shards = 2", "shards = 1"), ("count = 4", "count = 2"),
                     ("inputs_per_task = 50", "inputs_per_task = 20")):
        assert old in text, old
        text = text.replace(old, new, 1)
    path = directory / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(path: Path, directory: Path) -> tuple[int, dict]:
    """``cipherquorum run`` on ``path`` in this process (on the session's Ray); its exit code and JSON report."""
    report = directory / "report.json"
    code = cli.main(["run", str(path), "--data-dir", str(directory / "data"), "--quiet", "--report-json", str(report)])
    return code, json.loads(report.read_text()) if report.exists() else {}


def chain_processes(chain_id: int) -> set[int]:
    """The pids of the processes whose command line starts anvil with ``chain_id`` (anvil and its watchdog)."""
    marker = f"--chain-id\0{chain_id}\0".encode()
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes():
                    pids.add(int(entry.name))
            except OSError:
                pass
    return pids


@pytest.fixture
def no_ray(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Makes starting Ray fail the test: the checks must refuse the run before any role starts."""
    started: list[str] = []

    def start(self: RayRuntime) -> None:
        started.append("ray")
        raise AssertionError("Ray was started: the chain's checks should have refused the run first")

    monkeypatch.setattr(RayRuntime, "start", start)
    return started


@pytest.fixture(scope="module")
def external_anvil(anvil_binary: Path) -> Iterator[Anvil]:
    """An anvil the tests start themselves, as a person would start one to run scenarios on: two unlocked dev
    accounts holding a million ether each."""
    with Anvil(anvil_binary, dev_accounts=2, dev_balance_ether=10**6) as chain:
        yield chain


def balance_of(url: str, address: str) -> int:
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": [address, "latest"]}
    return int(requests.post(url, json=body, timeout=10).json()["result"], 16)


# --- the managed chain --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [ChainKind.DEVNET, ChainKind.ANVIL])
def test_every_managed_chain_serves_funds_measures_and_stops(kind: ChainKind, request: pytest.FixtureRequest) -> None:
    """The chain host's devnet and its anvil alike serve their chain id, fund accounts, sample their usage, and
    refuse connections once stopped."""
    if kind is ChainKind.ANVIL:
        request.getfixturevalue("anvil_binary")
    host = ChainHost(spec=ChainSpec(kind, seed="conformance", chain_id=777 if kind is ChainKind.ANVIL else 0))
    url = host.url()
    try:
        reply = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=10)
        assert int(reply.json()["result"], 16) == (777 if kind is ChainKind.ANVIL else 131277322940537)
        addresses = run_addresses("conformance", 2, 0)
        host.fund(addresses, 3 * ETHER)
        assert [balance_of(url, address) for address in addresses] == [3 * ETHER] * 3
        usage = host.usage()
        assert usage.cpu_s > 0 and usage.rss_bytes > 0
        pid = host.chain_pid()
    finally:
        host.stop()
    with pytest.raises(requests.ConnectionError):
        requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=5)
    if kind is ChainKind.ANVIL:
        assert not process_alive(pid)


def test_anvil_dies_with_the_process_that_started_it_even_by_sigkill(anvil_binary: Path) -> None:
    """A host process killed with SIGKILL (as Ray kills an actor) takes its anvil with it: no orphan."""
    code = ("import sys, time; from cipherquorum.chain.anvil import Anvil; anvil = Anvil(sys.argv[1]); "
            "anvil.start(); print(anvil.pid, flush=True); time.sleep(60)")
    host = subprocess.Popen([sys.executable, "-c", code, str(anvil_binary)], stdout=subprocess.PIPE, text=True)
    assert host.stdout is not None
    pid = int(host.stdout.readline())
    assert process_alive(pid)
    host.send_signal(signal.SIGKILL)
    host.wait(timeout=10)
    deadline_s = time.monotonic() + 5
    while process_alive(pid) and time.monotonic() < deadline_s:
        time.sleep(0.02)
    assert not process_alive(pid)


@pytest.mark.slow
def test_a_small_quickstart_on_a_managed_anvil_finishes_and_leaves_no_anvil_behind(
        ray_runtime: RayRuntime, anvil_binary: Path, tmp_path: Path) -> None:
    """`cipherquorum run` with backend = "anvil" starts anvil in the chain's actor, on the scenario's chain id,
    verifies every task, and ends every process it started for the chain."""
    chain_id = 4_000_000 + os.getpid() % 1_000_000  # tells this run's anvil from any other
    path = small_quickstart(tmp_path, "anvil-run", f'backend = "anvil"\nchain_id = {chain_id}')
    seen: set[int] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            seen.update(chain_processes(chain_id))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started_s = time.monotonic()
    try:
        code, report = run_cli(path, tmp_path)
    finally:
        done.set()
        watcher.join()
    assert code == 0
    assert time.monotonic() - started_s < 60
    assert [task["verified"] for task in report["tasks"]] == [True, True]
    assert seen, "no anvil process was seen during the run"
    assert not [pid for pid in seen if process_alive(pid)]
    assert not chain_processes(chain_id)


# --- an external chain and its funder -----------------------------------------------------------


@pytest.mark.slow
def test_a_run_on_an_external_anvil_is_funded_by_the_nodes_unlocked_accounts(
        ray_runtime: RayRuntime, external_anvil: Anvil, tmp_path: Path) -> None:
    """With funder = "node", the run's accounts on an external chain are funded from its unlocked accounts: no
    funding by hand."""
    path = small_quickstart(tmp_path, "node-funded", f'rpc_url = "{external_anvil.url}"\nfunder = "node"\n'
                                                     f"chain_id = {ANVIL_CHAIN_ID}")
    addresses = run_addresses("node-funded-1", 3, 1)
    assert [balance_of(external_anvil.url, address) for address in addresses] == [0] * len(addresses)
    code, report = run_cli(path, tmp_path)
    assert code == 0
    assert [task["verified"] for task in report["tasks"]] == [True, True]


@pytest.mark.slow
def test_a_run_on_an_external_anvil_is_funded_by_the_key_in_an_environment_variable(
        ray_runtime: RayRuntime, external_anvil: Anvil, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With funder_key_env, the key read from that variable pays for the run's accounts: no funding by hand."""
    funder = derive_account("anvil-tests", "funder", 0)
    external_anvil.fund_many([funder.address], 10**4 * ETHER)
    monkeypatch.setenv("CQ_TEST_FUNDER_KEY", funder.key.hex())
    path = small_quickstart(tmp_path, "key-funded", f'rpc_url = "{external_anvil.url}"\n'
                                                    'funder_key_env = "CQ_TEST_FUNDER_KEY"')
    code, report = run_cli(path, tmp_path)
    assert code == 0
    assert [task["verified"] for task in report["tasks"]] == [True, True]
    assert balance_of(external_anvil.url, funder.address) < (10**4 - 5 * 1000) * ETHER  # 5 accounts x 1000 ether


def test_a_funder_tops_up_only_what_each_account_lacks_a_few_transfers_at_a_time(external_anvil: Anvil,
                                                                                 tmp_path: Path) -> None:
    """The plan sends each account its shortfall (nothing to one that holds enough), and funding sends it with
    at most two transfers in flight, waiting for them all."""
    funder = derive_account("anvil-tests", "funder", 1)
    external_anvil.fund_many([funder.address], 100 * ETHER)
    path = small_quickstart(tmp_path, "top-up", f'rpc_url = "{external_anvil.url}"\nfunder_key = "{funder.key.hex()}"\n'
                                                'fund_wei = "3 ether"')
    scenario = load_scenario(path)
    addresses = run_addresses(scenario.run.seed, scenario.node_count, 1)
    external_anvil.fund_many(addresses[:1], 3 * ETHER)
    external_anvil.fund_many(addresses[1:2], 1 * ETHER)
    plan = check_chain(scenario, 1, clustered=False)
    assert plan is not None
    assert [(transfer.to, transfer.amount_wei) for transfer in plan.transfers] == \
        [(addresses[1], 2 * ETHER)] + [(address, 3 * ETHER) for address in addresses[2:]]
    ExternalChain(external_anvil.url).fund(plan, max_in_flight=2)
    assert [balance_of(external_anvil.url, address) for address in addresses] == [3 * ETHER] * len(addresses)
    assert balance_of(external_anvil.url, funder.address) < (100 - 11) * ETHER


# --- what is refused before any role starts -----------------------------------------------------

NOT_THERE = "/nonexistent/anvil"


@pytest.mark.parametrize(("where", "fragments"), [
    ("anvil_path", ["chain.anvil_path names '/nonexistent/anvil'", "npm ci --ignore-scripts"]),
    ("environment", [f"${ANVIL_PATH_ENV} names '/nonexistent/anvil'", "npm ci --ignore-scripts"]),
    ("npm", ["needs Foundry's anvil, which is not installed", "cd contracts && npm ci --ignore-scripts"]),
])
def test_a_missing_anvil_is_refused_before_ray_starts_saying_how_to_install_it(
        where: str, fragments: list[str], no_ray: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """backend = "anvil" without its binary (at anvil_path, at $CIPHERQUORUM_ANVIL, or from npm) fails with
    DependencyMissing, which names the npm command, before Ray or any role starts."""
    monkeypatch.delenv(ANVIL_PATH_ENV, raising=False)
    lines = 'backend = "anvil"' + (f'\nanvil_path = "{NOT_THERE}"' if where == "anvil_path" else "")
    if where == "environment":
        monkeypatch.setenv(ANVIL_PATH_ENV, NOT_THERE)
    if where == "npm":
        monkeypatch.setattr("cipherquorum.chain.anvil.bundled_anvil", lambda: tmp_path / "no-node-modules" / "anvil")
    code = cli.main(["run", str(small_quickstart(tmp_path, "no-anvil", lines)), "--quiet"])
    error = capsys.readouterr().err
    assert code == cli.EXIT_FAILED
    assert "DependencyMissing" in error
    for fragment in fragments:
        assert fragment in error
    assert no_ray == []


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(("case", "fragments"), [
    ("unreachable", ["ChainUnavailable", "no JSON-RPC endpoint answered at http://127.0.0.1:"]),
    ("wrong chain id", ["ChainError", f"has chain id {ANVIL_CHAIN_ID}, not chain.chain_id=1"]),
    ("unfunded funder", ["ChainError", "the funder cannot pay for the run", "holds 0 wei, and the run needs ",
                         f"5 accounts topped up to chain.fund_wei={1000 * ETHER}: {5 * 1000 * ETHER} wei"]),
    ("unfunded accounts", ["ChainError", "5 of the run's 5 accounts on http://127.0.0.1:",
                           f"hold less than chain.fund_wei={1000 * ETHER} (the first, 0x", "names no funder"]),
])
def test_an_external_chain_that_cannot_serve_the_run_is_refused_before_ray_starts(
        case: str, fragments: list[str], no_ray: list[str], external_anvil: Anvil, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """An rpc_url where nothing answers, a chain of another id than chain.chain_id, a funder whose balance is
    below what the run pays (both figures shown), and accounts that are short of chain.fund_wei with no funder
    named each fail with a typed error before Ray starts."""
    unfunded = derive_account("anvil-tests", "unfunded", 0)
    lines = {"unreachable": f'rpc_url = "http://127.0.0.1:{free_port()}"',
             "wrong chain id": f'rpc_url = "{external_anvil.url}"\nchain_id = 1',
             "unfunded funder": f'rpc_url = "{external_anvil.url}"\nfunder_key = "{unfunded.key.hex()}"',
             "unfunded accounts": f'rpc_url = "{external_anvil.url}"'}[case]
    code = cli.main(["run", str(small_quickstart(tmp_path, "refused", lines)), "--quiet"])
    error = capsys.readouterr().err
    assert code == cli.EXIT_FAILED
    for fragment in fragments:
        assert fragment in error
    assert no_ray == []
    assert unfunded.key.hex()[2:] not in error


@pytest.mark.parametrize("key", ["0x1234abcd", "0x" + "g" * 64, "0x" + "0" * 64, "ab" * 33])
def test_a_malformed_funder_key_is_refused_by_run_and_validate_without_showing_it(
        key: str, no_ray: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A funder key that is not 64 hex digits in secp256k1's range, in the file or in the environment, makes
    `run` and `validate` exit 2 naming the field and what is wrong, never the key."""
    monkeypatch.setenv("CQ_TEST_BAD_KEY", key)
    for lines in (f'rpc_url = "http://127.0.0.1:8545"\nfunder_key = "{key}"',
                  'rpc_url = "http://127.0.0.1:8545"\nfunder_key_env = "CQ_TEST_BAD_KEY"'):
        path = small_quickstart(tmp_path, "bad-key", lines)
        for command in ("run", "validate"):
            code = cli.main([command, str(path)])
            error = capsys.readouterr().err
            assert code == cli.EXIT_BAD_INPUT
            assert "funder_key" in error and "not shown" in error
            assert key.removeprefix("0x") not in error
    assert no_ray == []



@pytest.mark.parametrize("kind", [ChainKind.DEVNET, ChainKind.ANVIL])
def test_a_follower_that_has_read_every_block_gets_no_events_rather_than_an_error(
        kind: ChainKind, request: pytest.FixtureRequest) -> None:
    """anvil refuses eth_getLogs from a block past its head (BlockOutOfRangeError); every role polls from just
    past the last block it read, so a quiet chain must read as "no events yet". Once nodes all had read every
    block, the refusal kept each from sending its pending reveal: the market stalled with nothing to mine."""
    if kind is ChainKind.ANVIL:
        chain = request.getfixturevalue("external_anvil")
        url = chain.url
    else:
        url = request.getfixturevalue("rpc_url")
    deployer = derive_account("follower-test", "deployer", 0)
    if kind is ChainKind.ANVIL:
        chain.fund_many([deployer.address], 10**21)
    else:
        request.getfixturevalue("devnet").fund(deployer.address, 10**21)
    market = TaskMarket.deploy(url, deployer, min_stake_wei=10**18, slash_wei=10**17, exit_cooldown_s=60)
    head = market.block_number()
    assert market.events(head + 1) == []
    assert market.events(head + 5) == []
    with pytest.raises(ValidationError):
        market.events(head + 1, names=["NoSuchEvent"])
