"""Scenario files are read strictly: a broken file fails before anything starts, naming file, field and value."""
from __future__ import annotations

from pathlib import Path

import pytest

from cipherquorum.exceptions import ScenarioError
from cipherquorum.settings.scenario import load_scenario, parse_scenario, parse_wei

SCENARIOS = sorted((Path(__file__).parents[2] / "scenarios").glob("*.toml"))

MINIMAL = {
    "nodes": [{"count": 3}],
    "studies": [{"id": "s", "questions": [{"text": "q", "kind": "choice", "options": ["a", "b"]}]}],
}


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


@pytest.mark.parametrize(("document", "names"), [
    (_with(market__quorum=4), ["market.quorum", "quorum=4", "replication=3"]),
    (_with(market__quorum=1), ["market.quorum", "majority"]),
    (_with(market__replication="3"), ["market.replication", "'3'"]),
    (_with(market__replication=0), ["market.replication", ">= 1"]),
    (_with(market__colour="red"), ["market", "colour"]),
    (_with(nodes__behaviour="evil"), ["nodes[0].behaviour", "'evil'"]),
    (_with(nodes__count=1), ["nodes", "replication=3"]),
    (_with(nodes__stake_wei="lots"), ["nodes[0].stake_wei", "lots"]),
    (_with(nodes__stake_wei="0.1 ether"), ["nodes[0].stake_wei", "min_stake_wei"]),
    (_with(studies__questions=[]), ["studies[0].questions"]),
    (_with(studies__questions=[{"text": "q", "kind": "choice", "options": ["a"]}]),
     ["studies[0].questions[0].options", "2 options"]),
    (_with(studies__questions=[{"text": "q", "kind": "number", "min_value": 5, "max_value": 5}]),
     ["max_value", "min_value=5"]),
    (_with(studies__questions=[{"text": "q", "kind": "scale"}]), ["kind", "'scale'"]),
    (_with(market__time_limit_s=500), ["market.time_limit_s", "commit_window_s"]),
    (_with(population__shards=True), ["population.shards", "True"]),
    ({"nodes": [{"count": 3}]}, ["studies"]),
    ({**MINIMAL, "extra": 1}, ["unknown field", "extra"]),
])
def test_invalid_scenario_names_field_and_value(document: dict, names: list[str]) -> None:
    """Each invalid field raises ScenarioError whose message names the file, the field and the value."""
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(document, "broken.toml")
    message = str(caught.value)
    assert "broken.toml" in message
    for name in names:
        assert name in message


def test_missing_and_malformed_files_raise_scenario_error(tmp_path: Path) -> None:
    """A missing file and a file that is not TOML both raise ScenarioError naming the file."""
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[market\nreplication = 3\n")
    with pytest.raises(ScenarioError, match="bad.toml: not valid TOML"):
        load_scenario(bad)


@pytest.mark.parametrize(("text", "wei"), [
    (5, 5), ("5", 5), ("1 ether", 10**18), ("0.5 ether", 5 * 10**17), ("20 gwei", 20 * 10**9), ("3 wei", 3),
])
def test_wei_amounts_parse(text: object, wei: int) -> None:
    """Amounts of wei are integers or strings with a unit."""
    assert parse_wei(text) == wei


@pytest.mark.parametrize("text", [-1, "1 bitcoin", "x ether", "0.5 wei", True, 1.5])
def test_bad_wei_amounts_are_rejected(text: object) -> None:
    """Negative, fractional, unit-less garbage and non-numbers are rejected."""
    with pytest.raises(ValueError):
        parse_wei(text)
