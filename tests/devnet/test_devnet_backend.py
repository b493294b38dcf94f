"""The devnet's eth-tester backend: its gas estimator stays on chains of its own, and a seed fixes every block's
prevrandao."""
from __future__ import annotations

from collections.abc import Callable

import pytest
from eth.estimators import get_gas_estimator
from eth_tester import EthereumTester, PyEVMBackend

from cipherquorum.devnet import Devnet
from cipherquorum.devnet.backend import build_backend, estimate_gas_in_two_runs, prevrandao_of

MINERS: dict[str, Callable[[EthereumTester], object]] = {
    "transaction": lambda tester: tester.send_transaction(
        {"from": tester.get_accounts()[0], "to": tester.get_accounts()[1], "value": 1, "gas": 21000}
    ),
    "mine_blocks": lambda tester: tester.mine_blocks(2),
    "time_travel": lambda tester: tester.time_travel(tester.get_block_by_number("pending")["timestamp"] + 100),
}


def test_a_devnet_leaves_other_eth_tester_chains_with_py_evms_gas_estimator(devnet: Devnet) -> None:
    """After a Devnet is built and serving, a plain PyEVMBackend's chain class and chain keep py-evm's estimator."""
    plain = PyEVMBackend()
    assert type(plain.chain).gas_estimator is None
    assert plain.chain.gas_estimator is get_gas_estimator()


def test_the_two_run_estimator_sits_only_on_a_chain_class_the_devnet_made() -> None:
    """No class eth-tester or py-evm made is patched: the estimator is set on the devnet's own chain class."""
    chain_class = type(build_backend().chain)
    patched = [cls for cls in chain_class.__mro__ if vars(cls).get("gas_estimator") is not None]
    assert patched and all(cls.__module__ == "cipherquorum.devnet.backend" for cls in patched)


def test_the_two_run_estimator_survives_eth_tester_rebuilding_the_chain() -> None:
    """A revert to the genesis snapshot, where eth-tester builds a new chain, keeps the devnet's estimator."""
    tester = EthereumTester(backend=build_backend())
    genesis = tester.take_snapshot()
    MINERS["transaction"](tester)
    tester.revert_to_snapshot(genesis)
    assert tester.get_block_by_number("latest")["number"] == 0
    assert tester.backend.chain.gas_estimator is estimate_gas_in_two_runs
    accounts = tester.get_accounts()
    estimate = tester.estimate_gas({"from": accounts[0], "to": accounts[1], "value": 1})
    assert estimate == 21000 + 21000 // 64  # the two-run margin; py-evm's bisection would answer 21000


@pytest.mark.parametrize("how", sorted(MINERS))
def test_a_seeded_backend_mines_every_block_with_the_seeds_prevrandao(how: str) -> None:
    """Blocks mined by a transaction, by mine_blocks or by time_travel all carry keccak of the seed."""
    tester = EthereumTester(backend=build_backend(seed="backend-test"))
    before = tester.get_block_by_number("latest")["number"]
    MINERS[how](tester)
    latest = tester.get_block_by_number("latest")["number"]
    assert latest > before
    for number in range(before + 1, latest + 1):
        assert tester.get_block_by_number(number)["mix_hash"] == "0x" + prevrandao_of("backend-test").hex()


def test_an_unseeded_backend_keeps_eth_testers_random_prevrandao() -> None:
    """Without a seed each block gets a fresh random mix_hash, as eth-tester draws it."""
    tester = EthereumTester(backend=build_backend())
    tester.mine_blocks(3)
    mix_hashes = {tester.get_block_by_number(number)["mix_hash"] for number in (1, 2, 3)}
    assert len(mix_hashes) == 3


def test_different_seeds_give_different_prevrandaos() -> None:
    """The seed decides the prevrandao: two seeds, two values."""
    assert prevrandao_of("a") != prevrandao_of("b")
    assert len(prevrandao_of("a")) == 32


def _sent(tester: EthereumTester, count: int, value: int = 1) -> list[str]:
    accounts = tester.get_accounts()
    return [tester.send_transaction({"from": accounts[0], "to": accounts[1], "value": value, "gas": 21000})
            for _ in range(count)]


def test_receipts_and_transactions_by_hash_match_eth_testers_walk_over_the_blocks() -> None:
    """The hash index answers exactly what eth-tester's block walk answers, for every mined transaction."""
    from eth_tester.backends.pyevm.main import _get_transaction_by_hash
    from eth_tester.backends.pyevm.serializers import serialize_transaction_receipt

    tester = EthereumTester(backend=build_backend(seed="receipts"))
    backend = tester.backend
    for tx_hash in _sent(tester, 6):
        raw_hash = bytes.fromhex(tx_hash[2:])
        block, transaction, index = _get_transaction_by_hash(backend.chain, raw_hash)
        walked = serialize_transaction_receipt(block, block.get_receipts(backend.chain.chaindb), transaction,
                                               index, False, backend.chain.get_vm())
        assert backend.get_transaction_receipt(raw_hash) == walked
        assert tester.get_transaction_by_hash(tx_hash)["hash"] == tx_hash


def test_a_receipt_costs_one_block_read_however_long_the_chain() -> None:
    """Looking up the first transaction after 60 more blocks reads one block, where eth-tester's walk reads 60."""
    tester = EthereumTester(backend=build_backend())
    first = _sent(tester, 1)[0]
    _sent(tester, 60)
    chain = tester.backend.chain
    reads = []
    original = chain.get_canonical_block_by_number
    chain.get_canonical_block_by_number = lambda number: reads.append(number) or original(number)  # type: ignore[method-assign]
    assert tester.get_transaction_receipt(first)["status"] == 1
    assert reads == [1]


def test_an_unknown_or_reverted_transaction_is_not_found() -> None:
    """A hash never sent, and one whose block a snapshot revert took away, both raise eth-tester's not-found."""
    from eth_tester.exceptions import TransactionNotFound

    tester = EthereumTester(backend=build_backend())
    _sent(tester, 1)
    snapshot = tester.take_snapshot()
    undone = _sent(tester, 1)[0]
    tester.revert_to_snapshot(snapshot)
    _sent(tester, 1, value=2)  # another transaction at the undone one's height and index
    for tx_hash in (undone, "0x" + "ab" * 32):
        with pytest.raises(TransactionNotFound):
            tester.get_transaction_receipt(tx_hash)
