"""A client's mistake is answered as one: invalid params, a server error with a clear message or "not found", never
an internal error, and logged in at most one line without a traceback."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount

from cipherquorum.devnet import Devnet

ADDRESS = "0x" + "11" * 20
NOT_FOUND = -32001


def signed(account: LocalAccount, **fields: Any) -> str:
    transaction = {"to": ADDRESS, "value": 1, "gas": 21000, "gasPrice": 10**10, "nonce": 0, **fields}
    unsigned = {key: value for key, value in transaction.items() if value is not None}
    return "0x" + account.sign_transaction(unsigned).raw_transaction.hex()


def bad_raw_transactions(chain_id: int, account: LocalAccount) -> dict[str, tuple[str, int]]:
    """Raw transactions the devnet must refuse, with the code each gets."""
    good = signed(account, chainId=chain_id)
    return {
        "wrong chain id": (signed(account, chainId=chain_id + 1), -32000),
        "no chain id": (signed(account, chainId=None), -32000),
        "truncated": (good[:-20], -32602),
        "trailing bytes": (good + "00", -32602),
        "unknown type": ("0x05" + good[4:], -32602),
    }


CASES: list[tuple[str, list[Any], int | None]] = [
    ("eth_sendRawTransaction", ["0x00"], -32602),
    ("eth_sendRawTransaction", ["0xdeadbeef"], -32602),
    ("eth_sendRawTransaction", ["0x"], -32602),
    ("eth_sendRawTransaction", ["zz"], -32602),
    ("eth_sendRawTransaction", [5], -32602),
    ("eth_sendRawTransaction", [], -32602),
    ("eth_getBlockByNumber", [hex(2**64), False], None),
    ("eth_getBlockByNumber", ["Latest", False], -32602),
    ("eth_getBlockByNumber", ["soon", False], -32602),
    ("eth_getBlockByNumber", [-1, False], -32602),
    ("eth_getBlockByNumber", ["0x", False], -32602),
    ("eth_getBlockByNumber", [1.5, False], -32602),
    ("eth_getBlockByNumber", [], -32602),
    ("eth_getBlockByHash", ["0x" + "00" * 32, False], None),
    ("eth_getBlockByHash", ["0x12", False], -32602),
    ("eth_getTransactionReceipt", ["0x12"], -32602),
    ("eth_getBalance", [ADDRESS, hex(10**6)], NOT_FOUND),
    ("eth_getBalance", [ADDRESS, "bogus"], -32602),
    ("eth_getBalance", [ADDRESS, "-0x1"], -32602),
    ("eth_getTransactionCount", [ADDRESS, hex(2**64)], NOT_FOUND),
    ("eth_getCode", ["0x12", "latest"], -32602),
    ("eth_getStorageAt", [ADDRESS, "0x0", hex(10**6)], NOT_FOUND),
    ("eth_getStorageAt", [ADDRESS, hex(2**300), "latest"], -32602),
    ("eth_call", [{"to": ADDRESS}, hex(2**64)], NOT_FOUND),
    ("eth_call", [{"to": ADDRESS, "value": hex(2**300)}, "latest"], -32602),
    ("eth_call", [{"to": "0x12"}, "latest"], -32602),
    ("eth_estimateGas", [{"to": ADDRESS, "value": hex(10**40)}], -32000),
    ("eth_feeHistory", ["0x1", hex(10**6), []], NOT_FOUND),
    ("eth_feeHistory", ["0x1", "Latest", []], -32602),
    ("eth_getTransactionByBlockNumberAndIndex", ["soon", "0x0"], -32602),
    ("eth_getLogs", [{"fromBlock": "soon"}], -32602),
]


def devnet_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name.startswith("cipherquorum")]


def assert_answered_as_a_client_mistake(
    caplog: pytest.LogCaptureFixture, url: str, method: str, params: list[Any], code: int | None
) -> dict[str, Any]:
    caplog.clear()
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    reply = requests.post(url, json=body, timeout=10).json()
    if code is None:
        assert reply["result"] is None, reply
    else:
        assert reply["error"]["code"] == code, reply
    records = devnet_records(caplog)
    assert len(records) <= 1 and not any(record.exc_info for record in records)
    return reply


@pytest.mark.parametrize(("method", "params", "code"), CASES)
def test_bad_params_get_the_client_error_code_and_no_traceback(
    devnet: Devnet, caplog: pytest.LogCaptureFixture, method: str, params: list[Any], code: int | None
) -> None:
    """Undecodable raw transactions, bad or unknown block numbers and malformed values are the client's errors."""
    caplog.set_level(logging.DEBUG)
    assert_answered_as_a_client_mistake(caplog, devnet.url, method, params, code)


@pytest.mark.parametrize("case", ["wrong chain id", "no chain id", "truncated", "trailing bytes", "unknown type"])
def test_bad_raw_transactions_are_refused_with_a_clear_message(
    devnet: Devnet, accounts: Callable[[str, int], LocalAccount], caplog: pytest.LogCaptureFixture, case: str
) -> None:
    """A signed transaction for another chain or none, or one that does not decode, is refused before eth-tester
    runs it, so a funded sender's transaction for another chain is not mined here."""
    caplog.set_level(logging.DEBUG)
    raw, code = bad_raw_transactions(devnet.chain_id, accounts("client-errors", 0))[case]
    reply = assert_answered_as_a_client_mistake(caplog, devnet.url, "eth_sendRawTransaction", [raw], code)
    if case.endswith("chain id"):
        assert "chain id" in reply["error"]["message"]


def test_a_revert_to_an_unknown_snapshot_is_not_found(devnet: Devnet, caplog: pytest.LogCaptureFixture) -> None:
    """evm_revert of a snapshot id that was never taken answers "not found" naming the id."""
    caplog.set_level(logging.DEBUG)
    reply = assert_answered_as_a_client_mistake(caplog, devnet.admin_url, "evm_revert", ["0x99"], NOT_FOUND)
    assert "153" in reply["error"]["message"] or "0x99" in reply["error"]["message"]


def test_a_signed_transaction_for_this_chain_is_still_mined(devnet: Devnet) -> None:
    """The raw-transaction checks let a well-formed transaction for this chain through."""
    account = Account.from_key(b"\x07" * 32)
    devnet.fund(account.address, 10**18)
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction",
            "params": [signed(account, chainId=devnet.chain_id)]}
    assert requests.post(devnet.url, json=body, timeout=10).json()["result"].startswith("0x")
