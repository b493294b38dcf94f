"""The federated learning workflow (seed 004): owners' encrypted updates summed on the market, round by round."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from cipherquorum.fhe import KeyNeeds
from cipherquorum.joint.contribution import Contribution
from cipherquorum.joint.data import OwnerShare, ShareSpec, features_schema, load_dataset, pooled, seed_of, split_shares
from cipherquorum.joint.federated import accuracy, average_from_sum, encode_update, scale_features, train_logistic
from cipherquorum.joint.schema import JointSchema
from cipherquorum.joint.settings import FederatedSettings
from cipherquorum.nodes.client import TaskSpec
from cipherquorum.nodes.workflows.context import WorkflowContext
from cipherquorum.nodes.workflows.joint_roles import start_analyst, start_owners
from cipherquorum.reports.run import WorkflowSection, text_table
from cipherquorum.types import ExecStatus

PROGRAM = "sum@1"
OWNER_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class RoundResult:
    """One round: the sum task, whether the decrypted sum equals the plaintext one, the model's test accuracy."""

    round: int
    task: int
    winners: int
    proof_block: int
    sum_equal: bool
    accuracy: float
    train_s: float
    market_s: float
    bytes_per_owner: int


def drive(settings: FederatedSettings, context: WorkflowContext) -> WorkflowSection:
    """Run ``settings.rounds`` FedAvg rounds: owners train and encrypt, the nodes sum, the key holder decrypts
    the sum only and averages; then compare each round's sum with the plaintext one and the accuracy with a
    model trained centrally on the pooled rows."""
    seed = seed_of(context.seed, settings.section)
    dataset = load_dataset(settings.dataset)
    schema = features_schema(dataset)
    terms = settings.terms
    shares, test = split_shares(dataset, settings.owners, seed, 0, settings.test_fraction)
    width = len(schema.columns) + 2  # the weights, the bias, the rows
    aggregator = start_analyst(context, settings.preset, KeyNeeds(), "aggregator", "the aggregation key holder")
    bundle_ref = aggregator.call("key_bundle_ref", timeout_s=OWNER_TIMEOUT_S)
    specs = [ShareSpec(settings.dataset, settings.owners, k, seed, 0, settings.test_fraction)
             for k in range(settings.owners)]
    owners = start_owners(context, specs, "federated")
    for call in [owner.submit("fetch_key", bundle_ref) for owner in owners]:  # started, with the key, untimed
        call.result(OWNER_TIMEOUT_S)
    x_test = scale_features(test.features, schema)

    weights = np.zeros(width - 1)
    rounds: list[RoundResult] = []
    for index in range(settings.rounds):
        job = f"{context.seed}/{settings.section}/round-{index}"
        start_s = time.monotonic()
        pending = [owner.submit("federated_update", job, schema, bundle_ref, weights.tolist(), terms, dataset.rows)
                   for owner in owners]
        contributions: list[Contribution] = [call.result(OWNER_TIMEOUT_S) for call in pending]
        train_s = time.monotonic() - start_s
        names = [c.owner for c in contributions]
        refs = aggregator.call("inputs_of", job, names, schema.digest())
        spec = TaskSpec(label=f"{settings.section}/round-{index}", program=PROGRAM, input_refs=tuple(refs),
                        params={"width": width}, key_bundle_ref=bundle_ref, preset=settings.preset)
        start_s = time.monotonic()
        (outcome,) = context.run_tasks(context.clients[0], [spec])
        market_s = time.monotonic() - start_s
        if not (outcome.proof_verified and outcome.status is ExecStatus.SUCCESS):
            return _failed(settings, rounds, index, outcome.detail or f"round {index}: no verified sum")
        summed: list[int] = aggregator.call("decrypt_aggregate", outcome, job, names, schema.digest())
        expected = _plain_sum(shares, weights, schema, settings)  # the checker's reference, from the same weights
        weights = average_from_sum(summed, terms)  # the key holder's average: the next round's global model
        rounds.append(RoundResult(index, outcome.task_id, len(outcome.winners), outcome.proof_block,
                                  summed == expected, accuracy(weights, x_test, test.target), train_s, market_s,
                                  context.stack.store.size(refs[0])))
    everyone = pooled(shares)
    central = train_logistic(np.zeros(width - 1), scale_features(everyone.features, schema), everyone.target,
                             terms, epochs=settings.rounds * terms.local_epochs)
    return _section(settings, rounds, accuracy(central, x_test, test.target), test.rows, everyone.rows)


def _plain_sum(shares: list[OwnerShare], weights: np.ndarray, schema: JointSchema,
               settings: FederatedSettings) -> list[int]:
    """What the decrypted sum must be: every owner's encoded update from ``weights``, trained in plaintext here."""
    updates = [encode_update(train_logistic(weights, scale_features(s.features, schema), s.target, settings.terms),
                             s.rows, settings.terms) for s in shares]
    return [sum(column) for column in zip(*updates)]


def _failed(settings: FederatedSettings, rounds: list[RoundResult], index: int, detail: str) -> WorkflowSection:
    data: dict[str, Any] = {"ok": False, "failed_round": index, "detail": detail,
                            "rounds": [r.__dict__ for r in rounds]}
    text = "\n".join(text_table("Federated learning", ["round", "detail"], [[str(index), detail]]))
    return WorkflowSection(settings.section, False, data, text)


def _section(settings: FederatedSettings, rounds: list[RoundResult], central_accuracy: float, test_rows: int,
             train_rows: int) -> WorkflowSection:
    ok = bool(rounds) and all(r.sum_equal for r in rounds)
    per_owner_s = [(r.train_s + r.market_s) / settings.owners for r in rounds]
    data: dict[str, Any] = {
        "ok": ok, "dataset": settings.dataset, "owners": settings.owners, "train_rows": train_rows,
        "test_rows": test_rows, "preset": settings.preset, "program": PROGRAM,
        "terms": settings.terms.__dict__, "central_accuracy": central_accuracy,
        "final_accuracy": rounds[-1].accuracy if rounds else None,
        "rounds": [{**r.__dict__, "train_s": round(r.train_s, 4), "market_s": round(r.market_s, 4)} for r in rounds],
        "round_s_per_owner": [round(s, 4) for s in per_owner_s],
    }
    table = [[str(r.round), str(r.task), f"{r.winners} @ {r.proof_block}", "yes" if r.sum_equal else "NO",
              f"{r.accuracy:.4f}", f"{central_accuracy:.4f}", f"{r.train_s:.2f}", f"{r.market_s:.2f}",
              f"{s:.2f}", f"{r.bytes_per_owner / 1e3:.0f}"] for r, s in zip(rounds, per_owner_s)]
    lines = text_table(f"Federated learning ({settings.owners} owners, {train_rows} training rows, "
                       f"{test_rows} test rows, FedAvg over {PROGRAM})",
                       ["round", "task", "proof", "sum exact", "accuracy", "central", "train s", "market s",
                        "s/owner", "kB/owner"], table)
    lines.append(f"verdict {'ok' if ok else 'MISMATCH'}: each round's decrypted sum "
                 f"{'equals' if ok else 'differs from'} the plaintext sum of the owners' fixed-point updates")
    return WorkflowSection(settings.section, ok, data, "\n".join(lines))
