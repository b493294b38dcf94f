"""The data owner role: holds its rows, masks and encrypts its contributions under the analyst's key, trains."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cipherquorum.exceptions import PlainCapacityExceeded
from cipherquorum.fhe import Encryptor, KeyBundle
from cipherquorum.fhe.programs.joint import MomentsLayout, check_moment_capacity, pack_chunk
from cipherquorum.joint.contribution import CONTRIBUTION_KIND, Contribution
from cipherquorum.joint.data import OwnerShare, ShareSpec
from cipherquorum.joint.federated import (
    TrainingTerms,
    check_update_capacity,
    encode_update,
    scale_features,
    train_logistic,
)
from cipherquorum.joint.masking import MASK_KEY_KIND, MASK_KEY_NAME, apply_mask, new_masking_key, owner_mask
from cipherquorum.joint.moments import plain_sums
from cipherquorum.joint.schema import JointSchema
from cipherquorum.joint.sufficient import moment_vector
from cipherquorum.storage import IndexedStore
from cipherquorum.types import BlobId
from cipherquorum.wire.codec import encode


class DataOwner:
    """One owner of rows. No method returns a row: what leaves is ciphertexts under the analyst's public key and
    a contribution record naming them, published in storage under the owner's name and the job."""

    def __init__(self, store: IndexedStore, share: OwnerShare | ShareSpec) -> None:
        """Keep ``share`` (a ShareSpec is loaded here, inside the owner's own process)."""
        self._store = store
        self._share = share.load() if isinstance(share, ShareSpec) else share
        self._encryptors: dict[str, Encryptor] = {}
        self._masking_key = new_masking_key()

    @property
    def name(self) -> str:
        """The owner's name ("owner-0")."""
        return self._share.owner

    @property
    def rows(self) -> int:
        """How many rows this owner holds (what its contribution's chunk count shows anyway, roughly)."""
        return self._share.rows

    def fetch_key(self, key_bundle_ref: BlobId) -> str:
        """Read the public key bundle ``key_bundle_ref`` ahead of a job; return its preset's name."""
        return self._encryptor(key_bundle_ref).preset.name

    def publish_masking_key(self) -> str:
        """Store this owner's masking public key (secp256k1, compressed), index it under the owner's name, and
        return that name (the owner's entry in a job's masking roster)."""
        ref = self._store.put(self._masking_key.public_key.format(compressed=True))
        self._store.publish_many([(self.name, MASK_KEY_KIND, MASK_KEY_NAME, ref)])
        return self.name

    def contribute_moments(self, job: str, schema: JointSchema, key_bundle_ref: BlobId, max_rows: int,
                           roster: Sequence[str]) -> Contribution:
        """Encode the rows under ``schema``, compute their exact local sums (count, column sums, every sum of
        products) as one vector, add the pairwise masks of ``roster`` (every owner of the job, in order), encrypt
        it under ``key_bundle_ref`` and publish the contribution. Only the sum over the whole roster unmasks.

        Raises OwnerDataError for rows of the wrong column count or out of range, PlainCapacityExceeded when
        ``max_rows`` rows could wrap the plain modulus, ValidationError for a roster without this owner or a peer
        without a published masking key.
        """
        encoded = schema.encode(self._share.table(), self.name)
        encryptor = self._encryptor(key_bundle_ref)
        self._check_rows(max_rows)
        check_moment_capacity(schema.bounds, max_rows, encryptor.preset.plain_bound)
        vector = moment_vector(plain_sums(encoded))
        masked = self._masked(vector, f"joint-moments/{job}", roster, encryptor)
        ref = self._store.put(encryptor.encrypt(masked).to_bytes())
        return self._publish(Contribution(self.name, job, key_bundle_ref, schema.digest(), (ref,)))

    def contribute_rows(self, job: str, schema: JointSchema, key_bundle_ref: BlobId, max_rows: int) -> Contribution:
        """Encode the rows (features then target) under ``schema``, pack them into chunks for joint_moments@1,
        encrypt each under the bundle ``key_bundle_ref`` and publish the contribution.

        Raises OwnerDataError for rows of the wrong column count or out of range, PlainCapacityExceeded when
        ``max_rows`` rows (the job's bound, or more rows than that here) could wrap the plain modulus,
        KeyBundleError / StorageError for a bundle that cannot be read.
        """
        encoded = schema.encode(self._share.table(), self.name)
        encryptor = self._encryptor(key_bundle_ref)
        preset = encryptor.preset
        self._check_rows(max_rows)
        check_moment_capacity(schema.bounds, max_rows, preset.plain_bound)
        layout = MomentsLayout(len(schema.columns) + 1, preset.row_slots)
        per_chunk = layout.rows_per_chunk
        chunks = [pack_chunk(encoded[start:start + per_chunk].tolist(), layout)
                  for start in range(0, len(encoded), per_chunk)]
        refs = self._store.put_many([encryptor.encrypt(chunk).to_bytes() for chunk in chunks])
        return self._publish(Contribution(self.name, job, key_bundle_ref, schema.digest(), tuple(refs)))

    def federated_update(self, job: str, schema: JointSchema, key_bundle_ref: BlobId, weights: Sequence[float],
                         terms: TrainingTerms, max_rows: int, roster: Sequence[str]) -> Contribution:
        """Train from ``weights`` on the rows (features scaled by the schema's public ranges), add the pairwise
        masks of ``roster`` to the update ``rows * w`` (fixed point, clipped) and the row count, encrypt it under
        ``key_bundle_ref``, and publish it.

        Raises OwnerDataError for features of the wrong column count or out of range, PlainCapacityExceeded
        when ``max_rows`` rows' updates could wrap the plain modulus, ValidationError for a bad roster.
        """
        schema.encode(self._share.features, self.name)  # the range check; training takes the raw features
        encryptor = self._encryptor(key_bundle_ref)
        self._check_rows(max_rows)
        check_update_capacity(max_rows, terms, encryptor.preset.plain_bound)
        features = scale_features(self._share.features, schema)
        trained = train_logistic(np.asarray(weights, dtype=np.float64), features, self._share.target, terms)
        masked = self._masked(encode_update(trained, self.rows, terms), f"federated-update/{job}", roster, encryptor)
        update = encryptor.encrypt(masked).to_bytes()
        ref = self._store.put(update)
        return self._publish(Contribution(self.name, job, key_bundle_ref, schema.digest(), (ref,)))

    def _masked(self, vector: list[int], label: str, roster: Sequence[str], encryptor: Encryptor) -> list[int]:
        keys = {peer: self._store.get(self._store.current(peer, MASK_KEY_KIND, MASK_KEY_NAME).blob_id)
                for peer in roster if peer != self.name}
        modulus = 2 * encryptor.preset.plain_bound + 1  # t, an odd prime: plain_bound is (t - 1) / 2
        return apply_mask(vector, owner_mask(self.name, self._masking_key, list(roster), keys, label, len(vector),
                                             modulus), modulus)

    def _check_rows(self, max_rows: int) -> None:
        if self.rows > max_rows:
            raise PlainCapacityExceeded(
                f"owner {self.name!r} holds more rows than the job's bound (got rows={self.rows}, max_rows={max_rows})"
            )

    def _encryptor(self, key_bundle_ref: BlobId) -> Encryptor:
        if key_bundle_ref not in self._encryptors:
            bundle = KeyBundle.from_bytes(self._store.get(key_bundle_ref))
            self._encryptors[key_bundle_ref] = Encryptor.from_bundle(bundle)
        return self._encryptors[key_bundle_ref]

    def _publish(self, contribution: Contribution) -> Contribution:
        ref = self._store.put(encode(contribution))
        self._store.publish_many([(self.name, CONTRIBUTION_KIND, contribution.job, ref)])
        return contribution
