"""Adaptive replication in contract mode: trials extend tasks on the contract and count the replicas they used,
the outcome odds match theory's equivalent fixed replication, and the grid and the report carry adaptive lines."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cipherquorum.cli import EXIT_BAD_INPUT, EXIT_OK, main
from cipherquorum.exceptions import ScenarioError, ValidationError
from cipherquorum.protocol import BehaviourName
from cipherquorum.reports.sweep import NO_THEORY, adaptive_pairs, csv_row, render_text, sweep_json
from cipherquorum.study import ContractTrials, MarketSetup, Registry, parse_sweep, run_sweep
from cipherquorum.study.theory import (
    Outcome,
    adaptive_equivalent_replication,
    byzantine_count_odds,
    outcome_odds,
    wilson_interval,
)

MIN_STAKE_WEI = 10**18


@pytest.mark.parametrize("kind", [BehaviourName.COLLUDING, BehaviourName.WRONG])
def test_adaptive_trials_extend_on_the_contract_and_match_fixed_replication_at_r_max(
    equal_registry: Callable[[int, int], Registry], prices, kind: BehaviourName,
) -> None:
    """r_min=3, r_max=5, q=3 with 6 of 20 nodes byzantine: every trial uses 3 to 5 replicas (5 only after a
    dissent), fewer than 5 on average, and P(wrong) and P(no consensus) lie in the Wilson interval around fixed
    replication's at r=5, q=3, as theory says they must."""
    registry = equal_registry(20, 6)
    trials = ContractTrials(registry, MarketSetup("adaptive-tests", 3, 3, kind, prices, MIN_STAKE_WEI, 5))
    seen: list[int] = []
    tally = trials.run(300, on_trial=lambda trial: seen.append(trial.replicas))
    assert set(seen) <= {3, 4, 5} and 3 in seen and (4 in seen or 5 in seen)
    assert tally.replicas == sum(seen) and 3 < tally.mean_replicas < 5
    theory = outcome_odds(byzantine_count_odds(registry, 5)[5], 5, 3, kind)
    for outcome in (Outcome.WRONG, Outcome.NO_CONSENSUS):
        assert wilson_interval(tally.outcomes.get(outcome, 0), tally.trials).contains(theory.of(outcome))
    assert tally.money["escrow_wei"] == 300 * 5 * prices.reward_per_node_wei


def test_a_trial_without_dissent_uses_r_min_and_is_refunded_the_unused_seats(
    equal_registry: Callable[[int, int], Registry], prices,
) -> None:
    """With no byzantine node every task completes at r_min=2 and the client gets the 5 unused seats back."""
    trials = ContractTrials(equal_registry(10, 0), MarketSetup("adaptive-tests", 2, 2, BehaviourName.WRONG, prices,
                                                                MIN_STAKE_WEI, 7))
    tally = trials.run(20)
    assert tally.mean_replicas == 2 and tally.outcomes[Outcome.CORRECT] == 20
    assert tally.money["refund_wei"] == 20 * 5 * prices.reward_per_node_wei


@pytest.mark.parametrize(("max_replication", "nodes", "message"), [
    (2, 10, "max_replication=2, replication=3"), (17, 20, "max_replication=17"), (8, 6, "registered nodes"),
])
def test_an_impossible_adaptive_setup_is_refused(
    equal_registry: Callable[[int, int], Registry], prices, max_replication: int, nodes: int, message: str,
) -> None:
    """r_max below r_min, above MAX_REPLICATION or above the registry is refused, naming the field."""
    with pytest.raises(ValidationError, match=message):
        ContractTrials(equal_registry(nodes, 0), MarketSetup("adaptive-tests", 3, 2, BehaviourName.WRONG, prices,
                                                             MIN_STAKE_WEI, max_replication))


@pytest.mark.parametrize(("max_replication", "quorum", "kind", "equivalent"), [
    (5, 3, BehaviourName.COLLUDING, 5), (5, 3, BehaviourName.WRONG, 5), (7, 3, BehaviourName.COLLUDING, 5),
    (7, 3, BehaviourName.WRONG, None), (3, 2, BehaviourName.WRONG, 3),
])
def test_theory_gives_adaptive_odds_only_where_a_fixed_replication_has_the_same(
    max_replication: int, quorum: int, kind: BehaviourName, equivalent: int | None,
) -> None:
    """A quorum above half of r_max: fixed r_max; a lower one with colluders: 2q - 1; else no theory."""
    assert adaptive_equivalent_replication(max_replication, quorum, kind) == equivalent


def _lines(*lines: dict) -> dict:
    return {"sweep": {"nodes": 12, "byzantine_share": [0.25], "trials": 80, "grid": list(lines)}}


def test_an_adaptive_line_reads_r_min_r_max_and_a_majority_of_r_max() -> None:
    """adaptive = true with replication [2, 3] and max_replication [3, 5]: quorums 2 and 3 (majorities of r_max)."""
    config = parse_sweep(_lines({"name": "a", "adaptive": True, "replication": [2, 3], "max_replication": [3, 5]}),
                         "a.toml")
    (line,) = config.lines
    assert line.adaptive and line.pairs == ((2, 2), (3, 3)) and line.max_replications == (3, 5)
    labels = [point.label for point in config.points()]
    assert labels[0].startswith("a/r2-3q2/") and labels[1].startswith("a/r3-5q3/")


@pytest.mark.parametrize(("line", "message"), [
    ({"adaptive": True, "replication": [3]}, "max_replication: is required"),
    ({"adaptive": True, "replication": [3], "max_replication": [2]}, "max_replication\\[0\\]: must be >= replication"),
    ({"adaptive": True, "replication": [3], "max_replication": [7]}, "replication\\[0\\]: an adaptive majority"),
    ({"adaptive": True, "replication": [2, 3], "max_replication": [3, 5, 7]}, "one value or one per replication"),
    ({"replication": [3], "max_replication": 5}, "max_replication: needs adaptive = true"),
])
def test_a_bad_adaptive_line_is_refused_naming_the_field(line: dict, message: str) -> None:
    """Missing or impossible r_max, a majority r_min cannot reach, or r_max on a fixed line: ScenarioError."""
    with pytest.raises(ScenarioError, match=message):
        parse_sweep(_lines({"name": "bad", **line}), "bad.toml")


def test_the_report_sets_adaptive_beside_fixed_and_says_no_theory_where_there_is_none() -> None:
    """A sweep with an adaptive line (r 3..7, unanimous q=3) and fixed r=3 and r=7: the text and JSON show mean
    replicas and compare each adaptive point with the fixed ones; independent wrong nodes there have no theory,
    are not judged, and the report says so."""
    config = parse_sweep(_lines(
        {"name": "adaptive", "adaptive": True, "replication": [3], "max_replication": [7], "quorum": "unanimous",
         "byzantine_kind": ["colluding", "wrong"]},
        {"name": "fixed", "replication": [3, 7], "byzantine_kind": ["colluding", "wrong"]}), "mix.toml")
    sweep = run_sweep(config)
    adaptive = [result for result in sweep.points if result.point.max_replication is not None]
    assert [result.theory is None for result in adaptive] == [False, True]  # colluding: 2q-1 = 5; wrong: none
    assert sweep.judged_points == len(sweep.points) - 1
    assert all(3 <= result.mean_replicas <= 7 for result in adaptive)
    pairs = adaptive_pairs(sweep)
    assert len(pairs) == 4 and {fixed.point.replication for _, fixed in pairs} == {3, 7}
    text = render_text(sweep)
    assert NO_THEORY in text and "adaptive against fixed replication" in text
    assert "1 adaptive points without theory not judged" in text
    document = sweep_json(sweep)
    assert document["summary"]["judged"] == 2 * sweep.judged_points
    assert len(document["adaptive_against_fixed"]) == 4
    row = csv_row(adaptive[1])
    assert row["theory_wrong"] == "" and row["agrees"] == NO_THEORY and row["max_replication"] == 7


def test_a_real_mode_sweep_refuses_an_adaptive_line() -> None:
    """Real mode runs fixed replication only: an adaptive line is refused before anything runs."""
    config = parse_sweep({"sweep": {"mode": "real", "nodes": 6, "grid": [
        {"name": "a", "adaptive": True, "replication": [2], "max_replication": [3]}]}}, "real.toml")
    with pytest.raises(ValidationError, match="contract mode only"):
        run_sweep(config, run_trials=lambda point, setup: None)  # type: ignore[arg-type,return-value]


def test_the_sweep_command_runs_only_the_named_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--line NAME` keeps the named grid lines (an unknown name exits 2 naming the lines there are)."""
    sweep_file = tmp_path / "lines.toml"
    sweep_file.write_text('[sweep]\nnodes = 8\nbyzantine_share = [0.25]\ntrials = 20\n'
                          '[[sweep.grid]]\nname = "fixed"\nreplication = [5]\n'
                          '[[sweep.grid]]\nname = "adaptive"\nadaptive = true\nreplication = [3]\n'
                          'max_replication = 5\n', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["sweep", str(sweep_file), "--line", "adaptive", "--quiet", "--out", str(out)]) == EXIT_OK
    document = json.loads((out / "sweep.json").read_text())
    assert [(p["line"], p["replication"], p["max_replication"]) for p in document["points"]] == [("adaptive", 3, 5)]
    assert main(["sweep", str(sweep_file), "--line", "nosuch", "--quiet", "--out", str(out)]) == EXIT_BAD_INPUT
    assert "no grid line is named 'nosuch' (lines: fixed, adaptive)" in capsys.readouterr().err
