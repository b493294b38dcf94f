"""Scenario files are read strictly: a broken file fails before anything starts, naming file, field and value."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cipherquorum.exceptions import ScenarioError
from cipherquorum.protocol import BEHAVIOUR_NAMES, MAX_WINDOW_S
from cipherquorum.settings.load import load_load_scenario
from cipherquorum.settings.scenario import load_scenario, parse_scenario

SCENARIOS = sorted((Path(__file__).parents[2] / "scenarios").glob("*.toml"))

MINIMAL = {
    "nodes": [{"count": 3}],
    "studies": [{"id": "s", "questions": [{"text": "q", "kind": "choice", "options": ["a", "b"]}]}],
}
TOP_KEYS = "chain, fhe, market, nodes, population, run, studies"


def _with(**changes: object) -> dict:
    document = {key: value for key, value in MINIMAL.items()}
    for path, value in changes.items():
        section, _, key = path.partition("__")
        if section in ("nodes", "studies"):
            document[section] = [dict(document[section][0], **{key: value})]
        else:
            document[section] = dict(document.get(section, {}), **{key: value})
    return document


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_shipped_scenario_is_valid(path: Path) -> None:
    """Every scenario in scenarios/ loads without error."""
    scenario = load_scenario(path)
    assert scenario.node_count >= scenario.market.replication


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
    (_with(fhe__preset="nope"), "fhe.preset: No FHE preset is named 'nope' (known: bfv-2048, bfv-8192, ckks-8192)"),
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
