"""JSON-RPC error codes and the error a devnet request is answered with."""
from __future__ import annotations

from typing import Any

from cipherquorum.exceptions import ChainError

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_ERROR = -32000
RESOURCE_NOT_FOUND = -32001
EXECUTION_REVERTED = 3
"""JSON-RPC error codes; -32001 is EIP-1474's "resource not found" (a block, transaction, snapshot or filter);
3 carries revert data, as geth and anvil answer eth_call and eth_estimateGas."""


class RpcError(ChainError):
    """The chain answered a request with a JSON-RPC error: ``code``, ``message`` and optional ``data``."""

    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def as_error(self) -> dict[str, Any]:
        """Return the JSON-RPC error object."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


__all__ = [
    "EXECUTION_REVERTED",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "RESOURCE_NOT_FOUND",
    "SERVER_ERROR",
    "RpcError",
]
