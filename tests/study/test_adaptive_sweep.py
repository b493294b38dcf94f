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
from cipherquorum.reports.sweep import NO_THEORY, adaptive_pairs, csv_row, render_sweep_html, render_text, sweep_json
from cipherquorum.study import ContractTrials, MarketSetup, Registry, parse_sweep, run_sweep
from cipherquorum.study.theory import Outcome, adaptive_odds, byzantine_count_odds, outcome_odds, wilson_interval

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
    expected = adaptive_odds(registry, 3, 5, 3, kind).mean_replicas
    spread = (sum((n - tally.mean_replicas) ** 2 for n in seen) / len(seen)) ** 0.5
    assert abs(tally.mean_replicas - expected) < 4 * spread / len(seen) ** 0.5  # four standard errors
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


def test_adaptive_theory_is_exact_on_a_case_counted_by_hand(equal_registry: Callable[[int, int], Registry]) -> None:
    """4 equal nodes, 1 byzantine, r 2..3, q=2: half the first pairs hold the byzantine node and take a third
    replica, so 2.5 replicas a task; one byzantine node never makes a quorum of 2."""
    for kind in (BehaviourName.COLLUDING, BehaviourName.WRONG):
        theory = adaptive_odds(equal_registry(4, 1), 2, 3, 2, kind)
        assert theory.mean_replicas == pytest.approx(2.5)
        assert theory.odds.correct == pytest.approx(1.0)


@pytest.mark.parametrize(("replication", "max_replication", "quorum", "kind", "fixed"), [
    (3, 5, 3, BehaviourName.COLLUDING, 5), (3, 5, 3, BehaviourName.WRONG, 5), (4, 7, 4, BehaviourName.WRONG, 7),
    (3, 7, 3, BehaviourName.COLLUDING, 5), (2, 2, 2, BehaviourName.COLLUDING, 2),
])
def test_adaptive_odds_equal_fixed_replication_where_the_first_pair_to_the_quorum_is_a_fixed_majority(
    equal_registry: Callable[[int, int], Registry], replication: int, max_replication: int, quorum: int,
    kind: BehaviourName, fixed: int,
) -> None:
    """With q above half of r_max the adaptive odds are fixed r_max's; with colluders and a lower q they are the
    first 2q - 1 draws'; the mean replicas lie between r_min and r_max."""
    registry = equal_registry(20, 6)
    theory = adaptive_odds(registry, replication, max_replication, quorum, kind)
    expected = outcome_odds(byzantine_count_odds(registry, fixed)[fixed], fixed, quorum, kind)
    for outcome in Outcome:
        assert theory.odds.of(outcome) == pytest.approx(expected.of(outcome))
    assert replication <= theory.mean_replicas <= max_replication


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


def test_the_report_sets_adaptive_beside_fixed_with_theory_and_measured_replicas() -> None:
    """A sweep with an adaptive line (r 3..7, unanimous q=3) and fixed r=3 and r=7: every adaptive point has
    outcome theory and expected replicas (judged like the fixed ones) but no economics theory, which the report
    says; the text and JSON compare each adaptive point with the fixed ones."""
    config = parse_sweep(_lines(
        {"name": "adaptive", "adaptive": True, "replication": [3], "max_replication": [7], "quorum": "unanimous",
         "byzantine_kind": ["colluding", "wrong"]},
        {"name": "fixed", "replication": [3, 7], "byzantine_kind": ["colluding", "wrong"]}), "mix.toml")
    sweep = run_sweep(config)
    adaptive = [result for result in sweep.points if result.point.max_replication is not None]
    assert all(result.theory is not None and result.economics_theory is None for result in adaptive)
    assert sweep.judged_points == len(sweep.points)
    for result in adaptive:
        assert result.theory_mean_replicas is not None and abs(result.mean_replicas - result.theory_mean_replicas) < 1
    pairs = adaptive_pairs(sweep)
    assert len(pairs) == 4 and {fixed.point.replication for _, fixed in pairs} == {3, 7}
    text = render_text(sweep)
    assert "adaptive against fixed replication" in text and "measured, for adaptive points" in text
    document = sweep_json(sweep)
    assert document["summary"]["judged"] == 2 * len(sweep.points)
    assert len(document["adaptive_against_fixed"]) == 4
    assert document["points"][0]["economics"]["theory"] is None
    row = csv_row(adaptive[1])
    assert row["theory_client_cost_wei"] == "" and row["max_replication"] == 7 and row["theory_mean_replicas"] > 3
    assert NO_THEORY in render_sweep_html(sweep)


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
