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


def run_addresses(seed: str, nodes: int, clients: int) -> list[str]:
    """The addresses a run of ``seed`` funds: the deployer, then ``nodes`` compute nodes, then ``clients`` clients."""
    accounts = [derive_account(seed, "deployer", 0)]
    accounts += [derive_account(seed, "node", index) for index in range(nodes)]
    accounts += [derive_account(seed, "client", index) for index in range(clients)]
    return [account.address for account in accounts]


def private_key_problem(text: object) -> str | None:
    """What makes ``text`` not a private key of 64 hex digits (with or without "0x"), as the end of an error
    message ("must be 64 hex digits ... (got 12 characters; not shown)"); None when it is one. The message
    names the text's type, length or range, never the text."""
    if not isinstance(text, str):
        return f"must be a string of 64 hex digits (got a {type(text).__name__}; not shown)"
    digits = text.strip()
    digits = digits[2:] if digits[:2].lower() == "0x" else digits
    if len(digits) != 64:
        return f"must be 64 hex digits, with or without 0x (got {len(digits)} characters; not shown)"
    if any(char not in "0123456789abcdefABCDEF" for char in digits):
        return "must be 64 hex digits, with or without 0x (got a character that is not hex; not shown)"
    if not 0 < int(digits, 16) < SECP256K1_ORDER:
        return "must lie in [1, n - 1] for secp256k1's order n (got a value outside it; not shown)"
    return None


def parse_private_key(text: object, name: str) -> LocalAccount:
    """Return the signing account of a private key given as 64 hex digits, with or without "0x".

    ``name`` says where the key came from (a field, an environment variable). Raises ValidationError naming
    ``name`` and what is wrong (``private_key_problem``), never the key itself.
    """
    problem = private_key_problem(text)
    if problem is not None:
        raise ValidationError(f'"{name}" {problem}')
    assert isinstance(text, str)
    digits = text.strip()
    return Account.from_key(bytes.fromhex(digits[2:] if digits[:2].lower() == "0x" else digits))
