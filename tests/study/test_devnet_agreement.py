"""Contract mode and the devnet agree: the same seed, registry and votes give the same assignments and outcomes."""
from __future__ import annotations

import pytest
from web3 import Web3

from cipherquorum.chain import derive_account
from cipherquorum.devnet import Devnet
from cipherquorum.protocol import BehaviourName
from cipherquorum.study import ContractTrials, MarketSetup, Outcome, Registry, Trial
from cipherquorum.study.replay import FUND_WEI, PlayedTask, play_on_chain, replay_accounts

TASKS = 8
REGISTRY = Registry((2 * 10**18, 3 * 10**18, 2 * 10**18, 5 * 10**18, 2 * 10**18, 4 * 10**18),
                    (True, False, False, True, False, False))
STORES_PREVRANDAO = "0x4460005500"
"""Init code PREVRANDAO PUSH1 0 SSTORE STOP: the created contract's slot 0 holds the PREVRANDAO it ran with."""


def _setup(prices, seed: str) -> MarketSetup:
    return MarketSetup(seed, 3, 2, BehaviourName.COLLUDING, prices, 10**18)


def _prevrandao_seen(devnet: Devnet) -> bytes:
    """What a transaction executed on ``devnet`` reads as PREVRANDAO."""
    web3 = Web3(Web3.HTTPProvider(devnet.url))
    sender = derive_account("study-probe", "sender", 0)
    devnet.fund(sender.address, 10**18)
    signed = sender.sign_transaction({"data": STORES_PREVRANDAO, "gas": 100_000, "gasPrice": web3.eth.gas_price,
                                      "chainId": devnet.chain_id, "nonce": 0})
    receipt = web3.eth.wait_for_transaction_receipt(web3.eth.send_raw_transaction(signed.raw_transaction))
    return bytes(web3.eth.get_storage_at(receipt["contractAddress"], 0)).rjust(32, b"\0")


def _on_devnet(devnet: Devnet, setup: MarketSetup) -> list[PlayedTask]:
    devnet.fund_many(replay_accounts(setup, REGISTRY), FUND_WEI)
    return play_on_chain(devnet.url, REGISTRY, setup, TASKS)


def _in_contract_mode(setup: MarketSetup, prevrandao: bytes | None) -> list[Trial]:
    seen: list[Trial] = []
    ContractTrials(REGISTRY, setup, prevrandao=prevrandao).run(TASKS, on_trial=seen.append)
    return seen


def test_contract_mode_plays_as_the_devnet_given_the_prevrandao_its_transactions_see(prices) -> None:
    """Given the PREVRANDAO the devnet's transactions read, contract mode assigns the same nodes to every task and
    reaches the same outcomes; its createTask gas is at most 20% below the devnet's (see study/evm.py)."""
    setup = _setup(prices, "study-agreement")
    with Devnet(seed=setup.seed) as devnet:
        seen = _prevrandao_seen(devnet)
        on_devnet = _on_devnet(devnet, setup)
    in_contract_mode = _in_contract_mode(setup, seen)
    assert [(t.assigned, t.outcome) for t in in_contract_mode] == [(t.assigned, t.outcome) for t in on_devnet]
    assert {t.outcome for t in on_devnet} >= {Outcome.CORRECT, Outcome.WRONG}
    for trial, played in zip(in_contract_mode, on_devnet):
        assert 0.8 * played.create_gas <= trial.create_gas <= played.create_gas


@pytest.mark.parametrize("seed", ["agreement-a", "agreement-b"])
def test_contract_mode_gives_the_devnets_assignments_for_the_same_seed(prices, seed) -> None:
    """For the same seed, contract mode's own prevrandao gives the devnet's assignments and outcomes."""
    setup = _setup(prices, seed)
    with Devnet(seed=seed) as devnet:
        on_devnet = _on_devnet(devnet, setup)
    assert [(t.assigned, t.outcome) for t in _in_contract_mode(setup, None)] == \
        [(t.assigned, t.outcome) for t in on_devnet]
