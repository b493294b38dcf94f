"""What a JSON-RPC method raised, answered as a JSON-RPC error: a client's mistake as invalid params, "not found"
or a server error with the library's message, and not logged (the reply says it all); anything else as an
internal error with its traceback logged, because it is a bug of the devnet."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from eth.exceptions import PyEVMError
from eth_keys.exceptions import BadSignature
from eth_tester.exceptions import AccountLocked, BlockNotFound, FilterNotFound, SnapshotNotFound, TransactionNotFound
from eth_tester.exceptions import TransactionFailed as TesterTransactionFailed
from eth_tester.exceptions import ValidationError as TesterValidationError
from eth_utils.exceptions import ValidationError as EvmValidationError
from rlp.exceptions import RLPException  # type: ignore[import-untyped]  # pyrlp ships no type hints
from web3.exceptions import ContractLogicError, Web3Exception

from cipherquorum.devnet.rpc import (
    EXECUTION_REVERTED,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    RESOURCE_NOT_FOUND,
    SERVER_ERROR,
    RpcError,
)

logger = logging.getLogger(__name__)

_CLIENT_ERRORS: tuple[tuple[tuple[type[Exception], ...], int], ...] = (
    ((BlockNotFound, TransactionNotFound, FilterNotFound, SnapshotNotFound), RESOURCE_NOT_FOUND),
    # eth-tester's inbound validation, undecodable transactions and signatures, malformed values
    ((TesterValidationError, RLPException, BadSignature, TypeError, ValueError, KeyError, IndexError,
      AttributeError), INVALID_PARAMS),
    # what py-evm refuses to run (nonce, balance, gas, signer, fork rules) and what eth-tester or web3 refuse
    ((EvmValidationError, PyEVMError, TesterTransactionFailed, AccountLocked, Web3Exception), SERVER_ERROR),
)
"""Errors a request can cause by its params alone, and the JSON-RPC code each is answered with (first match)."""
_PREFIXES = {RESOURCE_NOT_FOUND: "not found", INVALID_PARAMS: "invalid params", SERVER_ERROR: "refused"}


def _describe(exc: Exception) -> str:
    text = str(exc)
    if not text or isinstance(exc, (KeyError, TypeError, IndexError, AttributeError)):
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text


@contextmanager
def answered_as_rpc_errors(method: str) -> Iterator[None]:
    """Turn whatever running ``method`` raises into the RpcError a JSON-RPC client is answered with."""
    try:
        yield
    except RpcError:
        raise
    except ContractLogicError as exc:
        data = exc.data if isinstance(exc.data, str) else None
        raise RpcError(EXECUTION_REVERTED, "execution reverted", data) from None
    except Exception as exc:  # the server must keep serving whatever one request does
        for classes, code in _CLIENT_ERRORS:
            if isinstance(exc, classes):
                raise RpcError(code, f"{method}: {_PREFIXES[code]}: {_describe(exc)}") from None
        logger.warning("JSON-RPC %s failed", method, exc_info=True)
        raise RpcError(INTERNAL_ERROR, f"{method} failed: {exc!r}") from None


__all__ = ["answered_as_rpc_errors"]
