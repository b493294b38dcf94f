"""The oblivious PRF on secp256k1 (as APSI's sender runs one): items become keyed hashes only the provider can make.

The requester blinds H(x) with a random scalar a and sends a*H(x); the provider answers k*(a*H(x)); the
requester removes a and holds k*H(x) without the provider seeing x. Each output names a field element (the
item as the polynomials see it) and a pad that hides the item's label. Without k nobody can map an item to
its field element, so the provider's published set says nothing about which identifiers it holds.
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

import coincurve

from cipherquorum.exceptions import PsiQueryError

CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
"""The order of secp256k1's group."""
POINT_BYTES = 33
"""A compressed point."""
_H2C = b"cipherquorum/psi/hash-to-curve"
_OUT = b"cipherquorum/psi/oprf-output"
_FELT = b"cipherquorum/psi/field-element"
_PAD = b"cipherquorum/psi/label-pad"


OprfOutput = bytes
"""The 32-byte hash of an item's OPRF output point: the seed of its field element and of its label pad."""
MAX_SALT = 1 << 16
"""Most salts a provider tries for a set whose field elements are distinct."""


def field_element(output: OprfOutput, salt: int, plain_modulus: int) -> int:
    """Return the item's field element in [0, t) under ``salt`` (the provider picks a salt that keeps its set's
    elements distinct, so a bin never holds one element twice with two labels)."""
    digest = hashlib.sha256(_FELT + salt.to_bytes(4, "big") + output).digest()
    return int.from_bytes(digest[:8], "big") % plain_modulus


def label_pad(output: OprfOutput, plain_modulus: int) -> int:
    """Return the pad in [0, t) added to the item's label: only who holds the item can remove it."""
    return int.from_bytes(hashlib.sha256(_PAD + output).digest()[:8], "big") % plain_modulus


def hash_to_point(data: bytes) -> coincurve.PublicKey:
    """Return a curve point from ``data`` by try-and-increment (the first counter whose hash is an x coordinate)."""
    for counter in range(256):
        x = hashlib.sha256(_H2C + counter.to_bytes(1, "big") + data).digest()
        try:
            return coincurve.PublicKey(b"\x02" + x)
        except ValueError:
            continue
    raise PsiQueryError(f"no curve point found for an item in 256 tries (item of {len(data)} bytes)")  # p ~ 2**-256


def output_hash(point: coincurve.PublicKey) -> OprfOutput:
    """Return the hash of an OPRF output point."""
    return hashlib.sha256(_OUT + point.format(compressed=True)).digest()


def _scalar_bytes(scalar: int) -> bytes:
    return scalar.to_bytes(32, "big")


class OprfKey:
    """The provider's OPRF key k. Evaluates its own items directly and the requester's blinded points."""

    def __init__(self, scalar: int) -> None:
        """Wrap the secret scalar (1 <= scalar < CURVE_ORDER); raises PsiQueryError otherwise."""
        if not 1 <= scalar < CURVE_ORDER:
            raise PsiQueryError(f"an OPRF key must be in [1, curve order) (got a scalar of {scalar.bit_length()} bits)")
        self._scalar = _scalar_bytes(scalar)

    @classmethod
    def from_seed(cls, seed: bytes) -> OprfKey:
        """Return the key derived from ``seed`` (a reproducible run derives it from the scenario's seed)."""
        value = int.from_bytes(hashlib.sha256(b"cipherquorum/psi/oprf-key" + seed).digest(), "big")
        return cls(value % (CURVE_ORDER - 1) + 1)

    def hash_items(self, encoded: Sequence[bytes]) -> list[OprfOutput]:
        """Return the OPRF output of each of the provider's own (encoded) items: output_hash(k * H(item))."""
        return [output_hash(hash_to_point(data).multiply(self._scalar)) for data in encoded]

    def evaluate(self, blinded: Sequence[bytes]) -> list[bytes]:
        """Return k * P for each blinded point P; raises PsiQueryError naming a point that does not parse."""
        answers = []
        for index, data in enumerate(blinded):
            if not isinstance(data, bytes) or len(data) != POINT_BYTES:
                raise PsiQueryError(f'"blinded[{index}]" must be a {POINT_BYTES}-byte compressed point '
                                    f"(got {type(data).__name__} of {len(data) if isinstance(data, bytes) else '?'})")
            try:
                point = coincurve.PublicKey(data)
            except ValueError:
                raise PsiQueryError(
                    f'"blinded[{index}]" is not a point of secp256k1 (got 0x{data.hex()[:16]}...)') from None
            answers.append(point.multiply(self._scalar).format(compressed=True))
        return answers


class BlindedItems:
    """The requester's side of the OPRF: its items blinded with fresh scalars it keeps until the answer comes."""

    def __init__(self, encoded: Sequence[bytes]) -> None:
        """Blind each encoded item with its own random scalar."""
        self._scalars = [secrets.randbelow(CURVE_ORDER - 1) + 1 for _ in encoded]
        self._points = [hash_to_point(data).multiply(_scalar_bytes(a)).format(compressed=True)
                        for data, a in zip(encoded, self._scalars)]

    @property
    def points(self) -> tuple[bytes, ...]:
        """The blinded points to send to the provider."""
        return tuple(self._points)

    def unblind(self, answers: Sequence[bytes]) -> list[OprfOutput]:
        """Return each item's OPRF output from the provider's answers; raises PsiQueryError for a wrong answer count or
        a bytes string that is not a point."""
        if len(answers) != len(self._scalars):
            raise PsiQueryError(f"OPRF answers must number {len(self._scalars)} (got {len(answers)})")
        hashes = []
        for index, (data, a) in enumerate(zip(answers, self._scalars)):
            try:
                point = coincurve.PublicKey(data)
            except (ValueError, TypeError):
                raise PsiQueryError(f'"answers[{index}]" is not a point of secp256k1') from None
            hashes.append(output_hash(point.multiply(_scalar_bytes(pow(a, -1, CURVE_ORDER)))))
        return hashes
