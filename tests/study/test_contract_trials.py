"""Contract-mode trials: the TaskMarket bytecode decides each trial, and its counts agree with theory."""
from __future__ import annotations

import pytest

from cipherquorum.chain.errors import AlreadyCommitted, InvalidQuorum
from cipherquorum.exceptions import ValidationError
from cipherquorum.protocol import BehaviourName, compute_seal
from cipherquorum.study import (
    MarketSetup,
    Outcome,
    Registry,
    byzantine_count_odds,
    contract,
    outcome_odds,
    wilson_interval,
)
from cipherquorum.study.contract import TRUE_RESULT, ContractTrials, salt_of

COLLUDING, WRONG = BehaviourName.COLLUDING, BehaviourName.WRONG


@pytest.mark.parametrize(("replication", "quorum", "kind", "byzantine"), [
    (5, 3, COLLUDING, 6),
    (3, 2, WRONG, 8),
])
def test_simulation_falls_inside_the_theorys_wilson_interval(equal_registry, trials_for, replication, quorum,
                                                              kind, byzantine) -> None:
    """Over 3000 trials, theory's P(wrong accepted) and P(no consensus) lie inside the simulation's 95% interval."""
    registry = equal_registry(20, byzantine)
    tally = trials_for(registry, replication, quorum, kind).run(3000)
    theory = outcome_odds(byzantine_count_odds(registry, replication)[replication], replication, quorum, kind)
    for outcome in (Outcome.WRONG, Outcome.NO_CONSENSUS):
        interval = wilson_interval(tally.outcomes[outcome], tally.trials)
        assert interval.contains(theory.of(outcome)), (outcome, theory.of(outcome), interval)


def test_simulated_byzantine_counts_follow_the_exact_draw(equal_registry, trials_for) -> None:
    """How many byzantine replicas each trial drew matches the exact odds of each count (within 95% intervals)."""
    registry = equal_registry(20, 10)
    tally = trials_for(registry, 5, 3, COLLUDING).run(1000)
    for count, chance in enumerate(byzantine_count_odds(registry, 5)[5]):
        assert wilson_interval(tally.byzantine_histogram[count], tally.trials).contains(chance), count


def test_no_wrong_result_is_accepted_while_byzantine_replicas_are_below_quorum(equal_registry, trials_for) -> None:
    """Across 3000 trials in which every task's byzantine replicas are fewer than its quorum, none accepts a wrong
    result, whatever the kind and the byzantine share."""
    below = wrong = 0
    for replication, byzantine, kind in ((3, 10, COLLUDING), (5, 10, COLLUDING), (4, 6, WRONG), (7, 8, COLLUDING)):
        tally = trials_for(equal_registry(20, byzantine), replication, replication // 2 + 1, kind).run(750)
        below += tally.below_quorum_trials
        wrong += tally.wrong_below_quorum
        assert tally.outcomes[Outcome.WRONG] > 0 or kind is WRONG  # wrong results do win above the quorum
    assert below >= 2000
    assert wrong == 0


def test_the_same_seed_repeats_trials_and_another_seed_differs(equal_registry, trials_for) -> None:
    """Trials draw from the seed's prevrandao and the task id: the same seed repeats them, another does not."""
    registry = equal_registry(12, 4)
    first = [trial.assigned for trial in _trials(trials_for(registry, 3, 2, COLLUDING), 20)]
    again = [trial.assigned for trial in _trials(trials_for(registry, 3, 2, COLLUDING), 20)]
    other = [trial.assigned for trial in _trials(trials_for(registry, 3, 2, COLLUDING, seed="another"), 20)]
    assert first == again
    assert [len(set(nodes)) for nodes in first] == [3] * 20
    assert [sorted(registry_index(trials_for, registry, nodes)) for nodes in first] != \
        [sorted(registry_index(trials_for, registry, nodes, seed="another")) for nodes in other]


def registry_index(trials_for, registry, nodes, seed: str = "study-tests") -> list[int]:
    """The registration indices of ``nodes`` in the market of ``seed`` (addresses differ between seeds)."""
    order = trials_for(registry, 3, 2, COLLUDING, seed=seed).nodes
    return [order.index(node) for node in nodes]


def _trials(trials: ContractTrials, count: int) -> list:
    seen: list = []
    trials.run(count, on_trial=seen.append)
    return seen


def test_payouts_keep_the_contracts_liabilities_equal_to_its_ether(equal_registry, trials_for) -> None:
    """After many settled trials with slashes and top-ups, stakes + escrows + withdrawable equal the contract's ether,
    and every node's stake is back where it registered."""
    registry = equal_registry(10, 4)
    trials = trials_for(registry, 5, 3, COLLUDING)
    tally = trials.run(300)
    assert tally.outcomes[Outcome.WRONG] and tally.outcomes[Outcome.CORRECT]
    market = trials.market
    (liabilities,) = market.view("liabilitiesWei")
    assert liabilities == market.balance_wei(market.address)
    for node, stake in zip(trials.nodes, registry.stakes_wei):
        assert market.view("getNode", (node,))[0][0] == stake


def test_the_fast_seal_is_the_protocols_seal(equal_registry, trials_for) -> None:
    """The seal a contract-mode replica commits equals protocol.compute_seal for its result, status and salt."""
    trials = trials_for(equal_registry(6, 0), 3, 2, COLLUDING)
    node = trials.nodes[2]
    salt = salt_of(node)
    for task_id in (1, 2, 255, 2**40):
        assert trials.seal(task_id, node) == compute_seal(task_id, TRUE_RESULT, 0, node, salt)


def test_a_revert_in_the_evm_becomes_the_contracts_error(equal_registry, trials_for) -> None:
    """A call the contract refuses raises its own error class, with the decoded arguments in the message."""
    trials = trials_for(equal_registry(6, 0), 3, 2, COLLUDING)
    market = trials.market
    client, node = trials.nodes[0], trials.nodes[1]
    with pytest.raises(InvalidQuorum, match="quorum=1"):
        market.transact_function(client, "createTask", (bytes(32), bytes(32), 3, 1, 600, 600, 60), 3 * 10**16)
    trial = trials.run_trial()
    (task_id,) = market.transact_function(client, "createTask", (bytes(32), bytes(32), 3, 2, 600, 600, 60), 3 * 10**16)
    assigned = market.view("getAssignment", (task_id,))[0]
    market.transact_function(assigned[0], "commit", (task_id, bytes(32)))
    with pytest.raises(AlreadyCommitted):
        market.transact_function(assigned[0], "commit", (task_id, bytes(32)))
    assert trial.outcome is Outcome.CORRECT and node in trials.nodes


@pytest.mark.parametrize(("overrides", "message"), [
    ({"stakes": (10**16,) * 6}, "max\\(min_stake, slash\\)"),
    ({"replication": 7}, "replication"),
])
def test_points_the_contract_could_never_match_are_refused(prices, overrides, message) -> None:
    """A stake below the slash or the minimum, or more replicas than nodes, is refused before any trial."""
    registry = Registry(overrides.get("stakes", (2 * 10**18,) * 6), (False,) * 6)
    setup = MarketSetup("study-tests", overrides.get("replication", 3), 2 if "replication" not in overrides else 4,
                        COLLUDING, prices, 10**18)
    with pytest.raises(ValidationError, match=message):
        ContractTrials(registry, setup)


def test_rebuilding_the_market_bounds_the_evm_journal_and_changes_no_trial(equal_registry, trials_for,
                                                                           monkeypatch) -> None:
    """A market rebuilt every 40 trials continues the task ids, so its trials equal an unrebuilt market's, and the
    EVM's journal stops growing with the trials."""
    registry = equal_registry(10, 4)
    monkeypatch.setattr(contract, "REBUILD_TRIALS", 10**9)
    kept = trials_for(registry, 5, 3, COLLUDING)
    unrebuilt = _trials(kept, 130)
    monkeypatch.setattr(contract, "REBUILD_TRIALS", 40)
    rebuilt_runner = trials_for(registry, 5, 3, COLLUDING)
    rebuilt = _trials(rebuilt_runner, 130)
    assert [t.task_id for t in rebuilt] == list(range(1, 131))
    assert [(t.assigned, t.outcome, t.credited_wei, t.slashed_wei) for t in rebuilt] == \
        [(t.assigned, t.outcome, t.credited_wei, t.slashed_wei) for t in unrebuilt]
    assert rebuilt_runner.market.journal_length < kept.market.journal_length / 2
