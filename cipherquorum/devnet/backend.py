"""The eth-tester backend a devnet runs: Prague with same-second blocks, a seeded prevrandao, fast gas estimates."""
from __future__ import annotations

import os
from typing import Any

from eth.abc import BlockAPI, BlockHeaderAPI
from eth.chains.base import MiningChain
from eth.estimators.gas import binary_gas_search_intrinsic_tolerance
from eth.exceptions import TransactionNotFound as ChainTransactionNotFound
from eth.vm.forks import PragueVM
from eth.vm.spoof import SpoofTransaction
from eth_tester import PyEVMBackend
from eth_tester.backends.pyevm.serializers import serialize_transaction, serialize_transaction_receipt
from eth_tester.exceptions import TransactionNotFound
from eth_typing import BlockNumber, Hash32
from eth_utils import keccak

from cipherquorum.types import Wei

FUNDER_BALANCE_WEI: Wei = 10**9 * 10**18
"""Each of eth-tester's prefunded accounts starts with a billion ether, enough to fund any scenario."""
FUNDER_COUNT = 10
"""Prefunded accounts that ``Devnet.fund_many`` pays from in turn."""


def prevrandao_of(seed: str) -> bytes:
    """The prevrandao (block ``mix_hash``) every block of a devnet seeded with ``seed`` carries."""
    return keccak(text=f"cipherquorum/prevrandao/{seed}")


def estimate_gas_in_two_runs(state: Any, transaction: Any) -> int:
    """Estimate gas in two executions instead of py-evm's bisection (about twelve); a drop-in gas estimator.

    Runs the transaction with the block gas limit and raises its error if it fails, as the bisection does.
    Then runs it again with the gas that run consumed before refunds (plus 1/64 for the call-forwarding
    rule); if that succeeds it is the estimate, otherwise the bisection decides.
    """

    def run(gas: int) -> Any:
        snapshot = state.snapshot()
        try:
            return state.apply_transaction(SpoofTransaction(transaction, gas=gas, gas_price=0))
        finally:
            state.revert(snapshot)

    unbounded = run(state.gas_limit)
    if unbounded.is_error:
        raise unbounded.error
    consumed = transaction.intrinsic_gas + unbounded.get_gas_used()
    guess = min(state.gas_limit, consumed + consumed // 64)
    if not run(guess).is_error:
        return guess
    return binary_gas_search_intrinsic_tolerance(state, transaction)


class WallClockPragueVM(PragueVM):
    """The Prague VM with one devnet rule relaxed: a block may share its parent's timestamp.

    Mining one block per transaction would otherwise push block time a second ahead per transaction, so
    under load deadlines measured in block time would expire long before their wall-clock time (hardhat's
    ``allowBlocksWithSameTimestamp`` makes the same choice).
    """

    @classmethod
    def validate_header(cls, header: Any, parent_header: Any) -> None:
        if parent_header is not None and header.timestamp == parent_header.timestamp:
            header = header.copy(timestamp=header.timestamp + 1)  # sidesteps only "strictly later"
        super().validate_header(header, parent_header)


class _DevnetChain(MiningChain):
    """What a devnet's chain adds to eth-tester's: the two-run gas estimator and the prevrandao its transactions see.

    Mixed in before the chain class eth-tester builds, in a subclass made for one backend (see
    ``DevnetBackend``), so no other chain in the process changes.

    The pending block's header is where executed transactions read PREVRANDAO, so it gets the value when it is
    created from its parent (py-evm would leave zeros there), and the mined block records the same value
    (eth-tester would draw a fresh random one at mining, which no transaction saw).
    """

    gas_estimator = staticmethod(estimate_gas_in_two_runs)
    prevrandao: bytes | None = None
    """Every block's ``mix_hash``; None draws a random one per block, as eth-tester does."""

    def create_header_from_parent(self, parent_header: BlockHeaderAPI, **header_params: Any) -> BlockHeaderAPI:
        """The next pending header, carrying the prevrandao its transactions will see."""
        header_params.setdefault("mix_hash", self.prevrandao if self.prevrandao is not None else os.urandom(32))
        return super().create_header_from_parent(parent_header, **header_params)

    def mine_block(self, *args: Any, **kwargs: Any) -> BlockAPI:
        """Mine the pending block; the ``mix_hash`` eth-tester asks for post-merge becomes the one its
        transactions saw."""
        if "mix_hash" in kwargs:
            kwargs["mix_hash"] = self.header.mix_hash
        return super().mine_block(*args, **kwargs)


class DevnetBackend(PyEVMBackend):
    """eth-tester's py-evm backend whose chain is of a class of its own, built over the one eth-tester made.

    With a ``prevrandao`` every block's ``mix_hash``, and the PREVRANDAO its transactions read, is that value
    (eth-tester draws it from os.urandom); the contract mixes it with the task id, so the same seed and the
    same transactions give the same assignments. Every chain eth-tester builds for this backend (at genesis, on
    a reset, on a revert to the genesis snapshot) is of that class.
    """

    chain: MiningChain

    def __init__(self, prevrandao: bytes | None = None, **kwargs: Any) -> None:
        self._prevrandao = prevrandao  # read by reset_to_genesis, which eth-tester's constructor calls
        super().__init__(**kwargs)

    def reset_to_genesis(self, *args: Any, **kwargs: Any) -> None:
        """Build eth-tester's genesis chain, then reopen its database as a chain of this backend's class."""
        super().reset_to_genesis(*args, **kwargs)
        chain_class = type(
            "DevnetChain", (_DevnetChain, type(self.chain)), {"prevrandao": self._prevrandao, "__module__": __name__}
        )
        self.chain = chain_class(self.chain.chaindb.db)

    def get_transaction_by_hash(self, transaction_hash: bytes) -> Any:
        """The transaction with this hash, found through the chain's hash index (see ``_located``)."""
        block, transaction, index = self._located(transaction_hash)
        return serialize_transaction(block, transaction, index, block.number == self.chain.get_block().number)

    def get_transaction_receipt(self, transaction_hash: bytes) -> Any:
        """The receipt of the transaction with this hash, found through the chain's hash index."""
        block, transaction, index = self._located(transaction_hash)
        pending = block.number == self.chain.get_block().number
        return serialize_transaction_receipt(block, block.get_receipts(self.chain.chaindb), transaction, index,
                                             pending, self.chain.get_vm())

    def _located(self, transaction_hash: bytes) -> tuple[BlockAPI, Any, int]:
        """The block, transaction and index of a pending or mined transaction; raises TransactionNotFound.

        eth-tester walks every block back from the head to find a hash, so the cost of a receipt grows with the
        chain (reading a run's receipts in chain order grows with its square). py-evm indexes each mined
        transaction's hash when it is added to the canonical chain; that index answers in one look-up.
        """
        pending = self.chain.get_block()
        for index, transaction in enumerate(pending.transactions):
            if transaction.hash == transaction_hash:
                return pending, transaction, index
        try:
            found, index = self.chain.chaindb.get_transaction_index(Hash32(transaction_hash))
            number = int(found)
        except ChainTransactionNotFound:
            number, index = -1, -1
        block = self.chain.get_canonical_block_by_number(BlockNumber(number)) if number >= 0 else pending
        if 0 <= index < len(block.transactions) and block.transactions[index].hash == transaction_hash:
            return block, block.transactions[index], index
        raise TransactionNotFound(f"No transaction found for transaction hash: 0x{transaction_hash.hex()}")


def build_backend(seed: str | None = None) -> DevnetBackend:
    """Return a backend with ``FUNDER_COUNT`` prefunded accounts on the wall-clock Prague VM.

    With a ``seed`` its blocks carry ``prevrandao_of(seed)``; without one, eth-tester's random values.
    """
    genesis = PyEVMBackend.generate_genesis_state(overrides={"balance": FUNDER_BALANCE_WEI}, num_accounts=FUNDER_COUNT)
    return DevnetBackend(
        prevrandao=None if seed is None else prevrandao_of(seed),
        genesis_state=genesis,
        vm_configuration=((0, WallClockPragueVM),),
    )


__all__ = [
    "FUNDER_BALANCE_WEI",
    "FUNDER_COUNT",
    "DevnetBackend",
    "WallClockPragueVM",
    "build_backend",
    "estimate_gas_in_two_runs",
    "prevrandao_of",
]
