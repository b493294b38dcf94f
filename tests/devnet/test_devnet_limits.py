"""An eth_call or eth_estimateGas cannot hold the chain for long: gas is capped, each call and each batch is
bounded in wall time, and the chain answers others meanwhile."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hostile import LOOPING_INITCODE

from cipherquorum.devnet import Devnet

CALL_LIMIT_S = 2.0
"""How long a looping call may take to come back: the devnet's per-call time limit plus the HTTP round trip."""


def rpc(url: str, method: str, params: list[Any], timeout_s: float = 60) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return requests.post(url, json=body, timeout=timeout_s).json()


@pytest.fixture(scope="module")
def chain() -> Iterator[Devnet]:
    """A devnet of this module's own, so that a stalled chain holds up no other test."""
    with Devnet(seed="limits") as devnet:
        yield devnet


LOOPING_CALLS = {
    "eth_call": ("eth_call", [{"data": LOOPING_INITCODE}, "latest"]),
    "eth_call with huge gas": ("eth_call", [{"data": LOOPING_INITCODE, "gas": hex(10**18)}, "latest"]),
    "eth_estimateGas": ("eth_estimateGas", [{"data": LOOPING_INITCODE}]),
}


@pytest.mark.parametrize("name", sorted(LOOPING_CALLS))
def test_a_looping_call_fails_quickly_and_the_chain_answers_meanwhile(chain: Devnet, name: str) -> None:
    """A call whose code loops forever gets an error within the time limit, and eth_blockNumber answers
    while it runs."""
    method, params = LOOPING_CALLS[name]
    waits_s: list[float] = []

    def ask_block_number() -> None:
        time.sleep(0.2)
        started_s = time.perf_counter()
        assert rpc(chain.url, "eth_blockNumber", [])["result"].startswith("0x")
        waits_s.append(time.perf_counter() - started_s)

    asker = threading.Thread(target=ask_block_number)
    started_s = time.perf_counter()
    asker.start()
    reply = rpc(chain.url, method, params)
    elapsed_s = time.perf_counter() - started_s
    asker.join()
    assert elapsed_s < CALL_LIMIT_S
    assert reply["error"]["code"] == -32000
    assert "time limit" in reply["error"]["message"] or "gas" in reply["error"]["message"]
    assert waits_s and waits_s[0] < CALL_LIMIT_S


def test_a_batch_of_looping_calls_is_bounded_as_a_whole(chain: Devnet) -> None:
    """A batch of 20 looping calls takes about as long as one or two, not 20 times as long."""
    batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_call", "params": [{"data": LOOPING_INITCODE}, "latest"]}
             for i in range(20)]
    started_s = time.perf_counter()
    replies = requests.post(chain.url, json=batch, timeout=120).json()
    elapsed_s = time.perf_counter() - started_s
    assert elapsed_s < 2 * CALL_LIMIT_S
    assert [reply["id"] for reply in replies] == list(range(20))
    assert all(reply["error"]["code"] == -32000 for reply in replies)
    assert rpc(chain.url, "eth_blockNumber", [], timeout_s=5)["result"].startswith("0x")


def test_call_gas_is_capped_at_the_block_gas_limit(chain: Devnet) -> None:
    """An eth_call asking for more gas than the cap runs with the cap: GAS (opcode 0x5a) reports at most that."""
    gas_limit = int(rpc(chain.url, "eth_getBlockByNumber", ["latest", False])["result"]["gasLimit"], 16)
    reports_gas = "0x5a60005260206000f3"  # GAS PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
    reply = rpc(chain.url, "eth_call", [{"data": reports_gas, "gas": hex(10**18)}, "latest"])
    assert 0 < int(reply["result"], 16) <= gas_limit
