"""Pairwise masks that cancel in the owners' sum (secure aggregation in the way of Bonawitz et al., no dropouts).

Each owner holds a secp256k1 masking key and publishes its public key. Owners i and j share the seed
keccak256(ECDH(i, j) || label), the label naming the workflow, round and task; keccak in counter mode expands it
to a mask vector mod the plain modulus t. Owner i adds sum_{j>i} m_ij - sum_{j<i} m_ji (mod t, centered into
BFV's signed range) to its contribution, so what the key holder could decrypt of one owner is uniform mod t,
while the masks cancel exactly in the sum over every owner of the roster.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import coincurve
from eth_hash.auto import keccak

from cipherquorum.exceptions import ValidationError

MASK_KEY_KIND = "masking-key"
"""The storage index kind under which an owner publishes its masking public key."""
MASK_KEY_NAME = "secp256k1"
"""The index name of that key (one key per owner, every job's label separates the seeds)."""
_PRG = b"cipherquorum/joint/mask-prg"


def new_masking_key() -> coincurve.PrivateKey:
    """A fresh random secp256k1 masking key (kept by its owner)."""
    return coincurve.PrivateKey()


def pair_seed(own_key: coincurve.PrivateKey, peer_public: bytes, label: str) -> bytes:
    """keccak256(ECDH(own, peer) || label): the same for both owners of the pair.

    Raises ValidationError for a peer key that is not a secp256k1 point.
    """
    try:
        shared = own_key.ecdh(peer_public)
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"a masking public key must be a secp256k1 point (got {peer_public[:8].hex()}...: "
                              f"{exc})") from None
    return bytes(keccak(shared + label.encode()))


def mask_vector(seed: bytes, length: int, modulus: int) -> list[int]:
    """``length`` values in [0, modulus): keccak256(prefix || seed || counter) mod modulus, slot by slot."""
    return [int.from_bytes(keccak(_PRG + seed + k.to_bytes(4, "big")), "big") % modulus for k in range(length)]


def owner_mask(own_name: str, own_key: coincurve.PrivateKey, roster: Sequence[str], public_keys: Mapping[str, bytes],
               label: str, length: int, modulus: int) -> list[int]:
    """Owner ``own_name``'s net mask in [0, modulus): the masks of its pairs with every other owner of ``roster``,
    added for a later owner and subtracted for an earlier one (roster order).

    Raises ValidationError when the owner is not in the roster, the roster names an owner twice or has fewer
    than two owners, or a peer's public key is missing.
    """
    if len(set(roster)) != len(roster) or len(roster) < 2:
        raise ValidationError(f"a masking roster needs >= 2 distinct owners (got roster={list(roster)})")
    if own_name not in roster:
        raise ValidationError(f"owner {own_name!r} is not in the masking roster (got roster={list(roster)})")
    missing = [peer for peer in roster if peer != own_name and peer not in public_keys]
    if missing:
        raise ValidationError(f"no masking public key for owners {missing} (roster={list(roster)})")
    position = roster.index(own_name)
    total = [0] * length
    for index, peer in enumerate(roster):
        if peer == own_name:
            continue
        sign = 1 if index > position else -1
        pair = mask_vector(pair_seed(own_key, public_keys[peer], label), length, modulus)
        total = [(value + sign * m) % modulus for value, m in zip(total, pair)]
    return total


def apply_mask(values: Sequence[int], mask: Sequence[int], modulus: int) -> list[int]:
    """(value + mask) mod modulus, centered into [-(modulus-1)/2, (modulus-1)/2] as BFV's signed slots are.

    Raises ValidationError when the lengths differ.
    """
    if len(values) != len(mask):
        raise ValidationError(f"a mask must cover every slot of the contribution (got {len(mask)} mask values for "
                              f"{len(values)} slots)")
    return [centered((int(v) + m) % modulus, modulus) for v, m in zip(values, mask)]


def centered(value: int, modulus: int) -> int:
    """``value`` mod ``modulus`` in the signed range [-(modulus-1)/2, (modulus-1)/2]."""
    value %= modulus
    return value - modulus if value > (modulus - 1) // 2 else value
