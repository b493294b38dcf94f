"""The seal a node commits, computed locally by the protocol module, equals the contract's computeSeal."""
from __future__ import annotations

import pytest
from eth_hash.auto import keccak
from web3 import Web3

from cipherquorum.chain import TaskMarket, derive_account, load_artifact
from cipherquorum.protocol import compute_seal
from cipherquorum.types import ExecStatus


@pytest.mark.parametrize(
    ("task_id", "status", "salt_byte"),
    [(1, ExecStatus.SUCCESS, 0), (2**200, ExecStatus.TIMEOUT, 0xAB), (42, 255, 0xFF)],
)
def test_compute_seal_matches_the_contract(
    market: TaskMarket, rpc_url: str, task_id: int, status: int, salt_byte: int
) -> None:
    """The locally computed seal equals the contract's computeSeal for the same inputs."""
    contract = Web3(Web3.HTTPProvider(rpc_url)).eth.contract(address=market.address, abi=load_artifact().abi)
    node = derive_account("devnet-test", "node", task_id % 7).address
    result_hash, salt = keccak(b"result"), bytes([salt_byte]) * 32
    on_chain = contract.functions.computeSeal(task_id, result_hash, int(status), node, salt).call()
    assert compute_seal(task_id, result_hash, status, node, salt) == bytes(on_chain)
