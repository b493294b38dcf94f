"""The parameters of one PSI task as its manifest carries them, checked, and what a node derives from them."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from cipherquorum.exceptions import ProviderSetTooLarge, PsiItemError, ValidationError
from cipherquorum.psi.field import Vector, check_modulus, evaluate
from cipherquorum.psi.hashing import HASH_COUNT, Bundles, bundle_items
from cipherquorum.psi.polynomials import BundleCoefficients, bundle_coefficients
from cipherquorum.psi.windowing import PowerPlan

PARAM_NAMES = ("items", "labels", "part_size", "window_bits", "max_bundles", "query_digest")
MAX_PART_SIZE = 64
MAX_WINDOW_BITS = 4
MAX_BUNDLES = 64
MAX_POWER_DEPTH = 2
"""Multiplications deep a node may build powers: the psi preset's noise budget holds two levels (measured)."""
DIGEST_HEX = 64


def query_digest(inputs: Sequence[bytes]) -> str:
    """Return sha256 (hex) over the input ciphertexts' canonical bytes, each prefixed by its 8-byte length."""
    digest = hashlib.sha256()
    for data in inputs:
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def capacity(slots: int, part_size: int, max_bundles: int) -> int:
    """Most provider items a task takes: every item fills HASH_COUNT bin places out of slots * room per bin."""
    return slots * part_size * max_bundles // HASH_COUNT


def _int(params: Mapping[str, object], name: str, high: int) -> int:
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise ValidationError(f'"{name}" must be an int in [1, {high}] (got {name}={value!r})')
    return value


def _field_list(params: Mapping[str, object], name: str, t: int) -> tuple[int, ...]:
    value = params.get(name)
    if not isinstance(value, (tuple, list)) or not value:
        raise ValidationError(f'"{name}" must be a non-empty list of field elements (got {type(value).__name__})')
    for index, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item < t:
            raise PsiItemError(f'"{name}[{index}]" must be a field element, an int in [0, {t}) (got {item!r:.40})')
    return tuple(value)


@dataclass(frozen=True)
class PsiTask:
    """One PSI task: the provider's (OPRF-hashed) field elements, their padded labels (None: unlabeled), the
    bundle shape and the digest of the query ciphertexts the masks are seeded with."""

    items: tuple[int, ...]
    labels: tuple[int, ...] | None
    part_size: int
    window_bits: int
    max_bundles: int
    query_digest: str

    @classmethod
    def from_params(cls, params: Mapping[str, object], slots: int, plain_modulus: int) -> PsiTask:
        """Return the task the params describe; raises ValidationError (PsiItemError, ProviderSetTooLarge) naming
        the parameter: a missing or unknown name, a value out of range, a repeated item, too many items."""
        check_modulus(plain_modulus)
        for name in params:
            if name not in PARAM_NAMES:
                raise ValidationError(f"psi takes no parameter {name!r} (allowed: {', '.join(PARAM_NAMES)})")
        part_size = _int(params, "part_size", MAX_PART_SIZE)
        window_bits = _int(params, "window_bits", MAX_WINDOW_BITS)
        max_bundles = _int(params, "max_bundles", MAX_BUNDLES)
        items = _field_list(params, "items", plain_modulus)
        room = capacity(slots, part_size, max_bundles)
        if len(items) > room:
            raise ProviderSetTooLarge(
                f'"items" must number <= {room} for {slots} slots, part_size={part_size}, max_bundles={max_bundles} '
                f"(got {len(items)} items)")
        if len(set(items)) != len(items):
            seen: dict[int, int] = {}
            for index, item in enumerate(items):
                if item in seen:
                    raise PsiItemError(f'"items[{index}]" repeats "items[{seen[item]}]" (got {item})')
                seen[item] = index
        labels = None
        if "labels" in params:
            labels = _field_list(params, "labels", plain_modulus)
            if len(labels) != len(items):
                raise PsiItemError(f'"labels" must hold one label per item ({len(items)}) (got {len(labels)})')
        digest = params.get("query_digest")
        if not isinstance(digest, str) or len(digest) != DIGEST_HEX or any(c not in "0123456789abcdef" for c in digest):
            raise ValidationError(f'"query_digest" must be {DIGEST_HEX} lowercase hex digits (got {digest!r:.80})')
        plan = PowerPlan.build(part_size, window_bits)
        if plan.depth > MAX_POWER_DEPTH:
            raise ValidationError(f"part_size={part_size} with window_bits={window_bits} needs powers {plan.depth} "
                                  f"multiplications deep; the noise budget holds {MAX_POWER_DEPTH} (widen the window)")
        return cls(items, labels, part_size, window_bits, max_bundles, digest)

    def to_params(self) -> dict[str, object]:
        """Return the manifest params of this task."""
        params: dict[str, object] = {"items": list(self.items), "part_size": self.part_size,
                                     "window_bits": self.window_bits, "max_bundles": self.max_bundles,
                                     "query_digest": self.query_digest}
        if self.labels is not None:
            params["labels"] = list(self.labels)
        return params

    @property
    def labeled(self) -> bool:
        """Whether the task returns labels."""
        return self.labels is not None

    @property
    def plan(self) -> PowerPlan:
        """The powers the query must carry and how the node builds the others."""
        return PowerPlan.build(self.part_size, self.window_bits)

    def seed(self) -> bytes:
        """The masks' seed: a hash of everything the task takes (query digest, items, labels, shape)."""
        digest = hashlib.sha256(b"cipherquorum/psi/task")
        digest.update(bytes.fromhex(self.query_digest))
        digest.update(np.asarray(self.items, dtype=np.int64).tobytes())
        digest.update(b"labels" + np.asarray(self.labels or (), dtype=np.int64).tobytes())
        digest.update(bytes([self.part_size, self.window_bits, self.max_bundles]))
        return digest.digest()

    def bundles(self, slots: int) -> Bundles:
        """The provider's items in bins, split into bundles; raises ProviderSetTooLarge for an overfull bin."""
        return bundle_items(self.items, self.labels, slots, self.part_size, self.max_bundles)

    def coefficients(self, slots: int, plain_modulus: int) -> list[BundleCoefficients]:
        """The masked plaintext coefficients of every bundle."""
        return bundle_coefficients(self.bundles(slots), plain_modulus, self.seed(), self.labeled)

    def expected(self, query: Sequence[int], slots: int, plain_modulus: int) -> list[Vector]:
        """What the results decrypt to on the plaintext query (slot values in [0, t)): per bundle the match
        vector, then the label vector when labeled."""
        xs = np.zeros(slots, dtype=np.int64)
        xs[:len(query)] = np.asarray(query, dtype=np.int64) % plain_modulus
        vectors = []
        for coeffs in self.coefficients(slots, plain_modulus):
            vectors.append(evaluate(coeffs.match, xs, plain_modulus))
            if coeffs.label is not None:
                vectors.append(evaluate(coeffs.label, xs, plain_modulus))
        return vectors
