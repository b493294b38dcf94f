"""Receipts read as plain JSON: the fields the binding uses, and a typed error for a malformed answer."""
from __future__ import annotations

import pytest

from cipherquorum.chain.connection import receipt_of
from cipherquorum.exceptions import ChainError

ANSWER = {
    "status": "0x1",
    "gasUsed": "0x5208",
    "blockNumber": "0x1f",
    "transactionHash": "0x" + "ab" * 32,
    "contractAddress": "0x" + "5a" * 20,
    "logs": [{"topics": [], "data": "0x"}],
}


def test_a_receipt_becomes_python_values() -> None:
    receipt = receipt_of(ANSWER)
    assert receipt["status"] == 1
    assert receipt["gasUsed"] == 21000
    assert receipt["blockNumber"] == 31
    assert receipt["transactionHash"] == bytes.fromhex("ab" * 32)
    assert receipt["contractAddress"] == "0x5a5A5a5a5A5a5a5a5a5A5a5A5A5a5a5A5A5A5A5A"
    assert receipt["logs"] == ANSWER["logs"]


def test_a_receipt_of_a_call_creates_no_contract() -> None:
    assert receipt_of({**ANSWER, "contractAddress": None})["contractAddress"] is None


@pytest.mark.parametrize(("field", "value"), [("status", None), ("gasUsed", "zz"), ("transactionHash", 7),
                                              ("logs", None)])
def test_a_malformed_receipt_is_a_chain_error_naming_it(field: str, value: object) -> None:
    with pytest.raises(ChainError, match="malformed transaction receipt"):
        receipt_of({**ANSWER, field: value})


def test_a_receipt_without_a_field_names_the_field() -> None:
    answer = {key: value for key, value in ANSWER.items() if key != "blockNumber"}
    with pytest.raises(ChainError, match="blockNumber"):
        receipt_of(answer)


def test_an_answer_that_is_not_a_map_is_a_chain_error() -> None:
    with pytest.raises(ChainError, match=r"\['0x1'\]"):
        receipt_of(["0x1"])  # type: ignore[arg-type]
