"""A user's FHE keys (seed 000, Fig. 3): generate them locally, publish the bundle and an encrypted sample block,
check existing keys against the sample, and regenerate them as a new version when the check fails."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import Enum

from cipherquorum.exceptions import CipherQuorumError, KeyCheckFailed, VersionNotFound
from cipherquorum.fhe import Ciphertext, KeyBundle, KeyNeeds, SecretKeyOwner
from cipherquorum.storage import IndexedStore
from cipherquorum.storage.ids import blob_id_of
from cipherquorum.storage.index import Publication
from cipherquorum.types import BlobId

BUNDLE_KIND = "key_bundle"
SAMPLE_KIND = "key_sample"
"""Index kinds of a user's published key bundle and sample block; the index name is the preset."""

SAMPLE_SLOTS = 8
"""Values in a sample block."""


class KeyOutcome(Enum):
    """What providing keys did: made the first ones, found the existing ones good, or replaced bad ones."""

    GENERATED = "generated"
    CHECKED = "checked"
    REGENERATED = "regenerated"


@dataclass(frozen=True)
class LocalKeys:
    """What a user keeps on its own machine and never publishes: its secret key and its sample's plaintext."""

    preset: str
    secret: bytes = field(repr=False)
    sample: tuple[int, ...]


@dataclass(frozen=True)
class KeyRecord:
    """A user's published keys: the index version, the bundle's and the encrypted sample's blob ids."""

    owner: str
    preset: str
    version: int
    bundle_ref: BlobId
    sample_ref: BlobId


@dataclass(frozen=True)
class KeyBlobs:
    """Freshly generated keys ready to publish: the blobs, and the rows that index them."""

    bundle: bytes
    sample: bytes

    def rows(self, owner: str, preset: str) -> list[Publication]:
        """The two index rows: the bundle and the sample as the owner's new current version."""
        return [Publication(owner, BUNDLE_KIND, preset, blob_id_of(self.bundle)),
                Publication(owner, SAMPLE_KIND, preset, blob_id_of(self.sample))]


def generate_keys(preset: str, needs: KeyNeeds, rng: random.Random) -> tuple[SecretKeyOwner, LocalKeys, KeyBlobs]:
    """Return fresh keys for ``preset``: the owner, what stays local, and the blobs to publish.

    The sample block is ``SAMPLE_SLOTS`` values drawn from ``rng``, encrypted under the new public key.
    """
    owner = SecretKeyOwner.generate(preset, needs)
    bound = min(owner.preset.plain_bound, 2**20) if owner.preset.scheme == "bfv" else 2**10
    sample = tuple(rng.randint(-bound, bound) for _ in range(SAMPLE_SLOTS))
    local = LocalKeys(preset, owner.secret_key_bytes(), sample)
    blobs = KeyBlobs(owner.bundle.to_bytes(), owner.encrypt(list(sample)).to_bytes())
    return owner, local, blobs


def check_keys(user: str, local: LocalKeys, bundle_bytes: bytes, sample_bytes: bytes) -> SecretKeyOwner:
    """Return the key owner rebuilt from the published bundle and the local secret, once the published sample
    decrypts to the local plaintext.

    Raises KeyCheckFailed naming the user and what failed: a bundle that does not parse or is not of the
    user's preset, a secret that does not belong to it (a foreign or replaced bundle, a lost secret), or a
    sample that does not decrypt to what the user encrypted.
    """
    try:
        bundle = KeyBundle.from_bytes(bundle_bytes)
        if bundle.preset != local.preset:
            raise KeyCheckFailed(f"user {user}: published bundle is of preset {bundle.preset!r} "
                                 f"(its keys are {local.preset!r})")
        owner = SecretKeyOwner.from_secret(bundle, local.secret)
        got = tuple(owner.decrypt(Ciphertext.from_bytes(sample_bytes), SAMPLE_SLOTS))
    except KeyCheckFailed:
        raise
    except CipherQuorumError as exc:
        raise KeyCheckFailed(f"user {user}: published keys (bundle {blob_id_of(bundle_bytes)[:12]}) do not fit "
                             f"its secret key: {exc}") from None
    if got != local.sample:
        raise KeyCheckFailed(f"user {user}: sample block decrypts to {got[:3]}... "
                             f"(it encrypted {local.sample[:3]}...)")
    return owner


def published_keys(store: IndexedStore, owner: str, preset: str) -> KeyRecord:
    """Return the owner's current published keys; raises VersionNotFound if it never published any."""
    bundle = store.current(owner, BUNDLE_KIND, preset)
    sample = store.current(owner, SAMPLE_KIND, preset)
    return KeyRecord(owner, preset, bundle.number, bundle.blob_id, sample.blob_id)


class UserKeys:
    """One user's keys for one preset: provided once (generated, or checked and regenerated on a mismatch).

    The secret key stays in this object (its owner's process); only the bundle and sample are published.
    """

    def __init__(self, user: str, preset: str, needs: KeyNeeds, rng: random.Random) -> None:
        self._user = user
        self._preset = preset
        self._needs = needs
        self._rng = rng
        self._owner: SecretKeyOwner | None = None
        self._local: LocalKeys | None = None

    @property
    def user(self) -> str:
        """Who owns the keys."""
        return self._user

    @property
    def owner(self) -> SecretKeyOwner:
        """The key owner; raises KeyCheckFailed before keys are provided."""
        if self._owner is None:
            raise KeyCheckFailed(f"user {self._user}: has no keys for preset {self._preset!r} yet")
        return self._owner

    @property
    def owner_preset(self) -> str:
        """The preset the keys are for."""
        return self._preset

    @property
    def has_keys(self) -> bool:
        """Whether keys exist locally."""
        return self._local is not None

    def generate(self) -> KeyBlobs:
        """Make new keys (replacing any) and return the blobs to publish as the next version."""
        self._owner, self._local, blobs = generate_keys(self._preset, self._needs, self._rng)
        return blobs

    def check(self, bundle_bytes: bytes, sample_bytes: bytes) -> None:
        """Check the published blobs against the local keys; raises KeyCheckFailed (the keys are then unusable)."""
        if self._local is None:
            raise KeyCheckFailed(f"user {self._user}: has no local keys to check for preset {self._preset!r}")
        try:
            self._owner = check_keys(self._user, self._local, bundle_bytes, sample_bytes)
        except KeyCheckFailed:
            self._owner = None
            raise

    def lose_secret(self) -> None:
        """Forget the secret (a new device, a cleared browser); the next check fails and regenerates."""
        if self._local is not None:
            stranger = SecretKeyOwner.generate(self._preset, KeyNeeds())
            self._local = LocalKeys(self._preset, stranger.secret_key_bytes(), self._local.sample)
            self._owner = None


@dataclass(frozen=True)
class KeyReport:
    """What providing one user's keys did, the version now published, and the refusal a failed check gave."""

    user: str
    preset: str
    outcome: KeyOutcome
    version: int
    bundle_ref: BlobId
    refusal: str = ""


def provide_keys(store: IndexedStore, users: list[UserKeys]) -> list[KeyReport]:
    """Give every user good published keys: a user with keys checks them against what is published and
    regenerates them (a new version) when the check fails; a user without keys generates them. All new blobs
    are stored and indexed in one call each. Returns one report per user, in order."""
    reports: dict[int, KeyReport] = {}
    fresh: list[tuple[int, KeyOutcome, str, KeyBlobs]] = []
    for index, user in enumerate(users):
        if not user.has_keys:
            fresh.append((index, KeyOutcome.GENERATED, "", user.generate()))
            continue
        try:
            record = published_keys(store, user.user, user.owner_preset)
            bundle, sample = store.get_many([record.bundle_ref, record.sample_ref])
            user.check(bundle, sample)
            reports[index] = KeyReport(user.user, user.owner_preset, KeyOutcome.CHECKED, record.version,
                                       record.bundle_ref)
        except (KeyCheckFailed, VersionNotFound) as exc:
            fresh.append((index, KeyOutcome.REGENERATED, str(exc), user.generate()))
    store.put_many([blob for *_, blobs in fresh for blob in (blobs.bundle, blobs.sample)])
    versions = store.publish_many([row for index, *_, blobs in fresh
                                   for row in blobs.rows(users[index].user, users[index].owner_preset)])
    for (index, outcome, refusal, _), bundle_version in zip(fresh, versions[0::2]):
        reports[index] = KeyReport(users[index].user, users[index].owner_preset, outcome, bundle_version.number,
                                   bundle_version.blob_id, refusal)
    return [reports[index] for index in range(len(users))]
