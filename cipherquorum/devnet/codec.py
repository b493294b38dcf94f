"""Outbound and inbound JSON-RPC values: hex quantities and data, and the revert data of a failed call."""
from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from eth_abi import abi
from eth_tester.exceptions import TransactionFailed as TesterTransactionFailed

from cipherquorum.devnet.rpc import INVALID_PARAMS, RpcError

_ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")


def to_json(value: Any) -> Any:
    """Return ``value`` in JSON-RPC form: ints as hex quantities, bytes as 0x-hex data, containers recursively.

    Raises TypeError for a value of any other type.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    raise TypeError(f"cannot encode {type(value).__name__} as JSON-RPC")


def quantity_of(value: Any, name: str) -> int:
    """Return a JSON-RPC quantity (int or hex string) as an int >= 0; raises RpcError (invalid params) otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        try:
            number = int(value, 16) if value.startswith("0x") else int(value)
        except ValueError:
            raise RpcError(INVALID_PARAMS, f'"{name}" must be a quantity (got {value!r})') from None
    else:
        raise RpcError(INVALID_PARAMS, f'"{name}" must be a quantity (got {value!r})')
    if number < 0:
        raise RpcError(INVALID_PARAMS, f'"{name}" must be >= 0 (got {number})')
    return number


def revert_data_of(exc: TesterTransactionFailed) -> bytes:
    """Return the raw revert data eth-tester wrapped in ``exc``.

    eth_estimateGas wraps the py-evm Revert (whose first argument is the data); eth_call passes the data
    through ``str()``; a plain reason string becomes an ``Error(string)`` payload.
    """
    reason: Any = exc.args[0] if exc.args else b""
    if isinstance(reason, Exception):
        reason = reason.args[0] if reason.args else b""
    if isinstance(reason, (bytes, bytearray)):
        return bytes(reason)
    text = str(reason)
    if text.startswith(("b'", 'b"')):
        try:
            literal = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            literal = None
        if isinstance(literal, bytes):
            return literal
    return _ERROR_STRING_SELECTOR + abi.encode(["string"], [text])


__all__ = ["quantity_of", "revert_data_of", "to_json"]
