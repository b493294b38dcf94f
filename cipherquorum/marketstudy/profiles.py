"""Respondent profiles (seed 000, Fig. 4): attributes from a real data set, a public part for audience
matching and a private part encrypted under the respondent's own key, stored as one blob per version."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from cipherquorum.exceptions import StaleProfileVersion, ValidationError
from cipherquorum.fhe import Ciphertext, SecretKeyOwner
from cipherquorum.types import BlobId
from cipherquorum.wire.codec import Params, decode, encode, message

PROFILE_KIND = "profile"
"""Index kind (and name) of a respondent's profile versions."""


@dataclass(frozen=True)
class Attribute:
    """One profile attribute: a column of the data set cut into buckets at ``edges``; public or private."""

    name: str
    column: int
    edges: tuple[float, ...]
    public: bool

    @property
    def buckets(self) -> int:
        """How many values the attribute takes."""
        return len(self.edges) + 1

    def bucket_of(self, value: float) -> int:
        """Return the bucket of a raw value: how many edges it reaches."""
        return sum(1 for edge in self.edges if value >= edge)


ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute("age_band", 0, (30.0, 40.0, 50.0, 60.0), public=True),
    Attribute("sex", 1, (1.5,), public=True),
    Attribute("bmi_band", 2, (25.0, 30.0), public=False),
    Attribute("bp_band", 3, (85.0, 95.0, 105.0), public=False),
)
"""The profile: scikit-learn's diabetes data (age, sex, body-mass index, blood pressure of 442 patients)."""

PUBLIC_ATTRIBUTES = tuple(a for a in ATTRIBUTES if a.public)
PRIVATE_ATTRIBUTES = tuple(a for a in ATTRIBUTES if not a.public)


@dataclass(frozen=True)
class ProfileValues:
    """A respondent's bucket for each attribute, in ``ATTRIBUTES`` order."""

    buckets: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.buckets) != len(ATTRIBUTES):
            raise ValidationError(f"a profile holds {len(ATTRIBUTES)} buckets (got {self.buckets!r})")
        for attribute, bucket in zip(ATTRIBUTES, self.buckets):
            if isinstance(bucket, bool) or not isinstance(bucket, int) or not 0 <= bucket < attribute.buckets:
                raise ValidationError(f'"{attribute.name}" must be a bucket in [0, {attribute.buckets}) '
                                      f"(got {bucket!r})")

    def of(self, name: str) -> int:
        """The bucket of attribute ``name``; raises ValidationError for an unknown attribute."""
        for attribute, bucket in zip(ATTRIBUTES, self.buckets):
            if attribute.name == name:
                return bucket
        raise ValidationError(f"no profile attribute is named {name!r} (known: {[a.name for a in ATTRIBUTES]})")

    def public(self) -> dict[str, int]:
        """The public part: what audience matching may read."""
        return {a.name: b for a, b in zip(ATTRIBUTES, self.buckets) if a.public}

    def private(self) -> list[int]:
        """The private part, in ``PRIVATE_ATTRIBUTES`` order."""
        return [b for a, b in zip(ATTRIBUTES, self.buckets) if not a.public]

    @classmethod
    def from_parts(cls, public: Mapping[str, object], private: Sequence[int]) -> ProfileValues:
        """Rebuild the values from a public mapping and the decrypted private part; raises ValidationError."""
        private_values = iter(private)
        buckets = []
        for attribute in ATTRIBUTES:
            value = public.get(attribute.name) if attribute.public else next(private_values, None)
            buckets.append(value)
        return cls(tuple(buckets))  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def _data_rows() -> tuple[tuple[float, ...], ...]:
    from sklearn.datasets import load_diabetes

    data = load_diabetes(scaled=False).data
    return tuple(tuple(float(v) for v in row[:4]) for row in data)


def profile_of_row(row: int) -> ProfileValues:
    """The profile of data row ``row`` (rows are reused cyclically past the 442 patients)."""
    values = _data_rows()[row % len(_data_rows())]
    return ProfileValues(tuple(a.bucket_of(values[a.column]) for a in ATTRIBUTES))


def updated_profile(values: ProfileValues, row: int) -> ProfileValues:
    """``values`` with its private attributes taken from another data row (a change of circumstances)."""
    other = profile_of_row(row)
    return ProfileValues(tuple(o if not a.public else v for a, v, o in zip(ATTRIBUTES, values.buckets, other.buckets)))


@message("MarketProfile")
@dataclass(frozen=True)
class ProfileBlob:
    """One version of a respondent's profile: the public part in plaintext, the private part as a ciphertext
    under the respondent's own key bundle, and the version it replaces (0 for the first)."""

    respondent: str
    base_version: int
    public: Params
    key_bundle_ref: str
    private: bytes


def profile_blob(respondent: str, values: ProfileValues, keys: SecretKeyOwner, key_bundle_ref: BlobId,
                 base_version: int) -> bytes:
    """Return the encoded blob of a new profile version, the private part encrypted under ``keys``."""
    private = keys.encrypt(values.private()).to_bytes()
    return encode(ProfileBlob(respondent, base_version, dict(values.public()), key_bundle_ref, private))


def read_profile(data: bytes, keys: SecretKeyOwner) -> ProfileValues:
    """Decode a profile blob and decrypt its private part with the respondent's keys; raises ValidationError."""
    blob = decode(data, ProfileBlob)
    private = keys.decrypt(Ciphertext.from_bytes(blob.private), len(PRIVATE_ATTRIBUTES))
    return ProfileValues.from_parts(blob.public, [int(v) for v in private])


def public_of(data: bytes) -> dict[str, int]:
    """The public part of a profile blob, as anyone may read it."""
    return {k: int(v) for k, v in decode(data, ProfileBlob).public.items()}  # type: ignore[arg-type]


def check_base_version(respondent: str, base_version: int, current_version: int) -> None:
    """Raise StaleProfileVersion unless a change is based on the current version."""
    if base_version != current_version:
        raise StaleProfileVersion(f"respondent {respondent}: profile change is based on version {base_version} "
                                  f"(current is {current_version})")
