"""Every public method of Devnet raises only cipherquorum's errors, never eth-tester's, py-evm's or its own
JSON-RPC failure type."""
from __future__ import annotations

from typing import Any

import pytest
from eth_tester import EthereumTester
from web3 import Web3

from cipherquorum.devnet import Devnet
from cipherquorum.exceptions import ChainError, TransactionFailed, ValidationError

REVERTING_CONTRACT_INITCODE = "0x6460006000fd6000526005601bf3"
"""Deploys runtime code ``PUSH1 0 PUSH1 0 REVERT``: every call to it, a plain transfer included, fails."""


@pytest.mark.parametrize(
    ("arguments", "name"),
    [
        ({"port": "8545"}, "port"),
        ({"port": 1.5}, "port"),
        ({"port": True}, "port"),
        ({"port": -1}, "port"),
        ({"port": 65536}, "port"),
        ({"host": None}, "host"),
        ({"host": ""}, "host"),
        ({"host": 5}, "host"),
        ({"max_body_bytes": None}, "max_body_bytes"),
        ({"max_body_bytes": 100}, "max_body_bytes"),
        ({"max_batch": "10"}, "max_batch"),
        ({"max_batch": 0}, "max_batch"),
        ({"admin_methods": "yes"}, "admin_methods"),
        ({"admin_methods": 1}, "admin_methods"),
        ({"call_timeout_s": 0}, "call_timeout_s"),
        ({"call_timeout_s": float("nan")}, "call_timeout_s"),
        ({"call_timeout_s": True}, "call_timeout_s"),
        ({"batch_timeout_s": "2"}, "batch_timeout_s"),
        ({"batch_timeout_s": -1.0}, "batch_timeout_s"),
        ({"batch_timeout_s": float("inf")}, "batch_timeout_s"),
    ],
)
def test_bad_constructor_arguments_raise_validation_error_naming_them(arguments: dict[str, Any], name: str) -> None:
    """A wrongly typed or out-of-range argument is a ValidationError naming it, not a TypeError at start()."""
    with pytest.raises(ValidationError, match=f'"{name}"'):
        Devnet(**arguments)


def test_funding_more_than_a_funder_holds_raises_chain_error(devnet: Devnet) -> None:
    """A transfer larger than the prefunded balance is refused by the chain: ChainError naming the address."""
    recipient = "0x" + "33" * 20
    with pytest.raises(ChainError, match=f"funding {recipient}"):
        devnet.fund(recipient, 10**40)


def test_funding_a_contract_that_refuses_the_transfer_raises_transaction_failed(devnet: Devnet) -> None:
    """A transfer mined with status 0 (the recipient's code cannot run on 21000 gas) is TransactionFailed."""
    web3 = Web3(Web3.HTTPProvider(devnet.admin_url))
    deployment = web3.eth.send_transaction(
        {"from": devnet.funders[0], "data": REVERTING_CONTRACT_INITCODE, "gas": 100_000}
    )
    contract = web3.eth.get_transaction_receipt(deployment)["contractAddress"]
    with pytest.raises(TransactionFailed, match="status 0"):
        devnet.fund(contract, 1)


def test_an_unexpected_chain_error_while_funding_becomes_chain_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever eth-tester raises while funding (here a KeyError) reaches the caller as ChainError."""

    def broken_send_transaction(self: EthereumTester, transaction: dict[str, Any]) -> str:
        raise KeyError("nonce")

    chain = Devnet()
    monkeypatch.setattr(EthereumTester, "send_transaction", broken_send_transaction)
    with pytest.raises(ChainError, match=r"funding .* failed"):
        chain.fund_many(["0x" + "44" * 20], 1)
