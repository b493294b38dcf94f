"""The sweep's real mode: a grid point's trials on the full market give contract mode's assignments and outcomes."""
from __future__ import annotations

from pathlib import Path

import pytest

from cipherquorum.cli import EXIT_BAD_INPUT, main
from cipherquorum.exceptions import ValidationError
from cipherquorum.nodes.driver.sweep_real import real_trials
from cipherquorum.study import ContractTrials, MarketSetup, parse_sweep, run_sweep
from cipherquorum.study.contract import Trial
from cipherquorum.study.theory import Outcome

POINT = {"sweep": {"replication": [3], "quorum": 2, "byzantine_share": [0.4], "byzantine_kind": ["colluding"],
                   "nodes": 5, "trials": 6, "seeds": ["real-mode-1"], "slash_ratios": [0, 5]}}


@pytest.mark.slow
def test_real_mode_trials_match_contract_mode_task_by_task(ray_runtime, tmp_path: Path) -> None:
    """For one seed and registry, task t of the full market (Ray nodes running sum@1 under FHE, two of five
    colluding, slashed nodes restaking) is assigned the nodes contract mode's trial t is, and ends the same way;
    the real market's colluders win at least once and lose at least once over the seed's six draws."""
    config = parse_sweep(POINT, "real.toml")
    (point,) = list(config.points())
    setup = MarketSetup(point.seed, point.replication, point.quorum, point.kind, config.prices, config.min_stake_wei)
    real: list[Trial] = []
    tally = real_trials(point, setup, tmp_path / "market", on_trial=real.append)
    simulated: list[Trial] = []
    ContractTrials(point.registry, setup).run(point.trials, on_trial=simulated.append)
    assert [(t.task_id, t.assigned, t.outcome) for t in real] == [
        (t.task_id, t.assigned, t.outcome) for t in simulated]
    assert [t.slashed_wei for t in real] == [t.slashed_wei for t in simulated]
    assert tally.trials == 6 and tally.money["client_gas"] > 0 and tally.money["honest_gas"] > 0
    assert {t.outcome for t in real} == {Outcome.CORRECT, Outcome.WRONG}  # trial 2 draws both colluders


def test_real_mode_needs_the_market_driver_from_the_library() -> None:
    """The study library starts no roles: run_sweep in real mode without a trial runner says what to pass."""
    config = parse_sweep({"sweep": {**POINT["sweep"], "mode": "real"}}, "real.toml")
    with pytest.raises(ValidationError, match="run_trials"):
        run_sweep(config)


def test_real_mode_refuses_a_registry_too_large_for_one_process_per_node(tmp_path: Path, capsys) -> None:
    """`cipherquorum sweep --mode real` on 20 nodes exits 2 before starting anything, naming the limit."""
    sweep_file = tmp_path / "big.toml"
    sweep_file.write_text('[sweep]\nreplication = [3]\nnodes = 20\ntrials = 2\n', encoding="utf-8")
    assert main(["sweep", str(sweep_file), "--mode", "real", "--quiet", "--out", str(tmp_path / "out")]) \
        == EXIT_BAD_INPUT
    assert "at most 12" in capsys.readouterr().err
