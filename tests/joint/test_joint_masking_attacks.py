"""Pairwise masking attacked: a curious analyst decrypting every stored blob, another owner, a wrong roster."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from cipherquorum.exceptions import MalformedMessage, MaskedTotalInvalid, ValidationError
from cipherquorum.fhe import Ciphertext, KeyBundle, KeyNeeds, SecretKeyOwner, check_ciphertext
from cipherquorum.fhe.programs.joint import MomentSums
from cipherquorum.joint.data import OwnerShare, features_schema, load_dataset, split_shares
from cipherquorum.joint.federated import TrainingTerms, encode_update, scale_features, train_logistic
from cipherquorum.joint.masking import (
    apply_mask,
    mask_vector,
    new_masking_key,
    owner_mask,
    pair_seed,
)
from cipherquorum.joint.moments import plain_sums
from cipherquorum.joint.schema import Column, JointSchema
from cipherquorum.joint.sufficient import moment_vector, moment_width, moments_from_total
from cipherquorum.nodes.analyst import Analyst
from cipherquorum.nodes.client import TaskOutcome
from cipherquorum.nodes.data_owner import DataOwner
from cipherquorum.storage import LocalIndexedStore
from cipherquorum.types import BlobId
from cipherquorum.wire import decode
from cipherquorum.wire.codec import message_type_name

PRESET = "bfv-8192-wide"
T = 68719230977
"""bfv-8192-wide's plain modulus."""
JOB = "test/masked"
SCHEMA = JointSchema((Column("bmi", 10_000, -0.1, 0.2), Column("bp", 10_000, -0.2, 0.2),
                      Column("target", 1, 0.0, 400.0)))
WIDTH = moment_width(len(SCHEMA.columns))
KS_ALPHA = 1e-6
"""Kolmogorov-Smirnov level of the uniformity check (a false alarm once in a million runs)."""


def _shares() -> list[OwnerShare]:
    shares, _ = split_shares(load_dataset("diabetes"), 3, seed=21, rows=90)
    return [OwnerShare(s.owner, s.features[:, 2:4], s.target) for s in shares]


def _true_vector(share: OwnerShare) -> list[int]:
    return moment_vector(plain_sums(SCHEMA.encode(share.table(), share.owner)))


def _looks_uniform(values: Sequence[int], modulus: int) -> bool:
    """Kolmogorov-Smirnov: the values mod ``modulus``, over [0, 1), are not far from uniform at KS_ALPHA."""
    points = np.sort(np.array([(v % modulus) / modulus for v in values]))
    n = len(points)
    ranks = np.arange(1, n + 1) / n
    distance = float(max(np.max(ranks - points), np.max(points - (ranks - 1 / n))))
    return distance <= math.sqrt(-0.5 * math.log(KS_ALPHA / 2)) / math.sqrt(n)


def _masked_job(store: LocalIndexedStore, rosters: Sequence[Sequence[str]] | None = None
                ) -> tuple[Analyst, list[str], list[str]]:
    """The analyst (sum@1 needs no evaluation key) and three owners' masked moment vectors; returns the owner
    names and their input refs. ``rosters`` replaces each owner's masking roster."""
    analyst = Analyst(store, PRESET, KeyNeeds())
    owners = [DataOwner(store, share) for share in _shares()]
    roster = [owner.publish_masking_key() for owner in owners]
    for owner, own_roster in zip(owners, rosters or [roster] * len(owners)):
        owner.contribute_moments(JOB, SCHEMA, analyst.key_bundle_ref(), 200, own_roster)
    return analyst, roster, list(analyst.inputs_of(JOB, roster, SCHEMA.digest()))


def test_an_analyst_decrypting_every_stored_blob_reads_only_masked_noise(
        store: LocalIndexedStore, run_task: Callable[..., TaskOutcome]) -> None:
    """A curious analyst reads every blob in storage and decrypts each ciphertext with its secret key: each
    owner's stored vector differs from its true local sums in every slot and looks uniform mod t (the true
    sums do not), while sum@1 over all of them decrypts to the pooled sums exactly."""
    analyst, names, refs = _masked_job(store)
    secret: SecretKeyOwner = analyst._keys  # the analyst's own key, used against its own rule
    bundle = KeyBundle.from_bytes(store.get(analyst.key_bundle_ref()))
    decrypted: dict[str, list[int]] = {}
    for blob_id in store.ids():
        blob = store.get(blob_id)
        try:
            kind = message_type_name(type(decode(blob)))
        except MalformedMessage:  # a masking public key: 33 raw bytes, no message
            assert len(blob) == 33
            continue
        if kind == "Ciphertext":
            ciphertext = Ciphertext.from_bytes(blob)
            check_ciphertext(ciphertext, bundle)
            decrypted[blob_id] = [int(v) for v in secret.decrypt(ciphertext, WIDTH)]
    assert set(decrypted) == set(refs)
    truths = [_true_vector(share) for share in _shares()]
    for ref, truth in zip(refs, truths):
        assert all(seen != true for seen, true in zip(decrypted[ref], truth))
    assert _looks_uniform([v for ref in refs for v in decrypted[ref]], T)
    assert not _looks_uniform([v for truth in truths for v in truth], T)  # the check can fail
    outcome = run_task(store, analyst, "sum@1", refs, {"width": WIDTH})
    pooled = np.vstack([SCHEMA.encode(s.table(), s.owner) for s in _shares()])
    assert analyst.decrypt_moments(outcome, JOB, names, SCHEMA, 200) == plain_sums(pooled)


def test_another_owner_has_no_key_that_reads_a_contribution(store: LocalIndexedStore) -> None:
    """Another owner holds only the public bundle (no secret key in it); a key of its own decrypts an owner's
    ciphertext to nothing like that owner's sums."""
    analyst, _names, refs = _masked_job(store)
    bundle = KeyBundle.from_bytes(store.get(analyst.key_bundle_ref()))
    assert not any("secret" in field for field in bundle.__dataclass_fields__)
    attacker = SecretKeyOwner.generate(PRESET)
    seen = attacker.decrypt(Ciphertext.from_bytes(store.get(BlobId(refs[0]))), WIDTH)
    assert all(a != b for a, b in zip(seen, _true_vector(_shares()[0])))


def test_a_contribution_masked_for_another_roster_does_not_cancel(
        store: LocalIndexedStore, run_task: Callable[..., TaskOutcome]) -> None:
    """owner-2 masks for the owners without owner-1: the decrypted total is not the pooled sums, and the
    analyst's check refuses it with MaskedTotalInvalid."""
    everyone = ["owner-0", "owner-1", "owner-2"]
    analyst, names, refs = _masked_job(store, [everyone, everyone, ["owner-0", "owner-2"]])
    outcome = run_task(store, analyst, "sum@1", refs, {"width": WIDTH})
    total = analyst.decrypt_aggregate(outcome, JOB, names, SCHEMA.digest())
    pooled = np.vstack([SCHEMA.encode(s.table(), s.owner) for s in _shares()])
    assert total != moment_vector(plain_sums(pooled))
    with pytest.raises(MaskedTotalInvalid, match="the masks did not cancel"):
        analyst.decrypt_moments(outcome, JOB, names, SCHEMA, 200)


def test_federated_updates_masked_for_another_roster_are_refused(
        store: LocalIndexedStore, run_task: Callable[..., TaskOutcome]) -> None:
    """Federated round: with every owner's roster the masked updates sum to the plaintext sum; with owner-0
    masking for a roster that lacks owner-2, the key holder's check refuses the sum."""
    cancer = load_dataset("breast_cancer")
    schema = features_schema(cancer)
    terms = TrainingTerms(local_epochs=3, learning_rate=4.0, l2=1e-4, weight_scale=10_000, weight_clip=20.0)
    shares, _ = split_shares(cancer, 3, seed=5, test_fraction=0.2)
    aggregator = Analyst(store, "bfv-8192", KeyNeeds(), name="aggregator")
    owners = [DataOwner(store, share) for share in shares]
    roster = [owner.publish_masking_key() for owner in owners]
    weights = [0.0] * (len(schema.columns) + 1)
    for job, first_roster in (("fl/ok", roster), ("fl/foreign", roster[:2])):
        for k, owner in enumerate(owners):
            owner.federated_update(job, schema, aggregator.key_bundle_ref(), weights, terms, cancer.rows,
                                   first_roster if k == 0 else roster)
    outcomes = {job: run_task(store, aggregator, "sum@1", aggregator.inputs_of(job, roster, schema.digest()),
                              {"width": len(weights) + 1}, preset="bfv-8192") for job in ("fl/ok", "fl/foreign")}
    updates = [encode_update(train_logistic(np.zeros(len(weights)), scale_features(s.features, schema), s.target,
                                            terms), s.rows, terms) for s in shares]
    summed = aggregator.decrypt_update(outcomes["fl/ok"], "fl/ok", roster, schema.digest(), terms, cancer.rows)
    assert summed == [sum(column) for column in zip(*updates)]
    with pytest.raises(MaskedTotalInvalid, match="row count must be in"):
        aggregator.decrypt_update(outcomes["fl/foreign"], "fl/foreign", roster, schema.digest(), terms, cancer.rows)


def test_masks_are_reproducible_pairwise_and_cancel_over_the_roster() -> None:
    """Both owners of a pair derive the same seed; the same seed, label and length give the same mask (so a
    rerun or a replica sees the same ciphertext plaintexts); another label gives another mask; the owners' net
    masks sum to 0 mod t, and masked values stay in BFV's signed range."""
    keys = {name: new_masking_key() for name in ("a", "b", "c")}
    public = {name: key.public_key.format(compressed=True) for name, key in keys.items()}
    seed_ab = pair_seed(keys["a"], public["b"], "job/1")
    assert seed_ab == pair_seed(keys["b"], public["a"], "job/1") != pair_seed(keys["a"], public["b"], "job/2")
    assert mask_vector(seed_ab, 50, T) == mask_vector(seed_ab, 50, T)
    roster = ["a", "b", "c"]
    masks = [owner_mask(name, keys[name], roster, public, "job/1", 50, T) for name in roster]
    assert masks[0] == owner_mask("a", keys["a"], roster, public, "job/1", 50, T)
    assert all(sum(column) % T == 0 for column in zip(*masks))
    masked = apply_mask([5] * 50, masks[0], T)
    assert all(abs(v) <= (T - 1) // 2 for v in masked)


def test_the_moment_vector_round_trips_through_the_check() -> None:
    """An honest total's vector decodes back to the same MomentSums."""
    pooled = np.vstack([SCHEMA.encode(s.table(), s.owner) for s in _shares()])
    sums = plain_sums(pooled)
    assert moments_from_total(moment_vector(sums), SCHEMA.bounds[1:], 3, 200) == sums


_HONEST = MomentSums(count=4, sums=(10, -3), products=((30, 2), (2, 9)))


@pytest.mark.parametrize(("vector", "error", "message"), [
    ([4, 10, -3, 30, 2], ValidationError, "has 6 slots (got 5)"),
    ([2, 10, -3, 30, 2, 9], MaskedTotalInvalid, "count must be in [3, 200]"),
    ([4, 81, -3, 30, 2, 9], MaskedTotalInvalid, "sum of column 0 must be within +-80"),
    ([4, 10, -3, -1, 2, 9], MaskedTotalInvalid, "square sum of column 0 must be in [0, 1600] (got -1)"),
    ([4, 10, -3, 30, 17, 9], MaskedTotalInvalid, "columns 0 and 1 exceeds Cauchy-Schwarz (got 17)"),
])
def test_a_total_no_honest_rows_give_is_refused(vector: list[int], error: type, message: str) -> None:
    """A total of the wrong length, a count out of range, a sum, square or product past what rows within the
    bounds give: each is a typed error naming the value (the honest vector passes)."""
    assert moments_from_total(moment_vector(_HONEST), [20, 20], 3, 200) == _HONEST
    with pytest.raises(error) as raised:
        moments_from_total(vector, [20, 20], 3, 200)
    assert message in str(raised.value)


@pytest.mark.parametrize(("name", "roster", "drop", "message"), [
    ("d", ["a", "b", "c"], None, "owner 'd' is not in the masking roster"),
    ("a", ["a", "a", "b"], None, "needs >= 2 distinct owners"),
    ("a", ["a"], None, "needs >= 2 distinct owners"),
    ("a", ["a", "b", "c"], "c", "no masking public key for owners ['c']"),
    ("a", ["a", "b"], "bad", "must be a secp256k1 point"),
])
def test_a_bad_masking_roster_is_refused(name: str, roster: list[str], drop: str | None, message: str) -> None:
    """An owner outside its roster, a roster with an owner twice or alone, a peer without a key, a key that
    is no curve point: each is a ValidationError naming the value."""
    keys = {peer: new_masking_key() for peer in ("a", "b", "c", "d")}
    public = {peer: key.public_key.format(compressed=True) for peer, key in keys.items()}
    if drop == "bad":
        public["b"] = b"\x05" + bytes(32)
    elif drop is not None:
        del public[drop]
    with pytest.raises(ValidationError) as raised:
        owner_mask(name, keys[name], roster, public, "job", 4, T)
    assert message in str(raised.value)
