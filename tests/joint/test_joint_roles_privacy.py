"""Data owners and the analyst without Ray: what each can read, what the analyst refuses, and the bad inputs."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from cipherquorum.exceptions import OwnerDataError, OwnerKeyMismatch, PlainCapacityExceeded, ValidationError
from cipherquorum.fhe import Ciphertext, KeyBundle, KeyNeeds, SecretKeyOwner, check_ciphertext, get_program
from cipherquorum.fhe.programs.joint import MomentSums
from cipherquorum.joint.contribution import Contribution
from cipherquorum.joint.data import OwnerShare, features_schema, load_dataset, split_shares
from cipherquorum.joint.federated import TrainingTerms, encode_update, scale_features, train_logistic
from cipherquorum.joint.moments import plain_sums
from cipherquorum.joint.schema import Column, JointSchema
from cipherquorum.nodes.analyst import Analyst
from cipherquorum.nodes.client import TaskOutcome
from cipherquorum.nodes.data_owner import DataOwner
from cipherquorum.storage import LocalIndexedStore
from cipherquorum.types import BlobId
from cipherquorum.wire import decode
from cipherquorum.wire.codec import message_type_name

PRESET = "bfv-8192-wide"
JOB = "test/joint"
SCHEMA = JointSchema((Column("bmi", 10_000, -0.1, 0.2), Column("bp", 10_000, -0.2, 0.2),
                      Column("target", 1, 0.0, 400.0)))
"""Two diabetes features and the target: few columns, so the program runs in about a second."""
TERMS = TrainingTerms(local_epochs=5, learning_rate=4.0, l2=1e-4, weight_scale=10_000, weight_clip=20.0)


def _shares() -> list[OwnerShare]:
    diabetes = load_dataset("diabetes")
    shares, _ = split_shares(diabetes, 3, seed=21, rows=90)
    return [OwnerShare(s.owner, s.features[:, 2:4], s.target) for s in shares]


PARAMS = {"columns": len(SCHEMA.columns) + 1, "bounds": SCHEMA.bounds, "row_slots": 4096}
NEEDS = get_program("joint_moments@1").key_needs(PARAMS)


def _analyst(store: LocalIndexedStore) -> Analyst:
    return Analyst(store, PRESET, NEEDS)


def _contribute(store: LocalIndexedStore, analyst: Analyst) -> tuple[list[DataOwner], list[Contribution]]:
    owners = [DataOwner(store, share) for share in _shares()]
    return owners, [o.contribute_rows(JOB, SCHEMA, analyst.key_bundle_ref(), 200) for o in owners]


def test_the_analyst_decrypts_the_joint_sums_of_every_owner(store: LocalIndexedStore,
                                                            run_task: Callable[..., TaskOutcome]) -> None:
    """Three owners' contributions, one joint_moments@1 run: the analyst's result is the pooled sums, exactly."""
    analyst = _analyst(store)
    _owners, contributions = _contribute(store, analyst)
    names = [c.owner for c in contributions]
    outcome = run_task(store, analyst, "joint_moments@1", analyst.inputs_of(JOB, names, SCHEMA.digest()),
                        PARAMS)
    sums = analyst.decrypt_aggregate(outcome, JOB, names, SCHEMA.digest())
    pooled_rows = np.vstack([SCHEMA.encode(s.table(), s.owner) for s in _shares()])
    assert isinstance(sums, MomentSums) and sums == plain_sums(pooled_rows)


def test_storage_holds_only_ciphertexts_under_the_analysts_key_and_no_row(store: LocalIndexedStore) -> None:
    """Every blob the analyst (or a node, or another owner) can read is a key bundle, a contribution record, a
    manifest or a ciphertext of the analyst's bundle; none holds any owner's row, encoded or raw."""
    analyst = _analyst(store)
    _contribute(store, analyst)
    bundle = KeyBundle.from_bytes(store.get(analyst.key_bundle_ref()))
    kinds: dict[str, int] = {}
    row_patterns = [row.astype("<i8").tobytes() for share in _shares() for row in SCHEMA.encode(share.table(), "x")]
    row_patterns += [row.astype("<f8").tobytes() for share in _shares() for row in share.table()]
    for blob_id in store.ids():
        blob = store.get(blob_id)
        if blob_id == analyst.key_bundle_ref():  # made before any owner acted: only the analyst's keys
            assert blob == bundle.to_bytes()
        else:
            assert not any(pattern in blob for pattern in row_patterns)
        kind = message_type_name(type(decode(blob)))
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind == "Ciphertext":
            check_ciphertext(Ciphertext.from_bytes(blob), bundle)
    assert kinds == {"KeyBundle": 1, "JointContribution": 3, "Ciphertext": 3}


def test_another_key_reads_nothing_of_an_owners_rows(store: LocalIndexedStore) -> None:
    """An attacker (a node, another owner) decrypting an owner's chunk with a key of its own gets no row back."""
    analyst = _analyst(store)
    _owners, contributions = _contribute(store, analyst)
    chunk = Ciphertext.from_bytes(store.get(BlobId(contributions[0].input_refs[0])))
    attacker = SecretKeyOwner.generate(PRESET)
    first_row = [1, *SCHEMA.encode(_shares()[0].table(), "x")[0].tolist()]
    assert attacker.decrypt(chunk, 4) != first_row


def test_the_analyst_refuses_a_task_over_one_owners_rows(store: LocalIndexedStore,
                                                          run_task: Callable[..., TaskOutcome]) -> None:
    """A curious analyst's own task over owner-0's chunk alone (or a non-aggregate program) is never decrypted."""
    analyst = _analyst(store)
    _owners, contributions = _contribute(store, analyst)
    names = [c.owner for c in contributions]
    single = run_task(store, analyst, "sum@1", contributions[0].input_refs, {"width": 8})
    with pytest.raises(ValidationError, match="must aggregate every owner's contribution"):
        analyst.decrypt_aggregate(single, JOB, names, SCHEMA.digest())
    renamed = TaskOutcome(**{**single.__dict__, "program": "pin_challenge@1"})
    with pytest.raises(ValidationError, match="decrypts only aggregates"):
        analyst.decrypt_aggregate(renamed, JOB, names, SCHEMA.digest())
    unverified = TaskOutcome(**{**single.__dict__, "proof_verified": False})
    with pytest.raises(ValidationError, match="no verified result"):
        analyst.decrypt_aggregate(unverified, JOB, names, SCHEMA.digest())
    with pytest.raises(ValidationError, match=r"needs >= 3 owners \(got 2"):
        analyst.inputs_of(JOB, names[:2], SCHEMA.digest())


def test_an_owner_under_another_key_is_refused_by_name(store: LocalIndexedStore) -> None:
    """Mismatched keys between owners: owner-2 encrypted under another analyst's bundle, so the analyst names it."""
    analyst = _analyst(store)
    other = Analyst(store, PRESET, NEEDS, name="other-analyst")
    shares = _shares()
    for share, bundle in zip(shares, [analyst.key_bundle_ref(), analyst.key_bundle_ref(), other.key_bundle_ref()]):
        DataOwner(store, share).contribute_rows(JOB, SCHEMA, bundle, 200)
    with pytest.raises(OwnerKeyMismatch, match=f"owner-2 used {other.key_bundle_ref()}"):
        analyst.inputs_of(JOB, [s.owner for s in shares], SCHEMA.digest())


def test_an_owner_under_another_schema_is_refused(store: LocalIndexedStore) -> None:
    """An owner who encoded at another scale is named, before any task runs."""
    analyst = _analyst(store)
    shares = _shares()
    coarse = JointSchema((Column("bmi", 100, -0.1, 0.2), *SCHEMA.columns[1:]))
    for share, schema in zip(shares, [SCHEMA, coarse, SCHEMA]):
        DataOwner(store, share).contribute_rows(JOB, schema, analyst.key_bundle_ref(), 200)
    with pytest.raises(OwnerDataError, match=f"owner-1 used {coarse.digest()}"):
        analyst.inputs_of(JOB, [s.owner for s in shares], SCHEMA.digest())


@pytest.mark.parametrize(("features", "max_rows", "error", "message"), [
    (np.zeros((4, 3)), 200, OwnerDataError, "rows must have 3 columns"),
    (np.array([[0.0, 0.9]] * 4), 200, OwnerDataError, "row 0 column 'bp' must be in [-0.2, 0.2] (got 0.9)"),
    (np.zeros((4, 2)), 3, PlainCapacityExceeded, "got rows=4, max_rows=3"),
    (np.zeros((4, 2)), 10**6, PlainCapacityExceeded, "a sum of products over 1000000 rows"),
])
def test_bad_rows_are_refused_before_anything_is_stored(store: LocalIndexedStore, features: np.ndarray,
                                                         max_rows: int, error: type, message: str) -> None:
    """Rows of the wrong width or out of range, or a job whose sums could wrap, give a typed error naming the
    value, and nothing of the owner reaches storage."""
    analyst = _analyst(store)
    before = set(store.ids())
    owner = DataOwner(store, OwnerShare("owner-9", features, np.full(len(features), 100.0)))
    with pytest.raises(error) as raised:
        owner.contribute_rows(JOB, SCHEMA, analyst.key_bundle_ref(), max_rows)
    assert message in str(raised.value)
    assert set(store.ids()) == before


def test_federated_updates_sum_to_the_plaintext_sum_and_average_back(
        store: LocalIndexedStore, run_task: Callable[..., TaskOutcome]) -> None:
    """Three owners' encrypted updates under the aggregation key, summed by sum@1: the key holder's sum equals the
    plaintext sum of their fixed-point updates, and the average is the row-weighted mean of their models."""
    cancer = load_dataset("breast_cancer")
    schema = features_schema(cancer)
    shares, _ = split_shares(cancer, 3, seed=2, test_fraction=0.2)
    aggregator = Analyst(store, "bfv-8192", KeyNeeds(), name="aggregator")
    weights = np.zeros(len(schema.columns) + 1)
    owners = [DataOwner(store, share) for share in shares]
    roster = [owner.publish_masking_key() for owner in owners]
    contributions = [owner.federated_update("fl/round-0", schema, aggregator.key_bundle_ref(), weights.tolist(),
                                            TERMS, cancer.rows, roster) for owner in owners]
    names = [c.owner for c in contributions]
    refs = aggregator.inputs_of("fl/round-0", names, schema.digest())
    outcome = run_task(store, aggregator, "sum@1", refs, {"width": len(weights) + 1}, preset="bfv-8192")
    summed = aggregator.decrypt_aggregate(outcome, "fl/round-0", names, schema.digest())
    updates = [encode_update(train_logistic(weights, scale_features(s.features, schema), s.target, TERMS), s.rows,
                             TERMS) for s in shares]
    assert summed == [sum(column) for column in zip(*updates)]
    assert summed[-1] == sum(s.rows for s in shares)


@pytest.mark.parametrize(("column", "value", "max_rows", "error", "message"), [
    (0, 99.0, 569, OwnerDataError, "row 0 column 'mean radius' must be in [0.0, 30.0] (got 99.0)"),
    (None, 0.0, 569, OwnerDataError, "rows must have 30 columns"),
    (0, 10.0, 10**6, PlainCapacityExceeded, "an update sum over 1000000 rows"),
])
def test_bad_federated_rows_are_refused_before_training(store: LocalIndexedStore, column: int | None, value: float,
                                                         max_rows: int, error: type, message: str) -> None:
    """An owner's features out of the schema's range or of the wrong width, or a round whose updates could wrap,
    give a typed error naming the value, and no update is stored."""
    cancer = load_dataset("breast_cancer")
    features = cancer.features[:6].copy()
    if column is None:
        features = features[:, :-1]
    else:
        features[0, column] = value
    aggregator = Analyst(store, "bfv-8192", KeyNeeds(), name="aggregator")
    before = set(store.ids())
    owner = DataOwner(store, OwnerShare("owner-5", features, cancer.target[:6]))
    with pytest.raises(error) as raised:
        owner.federated_update("fl/bad", features_schema(cancer), aggregator.key_bundle_ref(), [0.0] * 31, TERMS,
                               max_rows, ["owner-5", "owner-6", "owner-7"])
    assert message in str(raised.value)
    assert set(store.ids()) == before
