"""Deterministic Ethereum identities derived from a scenario seed, a role and an index."""
from __future__ import annotations

from functools import lru_cache

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

from cipherquorum.exceptions import ValidationError

SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
"""The order n of secp256k1: a private key must lie in [1, n - 1]."""


def derive_private_key(seed: str, role: str, index: int) -> bytes:
    """Return the 32-byte private key for ``(seed, role, index)``.

    The key is keccak256(f"cipherquorum/{seed}/{role}/{index}"), hashed again until it lies in the
    secp256k1 range. Raises ValidationError if ``role`` is empty, contains "/", or ``index`` is negative.
    """
    if not role or "/" in role:
        raise ValidationError(f'"role" must be a non-empty name without "/" (got role={role!r})')
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise ValidationError(f'"index" must be an int >= 0 (got index={index!r})')
    key = keccak(f"cipherquorum/{seed}/{role}/{index}".encode())
    while not 0 < int.from_bytes(key, "big") < SECP256K1_ORDER:
        key = keccak(key)
    return key


@lru_cache(maxsize=65536)
def derive_account(seed: str, role: str, index: int) -> LocalAccount:
    """Return the signing account for ``(seed, role, index)``; the same inputs always give the same account.

    Results are cached, so asking again for a known identity costs nothing. Raises ValidationError as
    ``derive_private_key`` does.
    """
    return Account.from_key(derive_private_key(seed, role, index))
