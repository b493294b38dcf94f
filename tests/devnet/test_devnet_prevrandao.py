"""The seed decides what executed transactions see as PREVRANDAO, and so the TaskMarket's matching: two seeds give
two matchings, one seed the same matching every time."""
from __future__ import annotations

from eth_hash.auto import keccak
from web3 import Web3

from cipherquorum.chain import TaskMarket, derive_account
from cipherquorum.devnet import Devnet
from cipherquorum.devnet.backend import prevrandao_of
from cipherquorum.protocol import TaskParams

STORES_PREVRANDAO = "0x4460005500"
"""Init code PREVRANDAO PUSH1 0 SSTORE STOP: the deployed contract's slot 0 holds what its creation saw."""
RETURNS_PREVRANDAO = "0x4460005260206000f3"
"""Init code PREVRANDAO PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN: an eth_call of it returns PREVRANDAO."""
ACCOUNTS_SEED = "prevrandao-tests"
NODES = 6


def test_a_mined_transaction_sees_the_seeds_prevrandao() -> None:
    """A contract creation executed in a block stores keccak of the seed, as eth_call and the header report."""
    sender = derive_account(ACCOUNTS_SEED, "sender", 0)
    with Devnet(seed="mined") as devnet:
        devnet.fund(sender.address, 10**20)
        web3 = Web3(Web3.HTTPProvider(devnet.url))
        signed = sender.sign_transaction({
            "data": STORES_PREVRANDAO, "gas": 100_000, "gasPrice": web3.eth.gas_price, "chainId": devnet.chain_id,
            "nonce": 0,
        })
        receipt = web3.eth.wait_for_transaction_receipt(web3.eth.send_raw_transaction(signed.raw_transaction))
        expected = prevrandao_of("mined")
        assert receipt["status"] == 1
        assert web3.eth.get_storage_at(receipt["contractAddress"], 0) == expected
        assert web3.eth.get_block(receipt["blockNumber"])["mixHash"] == expected
        assert web3.eth.call({"data": RETURNS_PREVRANDAO}) == expected


def assignments(devnet_seed: str) -> list[tuple[str, ...]]:
    """The nodes a fresh devnet seeded with ``devnet_seed`` assigns to four tasks, the same registrations each time."""
    deployer = derive_account(ACCOUNTS_SEED, "deployer", 0)
    client = derive_account(ACCOUNTS_SEED, "client", 0)
    nodes = [derive_account(ACCOUNTS_SEED, "node", index) for index in range(NODES)]
    with Devnet(seed=devnet_seed) as devnet:
        devnet.fund_many([account.address for account in (deployer, client, *nodes)], 10**22)
        market = TaskMarket.deploy(devnet.url, deployer, min_stake_wei=10**18, slash_wei=10**17, exit_cooldown_s=60)
        for node in nodes:
            market.with_account(node).register(2, 0, 2 * 10**18)
        matched = []
        for index in range(4):
            params = TaskParams(keccak(b"sum@1"), keccak(f"manifest {index}".encode()), 2, 2, 600, 600, 60, 10**16)
            _, receipt = market.with_account(client).create_task(params)
            matched += [tuple(event.args["nodes"]) for event in receipt.named("TaskMatched")]
    assert len(matched) == 4
    return matched


def test_two_seeds_give_different_assignments_and_one_seed_the_same_twice() -> None:
    """The same registrations and tasks on fresh devnets: seed "a" twice matches alike, seed "b" otherwise."""
    first = assignments("a")
    assert assignments("a") == first
    assert assignments("b") != first
