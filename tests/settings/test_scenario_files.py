"""Scenario files are read strictly: a broken file fails before anything starts, naming file, field and value."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cipherquorum.exceptions import ScenarioError
from cipherquorum.fhe import PRESETS
from cipherquorum.protocol import BEHAVIOUR_NAMES, MAX_WINDOW_S
from cipherquorum.settings.load import load_load_scenario
from cipherquorum.settings.scenario import load_scenario, parse_scenario
from cipherquorum.study.grid import load_sweep

SCENARIOS = sorted((Path(__file__).parents[2] / "scenarios").glob("*.toml"))

MINIMAL = {
    "nodes": [{"count": 3}],
    "studies": [{"id": "s", "questions": [{"text": "q", "kind": "choice", "options": ["a", "b"]}]}],
}
TOP_KEYS = "chain, fhe, market, nodes, population, run, studies"


UINT96_MAX = 2**96 - 1
NOT_MATCHED = ("the contract matches only nodes staking at least max(min_stake_wei, slash_wei, 1 wei), so this node "
               "would never be matched")


def _question(**fields: object) -> dict:
    """MINIMAL with one question of these fields."""
    return {**MINIMAL, "studies": [{"id": "s", "questions": [{"text": "q", **fields}]}]}


def _with(**changes: object) -> dict:
    document = {key: value for key, value in MINIMAL.items()}
    for path, value in changes.items():
        section, _, key = path.partition("__")
        if section in ("nodes", "studies"):
            document[section] = [dict(document[section][0], **{key: value})]
        else:
            document[section] = dict(document.get(section, {}), **{key: value})
    return document


SWEEPS = [path for path in SCENARIOS if "\n[sweep]" in "\n" + path.read_text()]
"""Files for `cipherquorum sweep` (a [sweep] table), not for `run`."""


@pytest.mark.parametrize("path", [p for p in SCENARIOS if p not in SWEEPS], ids=lambda p: p.name)
def test_every_shipped_scenario_is_valid(path: Path) -> None:
    """Every scenario in scenarios/ loads without error."""
    scenario = load_scenario(path)
    assert scenario.node_count >= scenario.market.replication


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.name)
def test_every_shipped_sweep_file_is_valid(path: Path) -> None:
    """Every sweep file in scenarios/ (a [sweep] table, for `cipherquorum sweep`) loads without error."""
    assert load_sweep(path).lines


def test_quickstart_has_one_byzantine_node_among_at_least_five() -> None:
    """The quickstart aggregates a histogram and a mean with r=3 and one byzantine node among >= 5."""
    scenario = load_scenario(SCENARIOS[0].parent / "quickstart.toml")
    behaviours = scenario.node_behaviours()
    assert len(behaviours) >= 5
    assert sum(b != "honest" for b in behaviours) == 1
    assert scenario.market.replication == 3
    programs = {p for q in scenario.studies[0].questions for p in q.programs}
    assert {"histogram@1", "mean@1"} <= programs


def test_minimal_document_gets_defaults() -> None:
    """A document with only nodes and studies gets the documented defaults."""
    scenario = parse_scenario(MINIMAL, "mini.toml")
    assert scenario.market.replication == 3 and scenario.market.quorum == 2
    assert scenario.chain.embedded
    assert scenario.studies[0].questions[0].programs == ("histogram@1",)


@pytest.mark.parametrize("behaviour", BEHAVIOUR_NAMES)
def test_every_protocol_behaviour_can_be_named(behaviour: str) -> None:
    """A node group may name each behaviour the protocol module knows, and only those."""
    assert parse_scenario(_with(nodes__behaviour=behaviour)).nodes[0].behaviour == behaviour


@pytest.mark.parametrize(("document", "message"), [
    # amounts past what the contract's uint256 and uint96 slots hold (were accepted, or a decimal.Overflow)
    (_with(nodes__stake_wei="1e80 ether"),
     "nodes[0].stake_wei: must be at most 2**256 - 1 wei, what a uint256 holds (got '1e80 ether')"),
    (_with(nodes__stake_wei="1e400 ether"),
     "nodes[0].stake_wei: must be at most 2**256 - 1 wei, what a uint256 holds (got '1e400 ether')"),
    (_with(nodes__stake_wei="1e11 ether"), f"nodes[0].stake_wei: must be <= {UINT96_MAX} wei (got {10**29})"),
    (_with(nodes__price_wei="1e11 ether", market__reward_per_node_wei="1e12 ether"),
     f"nodes[0].price_wei: must be <= {UINT96_MAX} wei (got {10**29})"),
    (_with(chain__fund_wei="1e999999999 ether"),
     "chain.fund_wei: must be at most 2**256 - 1 wei, what a uint256 holds (got '1e999999999 ether')"),
    (_with(chain__exit_cooldown_s=2**64), f"chain.exit_cooldown_s: must be <= {2**64 - 1} (got {2**64})"),
    (_with(nodes__count=16**5000), "nodes[0].count: must be at most 2**256 - 1 in size (got an integer of 20001 bits)"),
    (_with(market__commit_window_s=10**9), f'market.commit_window_s: "commit_window_s" must be in [1, {MAX_WINDOW_S}] '
     "(got commit_window_s=1000000000)"),
    # nodes the contract would refuse, or register and never match
    (_with(chain__slash_wei="5 ether"), f"nodes[0].stake_wei: must be >= chain.slash_wei=5000000000000000000: "
     f"{NOT_MATCHED} (got 2000000000000000000)"),
    (_with(chain__min_stake_wei=0, chain__slash_wei=0, nodes__stake_wei=0),
     f"nodes[0].stake_wei: must be >= 1 wei: {NOT_MATCHED} (got 0)"),
    ({**MINIMAL, "nodes": [{"count": 200}, {"count": 57}]},
     "nodes: the contract registers at most 256 compute nodes (got 257)"),
    # what the embedded devnet cannot fund
    (_with(chain__fund_wei="2 ether"), "chain.fund_wei: must pay nodes[0]'s stake of 2000000000000000000 wei and "
     "20000000000000000 wei of gas (got 2000000000000000000)"),
    (_with(nodes__stake_wei="1 ether", chain__fund_wei="1.02 ether", studies__inputs_per_task=1),
     "chain.fund_wei: must pay client 0's escrow of 100 tasks x replication 3 x 10000000000000000 wei = "
     "3000000000000000000 wei and 20000000000000000 wei of gas (got 1020000000000000000)"),
    (_with(chain__fund_wei="1e9 ether"), "chain.fund_wei: must be <= 999999999999790000000000000: the embedded "
     "devnet's 10 funders hold 1000000000000000000000000000 wei each and fund 5 accounts "
     "(got 1000000000000000000000000000)"),
    # the chain, the paths and the ids the run would fail on
    (_with(chain__rpc_url="not a url"), 'chain.rpc_url: must be an http(s) URL with a host, such as '
     '"http://127.0.0.1:8545", or empty for the embedded chain (got \'not a url\')'),
    (_with(chain__rpc_url="http://"), 'chain.rpc_url: must be an http(s) URL with a host, such as '
     '"http://127.0.0.1:8545", or empty for the embedded chain (got \'http://\')'),
    (_with(chain__rpc_url="http://localhost:99999"), 'chain.rpc_url: must be an http(s) URL with a host, such as '
     '"http://127.0.0.1:8545", or empty for the embedded chain (got \'http://localhost:99999\')'),
    (_with(run__data_dir="data\x00dir"),
     "run.data_dir: must not contain a NUL character, which no path holds (got 'data\\x00dir')"),
    (_with(run__name="/"), 'run.name: must be a file name without "/": without run.data_dir the run stores its '
     "data in cq-data/<name> (got '/')"),
    (_with(studies__id=""), "studies[0].id: must be 1 to 1000 characters (got 0: '')"),
    # questions whose answers the programs cannot hold, or with fields that would be ignored
    (_question(kind="choice", options=[f"o{i}" for i in range(5000)]), "studies[0].questions[0].options: "
     'histogram@1 cannot take 5000 options: "bins" must be an int in [1, 1024] (got bins=5000)'),
    (_question(kind="choice", options=[f"o{i}" for i in range(1025)], programs=["sum@1"]),
     'studies[0].questions[0].options: sum@1 cannot take 1025 options: "width" must be an int in [1, 1024] '
     "(got width=1025)"),
    (_question(kind="choice", options=["a", "b", "a"]),
     "studies[0].questions[0].options: must be distinct, one per bin of the answer (got 'a' 2 times)"),
    (_question(kind="number", max_value=2**62, programs=["sum@1"]),
     "studies[0].questions[0].max_value: sum@1 over 100 answers a task reaches 461168601842738790400 in a result "
     "slot, past the plaintext bound 3670016 of fhe.preset 'bfv-2048', where sums wrap "
     "(got max_value=4611686018427387904, population.respondents=100)"),
    (_question(kind="number", max_value=36701, programs=["mean@1"]),
     "studies[0].questions[0].max_value: mean@1 over 100 answers a task reaches 3670100 in a result slot, past the "
     "plaintext bound 3670016 of fhe.preset 'bfv-2048', where sums wrap (got max_value=36701, "
     "population.respondents=100)"),
    ({**_with(fhe__preset="bfv-8192"), **_question(kind="number", max_value=3000, programs=["variance@1"])},
     "studies[0].questions[0].max_value: variance@1 over 100 answers a task reaches 900000000 in a result slot, past "
     "the plaintext bound 536846336 of fhe.preset 'bfv-8192', where sums wrap (got max_value=3000, "
     "population.respondents=100)"),
    (_question(kind="number", max_value=9, options=["a", "b"]),
     "studies[0].questions[0].options: a number question takes no options (got ['a', 'b'])"),
    (_question(kind="choice", options=["a", "b"], min_value=1),
     "studies[0].questions[0].min_value: a choice question takes no min_value (got 1)"),
    (_question(kind="choice", options=["a", "b"], max_value=0),
     "studies[0].questions[0].max_value: a choice question takes no max_value (got 0)"),
    (_with(studies__inputs_per_task=500),
     "studies[0].inputs_per_task: must be <= the study's respondents=100 (got 500)"),
    (_with(studies__inputs_per_task=60, studies__respondents=50),
     "studies[0].inputs_per_task: must be <= the study's respondents=50 (got 60)"),
    (_with(population__shards=8, population__respondents=4),
     "population.shards: must be <= population.respondents=4, or a shard hosts no one (got 8)"),
    # values shown in a message are cut short, keys that are not plain names are quoted
    (_with(market__replication="x" * 5000), "market.replication: must be an integer (got str '" + "x" * 76 + "...)"),
    ({**MINIMAL, "a\nb": 1}, f"top level: unknown field(s): 'a\\nb' (known: {TOP_KEYS})"),
])
def test_settings_the_run_would_refuse_are_refused_by_validate(document: dict, message: str) -> None:
    """What a run would fail on after its start-up (or crash on) is a ScenarioError naming file, field and value."""
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(document, "broken.toml")
    assert str(caught.value) == f"broken.toml: {message}"


@pytest.mark.parametrize("document", [
    _with(chain__min_stake_wei=0),  # the contract takes a zero minimum: it then matches stakes >= slash_wei
    _with(chain__slash_wei="2 ether"),  # a stake equal to the slash is matched
    _with(chain__fund_wei="2.02 ether"),  # a node's stake and its gas reserve, exactly
    _with(chain__fund_wei="999999999.99979 ether"),  # the most 10 funders can give 5 accounts
    _with(chain__rpc_url="https://node.example:8545/rpc"),
    _with(chain__exit_cooldown_s=2**64 - 1),
    _with(nodes__stake_wei=UINT96_MAX, chain__fund_wei="1e10 ether", chain__rpc_url="http://127.0.0.1:8545"),
    _with(population__shards=4, population__respondents=4),
    _with(studies__inputs_per_task=100),
    _with(run__name="..x", run__data_dir="/tmp/any/where"),
    _question(kind="choice", options=[f"o{i}" for i in range(1024)]),
    _question(kind="number", max_value=36700, programs=["mean@1"]),  # 100 x 36,700 = 3,670,000 <= 3,670,016
    {**MINIMAL, "studies": [{"id": "s", "inputs_per_task": 50, "questions": [  # 50 answers a task: 1,835,050
        {"text": "q", "kind": "number", "max_value": 36701, "programs": ["mean@1"]}]}]},
    {**MINIMAL, "nodes": [{"count": 200}, {"count": 56}]},
])
def test_settings_at_the_edge_of_what_the_run_takes_still_load(document: dict) -> None:
    """Each rule refuses only past its limit: a value at the limit (or a zero the contract takes) loads."""
    parse_scenario(document, "edge.toml")


@pytest.mark.parametrize(("document", "message"), [
    (_with(market__quorum=4), 'market.quorum: "quorum" must be <= replication (got quorum=4, replication=3)'),
    (_with(market__quorum=7, market__replication=3),
     'market.quorum: "quorum" must be <= replication (got quorum=7, replication=3)'),
    (_with(market__quorum=1),
     'market.quorum: "quorum" must be a majority, > replication/2 (got quorum=1, replication=3)'),
    (_with(market__quorum=2, market__replication=4),
     'market.quorum: "quorum" must be a majority, > replication/2 (got quorum=2, replication=4)'),
    (_with(market__replication=0), 'market.replication: "replication" must be in [1, 16] (got replication=0)'),
    (_with(market__replication=17, market__quorum=9),
     'market.replication: "replication" must be in [1, 16] (got replication=17)'),
    (_with(market__commit_window_s=0),
     f'market.commit_window_s: "commit_window_s" must be in [1, {MAX_WINDOW_S}] (got commit_window_s=0)'),
    (_with(market__reveal_window_s=MAX_WINDOW_S + 1),
     f'market.reveal_window_s: "reveal_window_s" must be in [1, {MAX_WINDOW_S}] '
     f"(got reveal_window_s={MAX_WINDOW_S + 1})"),
    (_with(market__time_limit_s=500), 'market.time_limit_s: "time_limit_s" must be in [1, commit_window_s] '
     "(got time_limit_s=500, commit_window_s=120)"),
    (_with(market__time_limit_s=0), 'market.time_limit_s: "time_limit_s" must be in [1, commit_window_s] '
     "(got time_limit_s=0, commit_window_s=120)"),
    (_with(market__reward_per_node_wei=0), 'market.reward_per_node_wei: "reward_per_node_wei" must be >= 1 and '
     "replication x reward must fit in uint256 (got reward_per_node_wei=0)"),
    (_with(market__replication="3"), "market.replication: must be an integer (got str '3')"),
    (_with(market__colour="red"), "market: unknown field(s): colour (known: commit_window_s, quorum, replication, "
     "reveal_window_s, reward_per_node_wei, time_limit_s)"),
    (_with(nodes__behaviour="evil"),
     f"nodes[0].behaviour: must be one of {', '.join(BEHAVIOUR_NAMES)} (got 'evil')"),
    (_with(nodes__count=1), "nodes: needs at least replication=3 compute nodes (got 1)"),
    (_with(nodes__stake_wei="lots"), "nodes[0].stake_wei: must be an amount like \"0.5 ether\" (got 'lots')"),
    (_with(nodes__stake_wei="0.1 ether"),
     "nodes[0].stake_wei: must be >= chain.min_stake_wei=1000000000000000000 (got 100000000000000000)"),
    (_with(nodes__price_wei="1 ether"), "nodes[0].price_wei: must be <= market.reward_per_node_wei="
     "10000000000000000, or the node is never matched (got 1000000000000000000)"),
    (_with(studies__questions=[]), "studies[0].questions: must be a non-empty array of tables ([[...]])"),
    (_with(studies__questions=[{"text": "q", "kind": "choice", "options": ["a"]}]),
     "studies[0].questions[0].options: a choice question needs at least 2 options (got 1)"),
    (_with(studies__questions=[{"text": "q", "kind": "number", "min_value": 5, "max_value": 5}]),
     "studies[0].questions[0].max_value: must be > min_value (got max_value=5, min_value=5)"),
    (_with(studies__questions=[{"text": "q", "kind": "scale"}]),
     "studies[0].questions[0].kind: must be one of choice, number (got 'scale')"),
    (_with(studies__respondents=500), "studies[0].respondents: must be <= population.respondents=100 (got 500)"),
    (_with(population__shards=True), "population.shards: must be an integer (got True)"),
    (_with(fhe__preset="nope"), f"fhe.preset: must be one of {', '.join(sorted(PRESETS))} (got 'nope')"),
    ({"nodes": [{"count": 3}]}, "studies: must be a non-empty array of tables ([[...]])"),
    ({**MINIMAL, "studies": MINIMAL["studies"] * 2}, "studies: study ids must be unique (got ['s', 's'])"),
    ({**MINIMAL, "extra": 1}, f"top level: unknown field(s): extra (known: {TOP_KEYS})"),
    ({**MINIMAL, "load": {"tasks": 3}}, f"top level: unknown field(s): load (known: {TOP_KEYS})"),
])
def test_invalid_scenario_names_field_and_value(document: dict, message: str) -> None:
    """Each invalid field raises ScenarioError whose message names the file, the field path and the value."""
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(document, "broken.toml")
    assert str(caught.value) == f"broken.toml: {message}"


@pytest.mark.parametrize("load", [load_scenario, load_load_scenario], ids=["scenario", "load scenario"])
@pytest.mark.parametrize(("extra", "message"), [
    ("[market\nreplication = 3\n", "not valid TOML: "),
    ("[[studies]]\nid = 'load'\n[[studies.questions]]\ntext = 'q'\nkind = 'choice'\noptions = ['a', 'b']\n",
     "studies: study ids must be unique (got ['load', 'load'])"),
    ("[[nodes]]\ncount = 1\nbehaviour = 'sleepy'\n", "nodes[1].behaviour: must be one of "),
])
def test_both_loaders_read_a_file_the_same_way(scenario_file: Callable[[str], Path], load: Callable[[Path], object],
                                               extra: str, message: str) -> None:
    """A scenario file and a load scenario file are read by one reader: the same error for the same mistake."""
    path = scenario_file(extra)
    with pytest.raises(ScenarioError) as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}: {message}")


@pytest.mark.parametrize("load", [load_scenario, load_load_scenario], ids=["scenario", "load scenario"])
def test_a_missing_file_raises_scenario_error(tmp_path: Path, load: Callable[[Path], object]) -> None:
    """A missing file raises ScenarioError naming the file, from either loader."""
    with pytest.raises(ScenarioError) as caught:
        load(tmp_path / "absent.toml")
    assert str(caught.value) == f"{tmp_path / 'absent.toml'}: no such scenario file"


def test_the_devnet_limits_the_settings_check_are_the_devnets_own() -> None:
    """The funders and balances the fund rule assumes are the embedded devnet's, and the TaskMarket's limits its own."""
    from cipherquorum.chain.gas import MAX_BATCH_GAS, GasTable
    from cipherquorum.devnet.backend import FUNDER_BALANCE_WEI, FUNDER_COUNT
    from cipherquorum.settings import scenario

    assert (scenario.DEVNET_FUNDERS, scenario.DEVNET_FUNDER_BALANCE_WEI) == (FUNDER_COUNT, FUNDER_BALANCE_WEI)
    source = (Path(__file__).parents[2] / "contracts" / "TaskMarket.sol").read_text(encoding="utf-8")
    assert f"MAX_NODES = {scenario.MAX_NODES};" in source
    assert "MAX_PRICE_WEI = type(uint96).max;" in source and scenario.MAX_PRICE_WEI == 2**96 - 1
    assert "stakeWei: _toUint96(msg.value)" in source and scenario.MAX_STAKE_WEI == 2**96 - 1
    assert "uint64 exitCooldownS_" in source and scenario.MAX_COOLDOWN_S == 2**64 - 1
    largest_single = GasTable().limit("createTask", (16,), nodes=256)  # matching a replication of 16 among 256 nodes
    assert max(largest_single, MAX_BATCH_GAS) * 3 * 10**9 <= scenario.TX_GAS_RESERVE_WEI
