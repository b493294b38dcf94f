"""The federated learning workflow (seed 004): owners' masked, encrypted updates summed on the market, by round."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from cipherquorum.fhe import KeyNeeds, SecretKeyOwner
from cipherquorum.joint.contribution import Contribution
from cipherquorum.joint.data import OwnerShare, ShareSpec, features_schema, load_dataset, pooled, seed_of, split_shares
from cipherquorum.joint.federated import accuracy, average_from_sum, encode_update, scale_features, train_logistic
from cipherquorum.joint.schema import JointSchema
from cipherquorum.joint.settings import FederatedSettings
from cipherquorum.nodes.analyst import Analyst
from cipherquorum.nodes.client import TaskSpec
from cipherquorum.nodes.data_owner import DataOwner
from cipherquorum.nodes.hosting import ActorHost
from cipherquorum.nodes.workflows.context import WorkflowContext
from cipherquorum.nodes.workflows.joint_roles import start_analyst, start_owners
from cipherquorum.reports.probes import Probe, probe_rows, run_probes
from cipherquorum.reports.run import WorkflowSection, text_table
from cipherquorum.types import BlobId, ExecStatus

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
    """Run ``settings.rounds`` FedAvg rounds: owners train, add their pairwise masks and encrypt, the nodes sum
    (the masks cancel), the key holder decrypts the sum only, checks it and averages; then compare each round's
    sum with the plaintext one and the accuracy with a model trained centrally on the pooled rows."""
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
    roster: list[str] = [call.result(OWNER_TIMEOUT_S) for call in
                         [owner.submit("publish_masking_key") for owner in owners]]
    x_test = scale_features(test.features, schema)

    weights = np.zeros(width - 1)
    rounds: list[RoundResult] = []
    for index in range(settings.rounds):
        job = f"{context.seed}/{settings.section}/round-{index}"
        start_s = time.monotonic()
        pending = [owner.submit("federated_update", job, schema, bundle_ref, weights.tolist(), terms, dataset.rows,
                                roster) for owner in owners]
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
        summed: list[int] = aggregator.call("decrypt_update", outcome, job, names, schema.digest(), terms,
                                            dataset.rows)
        expected = _plain_sum(shares, weights, schema, settings)  # the checker's reference, from the same weights
        weights = average_from_sum(summed, terms)  # the key holder's average: the next round's global model
        rounds.append(RoundResult(index, outcome.task_id, len(outcome.winners), outcome.proof_block,
                                  summed == expected, accuracy(weights, x_test, test.target), train_s, market_s,
                                  context.stack.store.size(refs[0])))
    everyone = pooled(shares)
    central = train_logistic(np.zeros(width - 1), scale_features(everyone.features, schema), everyone.target,
                             terms, epochs=settings.rounds * terms.local_epochs)
    probes = _probe_bad_inputs(context, settings, schema, shares[0], aggregator, owners, bundle_ref, weights,
                               dataset.rows, roster) if settings.bad_inputs else []
    return _section(settings, rounds, accuracy(central, x_test, test.target), test.rows, everyone.rows, probes)


def _probe_bad_inputs(context: WorkflowContext, settings: FederatedSettings, schema: JointSchema,
                      share: OwnerShare, aggregator: ActorHost[Analyst], owners: list[ActorHost[DataOwner]],
                      bundle_ref: BlobId, weights: np.ndarray, max_rows: int, roster: list[str]) -> list[Probe]:
    """The bad inputs of a round: an owner's features out of range (a misbehaving owner, in the driver's
    process), a round too large for the plain modulus, an owner under another key. Each must be refused."""
    store = context.stack.store
    column = schema.columns[0]
    shifted = share.features.copy()
    shifted[0, 0] = column.high * 3
    outside = OwnerShare("owner-outside", shifted, share.target)
    foreign_ref = store.put(SecretKeyOwner.generate(settings.preset).bundle.to_bytes())
    job = f"{context.seed}/{settings.section}/probe"
    last = len(owners) - 1
    model = weights.tolist()

    def mismatched_keys() -> object:
        names = [owner.call("federated_update", f"{job}-keys", schema, foreign_ref if k == last else bundle_ref,
                            model, settings.terms, max_rows, roster).owner for k, owner in enumerate(owners)]
        return aggregator.call("inputs_of", f"{job}-keys", names, schema.digest())

    return run_probes([
        (f"{column.name} = {column.high * 3:g}, outside [{column.low:g}, {column.high:g}]", "OwnerDataError",
         lambda: DataOwner(store, outside).federated_update(f"{job}-outside", schema, bundle_ref, model,
                                                            settings.terms, max_rows, roster)),
        ("a round of 10,000,000 rows (its sum could wrap)", "PlainCapacityExceeded",
         lambda: owners[0].call("federated_update", f"{job}-big", schema, bundle_ref, model, settings.terms,
                                10_000_000, roster)),
        (f"owner-{last} encrypts under another key", "OwnerKeyMismatch", mismatched_keys),
    ])


def _plain_sum(shares: list[OwnerShare], weights: np.ndarray, schema: JointSchema,
               settings: FederatedSettings) -> list[int]:
    """What the decrypted sum must be: every owner's encoded update from ``weights``, trained in plaintext here."""
    updates = [encode_update(train_logistic(weights, scale_features(s.features, schema), s.target, settings.terms),
                             s.rows, settings.terms) for s in shares]
    return [sum(column) for column in zip(*updates)]


def _failed(settings: FederatedSettings, rounds: list[RoundResult], index: int, detail: str) -> WorkflowSection:
    data: dict[str, Any] = {"ok": False, "failed_round": index, "detail": detail,
                            "rounds": [asdict(r) for r in rounds]}
    text = "\n".join(text_table("Federated learning", ["round", "detail"], [[str(index), detail]]))
    return WorkflowSection(settings.section, False, data, text)


def _section(settings: FederatedSettings, rounds: list[RoundResult], central_accuracy: float, test_rows: int,
             train_rows: int, probes: list[Probe]) -> WorkflowSection:
    ok = bool(rounds) and all(r.sum_equal for r in rounds) and all(probe.ok for probe in probes)
    per_owner_s = [(r.train_s + r.market_s) / settings.owners for r in rounds]
    data: dict[str, Any] = {
        "ok": ok, "dataset": settings.dataset, "owners": settings.owners, "train_rows": train_rows,
        "test_rows": test_rows, "preset": settings.preset, "program": PROGRAM,
        "terms": asdict(settings.terms), "central_accuracy": central_accuracy,
        "final_accuracy": rounds[-1].accuracy if rounds else None,
        "rounds": [{**asdict(r), "train_s": round(r.train_s, 4), "market_s": round(r.market_s, 4)} for r in rounds],
        "round_s_per_owner": [round(s, 4) for s in per_owner_s],
        "probes": [{**asdict(probe), "ok": probe.ok} for probe in probes],
    }
    table = [[str(r.round), str(r.task), f"{r.winners} @ {r.proof_block}", "yes" if r.sum_equal else "NO",
              f"{r.accuracy:.4f}", f"{central_accuracy:.4f}", f"{r.train_s:.2f}", f"{r.market_s:.2f}",
              f"{s:.2f}", f"{r.bytes_per_owner / 1e3:.0f}"] for r, s in zip(rounds, per_owner_s)]
    lines = text_table(f"Federated learning ({settings.owners} owners, {train_rows} training rows, "
                       f"{test_rows} test rows, FedAvg over {PROGRAM})",
                       ["round", "task", "proof", "sum exact", "accuracy", "central", "train s", "market s",
                        "s/owner", "kB/owner"], table)
    sums_ok = bool(rounds) and all(r.sum_equal for r in rounds)
    lines.append(f"each round's decrypted sum {'equals' if sums_ok else 'DIFFERS FROM'} the plaintext sum of the "
                 f"owners' fixed-point updates")
    if probes:
        lines += [""] + text_table("Bad input (each refused with its typed error)", ["case", "expected", "got", "ok"],
                                   probe_rows(probes))
    return WorkflowSection(settings.section, ok, data, "\n".join(lines))
