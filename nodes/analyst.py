"""The analyst role (the aggregation key holder): owns the secret key and decrypts only aggregate results."""
from __future__ import annotations

from collections.abc import Sequence

from cipherquorum.exceptions import ValidationError
from cipherquorum.fhe import Ciphertext, KeyNeeds, SecretKeyOwner, get_program
from cipherquorum.fhe.programs.joint import MomentSums
from cipherquorum.joint.contribution import CONTRIBUTION_KIND, Contribution, check_contributions
from cipherquorum.joint.federated import TrainingTerms, check_update_total
from cipherquorum.joint.schema import JointSchema
from cipherquorum.joint.sufficient import moments_from_total
from cipherquorum.nodes.client import TaskOutcome
from cipherquorum.storage import IndexedStore
from cipherquorum.types import BlobId, ExecStatus
from cipherquorum.wire import TaskManifest, decode

AGGREGATE_PROGRAMS = frozenset({"joint_moments@1", "sum@1"})
"""The programs whose results the analyst decrypts: each sums over every input, so no input shows alone."""
KEY_KIND = "key-bundle"
"""The storage index kind under which the analyst publishes its public key bundle."""


class Analyst:
    """Holds the secret key of a job's public bundle. It decrypts a task result only when the task is an
    aggregate program, its proof verified, it ran under this bundle, and its inputs are exactly the published
    contributions of at least ``min_owners`` owners to the job; no other ciphertext is ever decrypted here."""

    def __init__(self, store: IndexedStore, preset: str, needs: KeyNeeds, name: str = "analyst",
                 min_owners: int = 3) -> None:
        """Generate keys for ``preset`` with ``needs``, store the public bundle and publish it under ``name``."""
        self._store = store
        self._name = name
        self._min_owners = min_owners
        self._keys = SecretKeyOwner.generate(preset, needs)
        self._bundle_ref = store.put(self._keys.bundle.to_bytes())
        store.publish_many([(name, KEY_KIND, preset, self._bundle_ref)])

    def key_bundle_ref(self) -> BlobId:
        """Where the public key bundle is stored (a method, so an actor's handle can call it)."""
        return self._bundle_ref

    def contributions(self, job: str, owners: Sequence[str]) -> list[Contribution]:
        """Read each owner's current contribution to ``job`` from the storage index."""
        return [decode(self._store.get(self._store.current(owner, CONTRIBUTION_KIND, job).blob_id), Contribution)
                for owner in owners]

    def inputs_of(self, job: str, owners: Sequence[str], schema_digest: str) -> tuple[str, ...]:
        """The input refs of a task over every owner's contribution to ``job``; raises OwnerKeyMismatch for an
        owner who encrypted under another bundle, OwnerDataError / ValidationError as check_contributions does."""
        return check_contributions(self.contributions(job, owners), self._bundle_ref, schema_digest, self._min_owners)

    def decrypt_aggregate(self, outcome: TaskOutcome, job: str, owners: Sequence[str], schema_digest: str) -> object:
        """Return the decoded result of ``outcome`` (the program's ``decode`` of the decrypted slots).

        Raises ValidationError when the task is not an aggregate program, has no verified successful result,
        ran under another bundle, or its inputs are not exactly every owner's contribution to the job.
        """
        if outcome.program not in AGGREGATE_PROGRAMS:
            raise ValidationError(f"the analyst decrypts only aggregates ({', '.join(sorted(AGGREGATE_PROGRAMS))}) "
                                  f"(got program={outcome.program!r})")
        if not outcome.proof_verified or outcome.status is not ExecStatus.SUCCESS or not outcome.outputs:
            raise ValidationError(f"task {outcome.task_id} has no verified result to decrypt "
                                  f"(proof_verified={outcome.proof_verified}, status={outcome.status})")
        manifest = decode(self._store.get(BlobId(outcome.manifest_ref)), TaskManifest)
        if manifest.key_bundle_ref != self._bundle_ref:
            raise ValidationError(f"task {outcome.task_id} ran under bundle {manifest.key_bundle_ref}, not the "
                                  f"analyst's {self._bundle_ref}")
        expected = self.inputs_of(job, owners, schema_digest)
        if tuple(manifest.input_refs) != expected:
            raise ValidationError(f"task {outcome.task_id} must aggregate every owner's contribution to {job!r} "
                                  f"({len(expected)} inputs) (got {len(manifest.input_refs)} inputs)")
        program = get_program(manifest.program)
        decrypted = [self._keys.decrypt(Ciphertext.from_bytes(blob)) for blob in outcome.outputs]
        return program.decode(decrypted, dict(manifest.params))

    def decrypt_moments(self, outcome: TaskOutcome, job: str, owners: Sequence[str], schema: JointSchema,
                        max_rows: int) -> MomentSums:
        """The pooled MomentSums from a sum@1 task over every owner's masked moment vector (the masks cancel in
        the sum); raises MaskedTotalInvalid when the total is not what rows in the schema's ranges give, and
        ValidationError as decrypt_aggregate does."""
        return moments_from_total(self._summed(outcome, job, owners, schema.digest()), schema.bounds[1:],
                                  len(owners), max_rows)

    def decrypt_update(self, outcome: TaskOutcome, job: str, owners: Sequence[str], schema_digest: str,
                       terms: TrainingTerms, max_rows: int) -> list[int]:
        """The sum of every owner's masked update (the masks cancel); raises MaskedTotalInvalid when it is not
        what honest updates give, and ValidationError as decrypt_aggregate does."""
        return check_update_total(self._summed(outcome, job, owners, schema_digest), len(owners), max_rows, terms)

    def _summed(self, outcome: TaskOutcome, job: str, owners: Sequence[str], schema_digest: str) -> list[int]:
        if outcome.program != "sum@1":
            raise ValidationError(f"a masked total comes from sum@1 (got program={outcome.program!r})")
        total = self.decrypt_aggregate(outcome, job, owners, schema_digest)
        assert isinstance(total, list)  # sum@1 decodes to a list of ints
        return [int(v) for v in total]
