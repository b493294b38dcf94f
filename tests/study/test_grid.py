"""The [sweep] table: the grid it spans, read strictly, with overrides from the command line."""
from __future__ import annotations

from pathlib import Path

import pytest

from cipherquorum.exceptions import ScenarioError
from cipherquorum.protocol import BehaviourName
from cipherquorum.study import load_sweep, parse_override, parse_sweep
from cipherquorum.study.grid import build_registry

POE_SWEEP = Path(__file__).resolve().parents[2] / "scenarios" / "poe_sweep.toml"


def test_poe_sweep_covers_r_1_to_7_with_majority_quorums_at_10000_trials() -> None:
    """scenarios/poe_sweep.toml runs in contract mode; its largest line spans r = 1..7 with majority quorums and a
    byzantine share from 0 to 0.5, with at least 10,000 trials a point."""
    config = load_sweep(POE_SWEEP)
    largest = max(config.lines, key=lambda line: line.size)
    assert config.mode == "contract"
    assert largest.pairs == tuple((r, r // 2 + 1) for r in range(1, 8))
    assert min(largest.byzantine_shares) == 0.0 and max(largest.byzantine_shares) == 0.5
    assert largest.trials >= 10_000
    assert set(largest.kinds) == {BehaviourName.COLLUDING, BehaviourName.WRONG}


def _sweep(**keys) -> dict:
    return {"sweep": {"replication": [3], "byzantine_share": [0.2], **keys}}


@pytest.mark.parametrize(("document", "message"), [
    ({}, "needs a \\[sweep\\] table"),
    ({"sweep": {}, "run": {}}, "top level: unknown field"),
    (_sweep(mode="fast"), "sweep.mode: must be one of contract, real"),
    (_sweep(replication=[0]), "sweep.replication\\[0\\]: must be >= 1"),
    (_sweep(replication=[17]), "sweep.replication\\[0\\]: must be <= 16"),
    (_sweep(replication=[5], nodes=4), "sweep.replication\\[0\\]: must be <= 4"),
    (_sweep(replication=[]), "sweep.replication: must not be an empty array"),
    (_sweep(quorum=[1]), "sweep.quorum\\[0\\]: must be a majority of replication 3"),
    (_sweep(quorum=[2, 2]), "sweep.quorum: must be majority, unanimous, or one quorum per replication"),
    (_sweep(quorum="most"), "sweep.quorum: must be one of majority, unanimous"),
    (_sweep(byzantine_share=[1.5]), "sweep.byzantine_share\\[0\\]: must be in \\[0, 1\\]"),
    (_sweep(byzantine_kind=["lazy"]), "sweep.byzantine_kind\\[0\\]: must be one of wrong, colluding"),
    (_sweep(share_by=["weight"]), "sweep.share_by\\[0\\]: must be one of count, stake"),
    (_sweep(stakes=["pareto"]), "sweep.stakes\\[0\\]: must be one of equal, linear, lognormal"),
    (_sweep(trials=0), "sweep.trials: must be >= 1"),
    (_sweep(stake_wei="0.01 ether"), "sweep.stake_wei: must be >= min_stake_wei and slash_wei"),
    (_sweep(reward_per_node_wei=0), "sweep.reward_per_node_wei: must be > 0"),
    (_sweep(speed=3), "sweep: unknown field\\(s\\): speed"),
    (_sweep(grid=[{"name": "a", "replicas": [3]}]), "sweep.grid\\[0\\]: unknown field\\(s\\): replicas"),
    (_sweep(grid=[{"name": "a"}, {"name": "a"}]), "sweep.grid: grid line names must differ"),
    (_sweep(grid=[{"trials": -1}]), "sweep.grid\\[0\\].trials: must be >= 1"),
])
def test_invalid_sweep_tables_are_refused_naming_the_field(document, message) -> None:
    """Each invalid [sweep] table is refused with a ScenarioError naming the file, the field and the value."""
    with pytest.raises(ScenarioError, match=message):
        parse_sweep(document, "sweep.toml")


def test_grid_lines_inherit_the_sweep_keys_and_overrides_reach_every_line() -> None:
    """A grid line takes the [sweep] table's keys as defaults; an override replaces a key in every line."""
    document = {"sweep": {"trials": 50, "replication": [3, 5], "byzantine_share": [0.1],
                          "grid": [{"name": "a"}, {"name": "b", "trials": 7, "quorum": "unanimous"}]}}
    config = parse_sweep(document, "sweep.toml")
    assert [line.trials for line in config.lines] == [50, 7]
    assert config.lines[1].pairs == ((3, 3), (5, 5))
    overridden = parse_sweep(document, "sweep.toml", [("trials", 3), ("byzantine_share", [0.0, 0.5])])
    assert [line.trials for line in overridden.lines] == [3, 3]
    assert [line.byzantine_shares for line in overridden.lines] == [(0.0, 0.5), (0.0, 0.5)]
    assert overridden.size == 2 * 2 * 2


@pytest.mark.parametrize(("text", "parsed"), [
    ("trials=500", ("trials", 500)),
    ("byzantine_share=[0.1, 0.2]", ("byzantine_share", [0.1, 0.2])),
    ("mode=contract", ("mode", "contract")),
    (' seeds = ["a", "b"] ', ("seeds", ["a", "b"])),
])
def test_overrides_read_their_value_as_toml_or_else_as_text(text, parsed) -> None:
    """An override is key=value; the value is read as TOML, and a bare word as a string."""
    assert parse_override(text) == parsed


@pytest.mark.parametrize("text", ["trials", "=3", ""])
def test_overrides_without_a_key_are_refused(text) -> None:
    """An override needs a key and an "="; the error shows what was given."""
    with pytest.raises(ScenarioError, match="key=value"):
        parse_override(text)


@pytest.mark.parametrize(("stakes", "share_by", "share"), [
    ("equal", "count", 0.3), ("linear", "count", 0.25), ("linear", "stake", 0.3), ("lognormal", "stake", 0.2),
])
def test_registries_hold_the_byzantine_share_they_are_asked_for(stakes, share_by, share) -> None:
    """By count the byzantine nodes are round(share x nodes); by stake they hold close to that share of stake."""
    registry = build_registry(20, stakes, 2 * 10**18, share, share_by, "grid-tests")
    if share_by == "count":
        assert registry.byzantine_count == round(share * 20)
    else:
        assert abs(registry.share_by_stake - share) < max(registry.stakes_wei) / sum(registry.stakes_wei)
    assert min(registry.stakes_wei) >= 2 * 10**18
    assert build_registry(20, stakes, 2 * 10**18, share, share_by, "grid-tests") == registry
