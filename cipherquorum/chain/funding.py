"""An external chain the run joins: checked before anything starts, and the run's accounts funded on it."""
from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TransactionNotFound
from web3.types import TxParams

from cipherquorum.chain.errors import TRANSLATED_ERRORS, translate_error
from cipherquorum.chain.transport import KeepAliveHTTPProvider
from cipherquorum.exceptions import ChainError, ChainUnavailable, TransactionFailed, ValidationError

CONNECT_TIMEOUT_S = 5.0
"""How long the chain gets to answer each pre-flight request."""
MAX_IN_FLIGHT = 16
"""Most funding transfers sent and not yet mined at once."""
TRANSFER_GAS = 21_000
RECEIPT_TIMEOUT_S = 120.0
"""Longest a funding transfer may take to be mined."""


@dataclass(frozen=True)
class KeyFunder:
    """The account of a private key pays (signed here, sent raw); ``source`` says where the key came from."""

    account: LocalAccount = field(repr=False)
    source: str = "a funder key"


@dataclass(frozen=True)
class NodeFunder:
    """The node's own unlocked accounts pay (eth_accounts and eth_sendTransaction, as anvil, hardhat and geth
    --dev offer): the first whose balance covers the run."""


Funder = KeyFunder | NodeFunder


@dataclass(frozen=True)
class Transfer:
    """``amount_wei`` to send to ``to``."""

    to: str
    amount_wei: int


@dataclass(frozen=True)
class FundingPlan:
    """What a funder sends: ``transfers`` from ``sender`` (``funder`` says how it signs), each capped at
    ``fee_cap_wei`` per gas, and the ``balance_wei`` that was checked to cover ``needed_wei``."""

    funder: Funder
    sender: str
    transfers: tuple[Transfer, ...]
    fee_cap_wei: int
    tip_wei: int
    needed_wei: int
    balance_wei: int


class ExternalChain:
    """A JSON-RPC node at ``rpc_url`` that the run joins rather than starts.

    ``check()`` makes sure it answers (and is the chain ``expected_chain_id`` names, when not 0), ``plan_funding``
    works out what a funder must send and checks that it can, and ``fund`` sends it. Every public method raises
    only cipherquorum's errors; none shows a funder's key.
    """

    def __init__(self, rpc_url: str, *, expected_chain_id: int = 0, timeout_s: float = CONNECT_TIMEOUT_S,
                 receipt_timeout_s: float = RECEIPT_TIMEOUT_S) -> None:
        if not isinstance(rpc_url, str) or not rpc_url.startswith(("http://", "https://")):
            raise ValidationError(f'"rpc_url" must be an http(s) URL (got rpc_url={rpc_url!r})')
        self._url = rpc_url
        self._expected_chain_id = expected_chain_id
        self._receipt_timeout_s = receipt_timeout_s
        provider = KeepAliveHTTPProvider(rpc_url, timeout_s)
        self._web3 = Web3(provider, middleware=[])
        self._chain_id = 0

    @property
    def url(self) -> str:
        """The node's JSON-RPC URL."""
        return self._url

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except TRANSLATED_ERRORS as exc:
            raise translate_error(exc, self._url) from None

    # --- checks before the run ---------------------------------------------------------------------

    def check(self) -> int:
        """Return the node's chain id. Raises ChainUnavailable if nothing answers at the URL, and ChainError if
        the chain id is not the expected one."""
        with self._translated():
            chain_id = int(self._web3.eth.chain_id)
        if self._expected_chain_id and chain_id != self._expected_chain_id:
            raise ChainError(f"the chain at {self._url} has chain id {chain_id}, not chain.chain_id="
                             f"{self._expected_chain_id}: is chain.rpc_url the chain you meant?")
        self._chain_id = chain_id
        return chain_id

    def shortfalls(self, addresses: Sequence[str], amount_wei: int) -> tuple[Transfer, ...]:
        """What each address lacks of ``amount_wei`` (an address that holds it is left out), in order; raises
        ChainUnavailable if the node stops answering."""
        with self._translated():
            return tuple(Transfer(to_checksum_address(address), amount_wei - balance)
                         for address in addresses
                         if (balance := int(self._web3.eth.get_balance(to_checksum_address(address)))) < amount_wei)

    def plan_funding(self, funder: Funder, addresses: Sequence[str], amount_wei: int) -> FundingPlan:
        """What ``funder`` must send so that each address holds at least ``amount_wei``: the shortfall of each
        (an account that holds enough gets nothing), plus 21,000 gas a transfer at the fee cap.

        Raises ChainError if the funder's balance is below that (the message has both figures), or if a node
        funder has no unlocked account; ChainUnavailable if the node stops answering.
        """
        transfers = self.shortfalls(addresses, amount_wei)
        with self._translated():
            price_wei = int(self._web3.eth.gas_price)
        tip_wei = min(price_wei, 10**9)
        fee_cap_wei = 2 * price_wei + tip_wei  # as the binding's own transactions bid
        sent_wei = sum(transfer.amount_wei for transfer in transfers)
        fees_wei = len(transfers) * TRANSFER_GAS * fee_cap_wei
        needed_wei = sent_wei + fees_wei
        senders = self._senders(funder)
        with self._translated():
            balances = [(sender, int(self._web3.eth.get_balance(to_checksum_address(sender)))) for sender in senders]
        richest = max(balances, key=lambda pair: pair[1])
        sender, balance_wei = next(((s, b) for s, b in balances if b >= needed_wei), richest)
        if balance_wei < needed_wei:
            who = (f"{funder.source} (account {sender})" if isinstance(funder, KeyFunder)
                   else f"the node's richest unlocked account {sender} (of {len(balances)})")
            raise ChainError(f"the funder cannot pay for the run on {self._url}: {who} holds {balance_wei} wei, and "
                             f"the run needs {needed_wei} wei ({len(transfers)} accounts topped up to chain.fund_wei="
                             f"{amount_wei}: {sent_wei} wei, and up to {fees_wei} wei of gas)")
        return FundingPlan(funder, sender, transfers, fee_cap_wei, tip_wei, needed_wei, balance_wei)

    def _senders(self, funder: Funder) -> list[str]:
        if isinstance(funder, KeyFunder):
            return [funder.account.address]
        try:
            with self._translated():
                accounts = [str(account) for account in self._web3.eth.accounts]
        except ChainUnavailable:
            raise
        except ChainError as exc:
            raise ChainError(f'chain.funder = "node": the node at {self._url} does not list its accounts '
                             f"(eth_accounts: {exc}); name a funder_key or funder_key_env instead") from None
        if not accounts:
            raise ChainError(f'chain.funder = "node": the node at {self._url} has no unlocked accounts '
                             "(eth_accounts is empty); name a funder_key or funder_key_env instead")
        return accounts

    # --- funding ----------------------------------------------------------------------------------

    def fund(self, plan: FundingPlan, max_in_flight: int = MAX_IN_FLIGHT) -> None:
        """Send ``plan``'s transfers, at most ``max_in_flight`` not yet mined at once, and wait for them all.

        Raises TransactionFailed for a transfer mined with status 0, ChainError if the node refuses one or does
        not mine it within the receipt timeout; the transfers before it stay done.
        """
        if max_in_flight < 1:
            raise ValidationError(f'"max_in_flight" must be >= 1 (got max_in_flight={max_in_flight!r})')
        chain_id = self._chain_id or self.check()
        fees = {"gas": TRANSFER_GAS, "maxFeePerGas": plan.fee_cap_wei, "maxPriorityFeePerGas": plan.tip_wei}
        in_flight: deque[tuple[bytes, Transfer]] = deque()
        with self._translated():
            nonce = int(self._web3.eth.get_transaction_count(to_checksum_address(plan.sender), "pending"))
            for transfer in plan.transfers:
                if len(in_flight) >= max_in_flight:
                    self._wait_mined(*in_flight.popleft())
                transaction: dict[str, Any] = {"to": transfer.to, "value": transfer.amount_wei, **fees}
                if isinstance(plan.funder, KeyFunder):
                    transaction.update(nonce=nonce, chainId=chain_id, type=2)
                    signed = plan.funder.account.sign_transaction(transaction)
                    tx_hash = bytes(self._web3.eth.send_raw_transaction(signed.raw_transaction))
                    nonce += 1
                else:
                    transaction["from"] = plan.sender
                    tx_hash = bytes(self._web3.eth.send_transaction(cast(TxParams, transaction)))
                in_flight.append((tx_hash, transfer))
            while in_flight:
                self._wait_mined(*in_flight.popleft())

    def _wait_mined(self, tx_hash: bytes, transfer: Transfer) -> None:
        deadline_s = time.monotonic() + self._receipt_timeout_s
        delay_s = 0.01
        while True:
            try:
                receipt = self._web3.eth.get_transaction_receipt(HexBytes(tx_hash))
                break
            except TransactionNotFound:
                if time.monotonic() > deadline_s:
                    raise ChainError(f"funding {transfer.to} with {transfer.amount_wei} wei: transaction "
                                     f"0x{tx_hash.hex()} was not mined within {self._receipt_timeout_s:g} s") from None
            time.sleep(delay_s)
            delay_s = min(2 * delay_s, 0.2)
        if receipt["status"] != 1:
            raise TransactionFailed(f"funding {transfer.to} with {transfer.amount_wei} wei failed in tx "
                                    f"0x{tx_hash.hex()} (status 0): a 21000-gas transfer cannot run the "
                                    "recipient's code")


__all__ = ["MAX_IN_FLIGHT", "ExternalChain", "Funder", "FundingPlan", "KeyFunder", "NodeFunder", "Transfer"]
