"""Inbound JSON-RPC params checked before eth-tester sees them: block parameters against the head, the gas of a
call against the cap, and a raw transaction's envelope and chain id."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import rlp  # type: ignore[import-untyped]  # pyrlp ships no type hints
from eth_utils import big_endian_to_int

from cipherquorum.devnet.codec import quantity_of
from cipherquorum.devnet.logindex import block_number_of
from cipherquorum.devnet.rpc import INVALID_PARAMS, RESOURCE_NOT_FOUND, SERVER_ERROR, RpcError

CALL_GAS_CAP = 50_000_000
"""The most gas an eth_call may ask for (geth's RPC gas cap); the block gas limit caps it further."""
TYPED_TRANSACTION_TYPES = frozenset({1, 2, 3, 4})
"""EIP-2718 envelopes this chain decodes: access list, dynamic fee, blob and set-code transactions."""
_BLOB_TRANSACTION_TYPE = 3


@dataclass(frozen=True)
class BlockParam:
    """Where a method takes its block parameter, and whether an unknown block means null (geth's answer for a
    block lookup) or "not found" (for state read at that block)."""

    index: int
    null_when_unknown: bool


BLOCK_PARAMS: dict[str, BlockParam] = {
    **{method: BlockParam(1, False) for method in (
        "eth_getBalance", "eth_getCode", "eth_getTransactionCount", "eth_call", "eth_estimateGas", "eth_feeHistory")},
    "eth_getStorageAt": BlockParam(2, False),
    **{method: BlockParam(0, True) for method in (
        "eth_getBlockByNumber", "eth_getBlockTransactionCountByNumber", "eth_getTransactionByBlockNumberAndIndex",
        "eth_getUncleCountByBlockNumber", "eth_getUncleByBlockNumberAndIndex")},
}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def block_is_known(method: str, params: list[Any], head: int) -> bool:
    """Whether ``method``'s block parameter, if it has one, names a block up to ``head`` (a tag always does).

    Returns False for a later block when the method answers such a lookup with null. Raises RpcError: invalid
    params for a value that is no block number or tag, "not found" for a later block where state is read.
    """
    where = BLOCK_PARAMS.get(method)
    if where is None or len(params) <= where.index:
        return True
    value = params[where.index]
    try:
        number = block_number_of(value, head, "block")
    except ValueError:
        raise RpcError(INVALID_PARAMS, f'{method}: "block" must be a 0x-hex block number or one of latest, '
                                       f"earliest, pending, safe, finalized (got {_shown(value)})") from None
    if number <= head:
        return True
    if where.null_when_unknown:
        return False
    raise RpcError(RESOURCE_NOT_FOUND, f"{method}: no block {number} on this chain (the head is block {head})")


def with_call_gas_capped(params: list[Any], cap_gas: int) -> list[Any]:
    """Return eth_call's params with a "gas" above ``cap_gas`` lowered to it (a malformed one is left to eth-tester)."""
    if not params or not isinstance(params[0], Mapping) or "gas" not in params[0]:
        return params
    try:
        gas = quantity_of(params[0]["gas"], "gas")
    except RpcError:
        return params
    return [{**params[0], "gas": hex(cap_gas)}, *params[1:]] if gas > cap_gas else params


def raw_transaction_of(params: list[Any]) -> bytes:
    """Return the bytes of eth_sendRawTransaction's one param; raises RpcError (invalid params) otherwise."""
    if len(params) != 1:
        raise RpcError(INVALID_PARAMS, f"eth_sendRawTransaction takes [raw transaction] (got {len(params)} params)")
    value = params[0]
    if not isinstance(value, str) or not value.startswith("0x"):
        raise RpcError(INVALID_PARAMS, f'"raw transaction" must be 0x-prefixed hex (got {_shown(value)})')
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise RpcError(INVALID_PARAMS, f'"raw transaction" must be 0x-prefixed hex (got {_shown(value)})') from None
    if not raw:
        raise RpcError(INVALID_PARAMS, '"raw transaction" is empty (got "0x")')
    return raw


def chain_id_of(raw: bytes) -> int | None:
    """Return the chain id a signed transaction commits to; None for a legacy one signed without (pre-EIP-155).

    Reads only the envelope: a legacy transaction is an RLP list of nine fields whose v encodes the chain id, a
    typed one a type byte and an RLP list that starts with it. Raises RpcError (invalid params) otherwise.
    """
    kind = raw[0]
    if kind < 0xC0 and kind not in TYPED_TRANSACTION_TYPES:
        raise RpcError(INVALID_PARAMS, f"unknown transaction type {kind:#04x} (this chain takes legacy "
                                       f"transactions and types {sorted(TYPED_TRANSACTION_TYPES)})")
    try:
        fields = rlp.decode(raw if kind >= 0xC0 else raw[1:])
        if kind >= 0xC0:
            if len(fields) != 9:
                raise ValueError(f"a legacy transaction has 9 fields (got {len(fields)})")
            v = big_endian_to_int(fields[6])
            if v in (27, 28):
                return None
            if v < 35:
                raise ValueError(f"v must be 27, 28 or >= 35 (got {v})")
            return (v - 35) // 2
        if kind == _BLOB_TRANSACTION_TYPE and fields and isinstance(fields[0], list):
            fields = fields[0]  # the network form: [transaction, blobs, commitments, proofs]
        return big_endian_to_int(fields[0])
    except (rlp.exceptions.RLPException, ValueError, TypeError, IndexError) as exc:
        raise RpcError(INVALID_PARAMS, f"the raw transaction does not decode: {exc}") from None


def check_chain_id(raw: bytes, chain_id: int) -> None:
    """Refuse a raw transaction that is not for ``chain_id``, as geth does: RpcError (server error) naming both."""
    signed_for = chain_id_of(raw)
    if signed_for is None:
        raise RpcError(SERVER_ERROR, "only replay-protected (EIP-155) transactions are allowed over RPC: the "
                                     "transaction names no chain id")
    if signed_for != chain_id:
        raise RpcError(SERVER_ERROR, f"invalid chain id for signer: the transaction is for chain id {signed_for}, "
                                     f"this chain's id is {chain_id}")


__all__ = [
    "BLOCK_PARAMS",
    "CALL_GAS_CAP",
    "TYPED_TRANSACTION_TYPES",
    "BlockParam",
    "block_is_known",
    "chain_id_of",
    "check_chain_id",
    "raw_transaction_of",
    "with_call_gas_capped",
]
