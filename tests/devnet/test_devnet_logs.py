"""The devnet answers eth_getLogs and eth_getTransactionReceipt from its caches exactly as eth-tester does, and
counts its work."""
from __future__ import annotations

import pytest
import requests

from cipherquorum.chain import TaskMarket, derive_account
from cipherquorum.devnet import Devnet, dispatcher
from cipherquorum.devnet.codec import to_json
from cipherquorum.devnet.logindex import BlockLogIndex, block_number_of
from cipherquorum.protocol import TaskParams
from cipherquorum.types import Hash32


def _rpc(url: str, method: str, params: list) -> object:
    reply = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, timeout=30)
    body = reply.json()
    assert "error" not in body, body
    return body["result"]


def _eth_tester_logs(devnet, query: dict) -> list:
    """The answer eth-tester itself gives, in JSON-RPC form (the cache bypassed)."""
    with devnet._dispatcher.lock:
        return to_json(devnet._dispatcher.forward("eth_getLogs", [query]))


def _filters(busy_market) -> list[dict]:
    market, first = busy_market.market, busy_market.deploy_block
    topic = "0x" + market._interface.events.topic("TaskCreated").hex()
    matched = "0x" + market._interface.events.topic("TaskMatched").hex()
    task_2 = "0x" + (2).to_bytes(32, "big").hex()
    return [
        {"fromBlock": "0x0", "toBlock": "latest"},
        {"fromBlock": hex(first), "toBlock": "latest", "address": market.address},
        {"fromBlock": hex(first), "address": [market.address.lower()], "topics": [topic]},
        {"fromBlock": hex(first), "topics": [[topic, matched], task_2]},
        {"fromBlock": hex(first), "topics": [None, task_2]},
        {"fromBlock": hex(first + 2), "toBlock": hex(first + 5)},
        {"fromBlock": hex(first), "address": "0x" + "11" * 20},
        {"fromBlock": "latest", "toBlock": "latest"},
    ]


@pytest.mark.parametrize("index", range(8))
def test_cached_get_logs_answers_as_eth_tester_does(busy_market, index: int) -> None:
    """Every filter shape (range, tags, address, topic positions, OR-lists, wildcards) gets eth-tester's logs."""
    query = _filters(busy_market)[index]
    cached = _rpc(busy_market.devnet.url, "eth_getLogs", [query])
    _rpc(busy_market.devnet.url, "eth_getLogs", [query])  # a second answer comes from the cache alone
    assert cached == _rpc(busy_market.devnet.url, "eth_getLogs", [query])
    assert cached == _eth_tester_logs(busy_market.devnet, query)


def test_earliest_means_block_zero_and_a_range_past_the_head_stops_there(busy_market) -> None:
    """Unlike eth-tester (no logs for "earliest", an error past the head), the devnet answers as geth does."""
    url = busy_market.devnet.url
    everything = _rpc(url, "eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest"}])
    assert everything
    assert _rpc(url, "eth_getLogs", [{"fromBlock": "earliest"}]) == everything
    assert _rpc(url, "eth_getLogs", [{"fromBlock": "0x0", "toBlock": hex(10**6)}]) == everything


def test_get_logs_by_block_hash_is_left_to_eth_tester(busy_market) -> None:
    """A blockHash filter, which the cache does not handle, gets eth-tester's own answer (it refuses it)."""
    block = _rpc(busy_market.devnet.url, "eth_getBlockByNumber", ["latest", False])
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs", "params": [{"blockHash": block["hash"]}]}
    reply = requests.post(busy_market.devnet.url, json=body, timeout=30).json()
    assert "blockHash" in reply["error"]["message"]


@pytest.mark.parametrize("value, verdict", [
    ("latest", 9), ("pending", 9), ("earliest", 0), ("0x5", 5), (7, 7), (None, 9), ("5", ValueError),
    (-1, ValueError), (True, ValueError),
])
def test_block_parameters_resolve_against_the_head(value, verdict) -> None:
    """Tags and quantities resolve against the head block; anything else is a ValueError naming the value."""
    if verdict is ValueError:
        with pytest.raises(ValueError, match="fromBlock"):
            block_number_of(value, 9, "fromBlock")
    else:
        assert block_number_of(value, 9, "fromBlock") == verdict


def test_each_block_is_fetched_once() -> None:
    """Repeated queries over the same blocks fetch each block's logs from the chain only once."""
    fetched: list[int] = []
    index = BlockLogIndex(lambda n: fetched.append(n) or [{"address": "0xAB", "topics": ["0x01"], "n": n}])
    assert len(index.query([{"fromBlock": "0x0"}], head=3)) == 4
    assert len(index.query([{"fromBlock": "0x2", "topics": ["0x01"]}], head=4)) == 3
    assert fetched == [0, 1, 2, 3, 4]


def test_devnet_counts_calls_and_busy_time_per_method(busy_market) -> None:
    """rpc_stats counts every served call per method, with the seconds it held the chain."""
    before = busy_market.devnet.rpc_stats().get("eth_blockNumber")
    for _ in range(3):
        busy_market.market.block_number()
    after = busy_market.devnet.rpc_stats()["eth_blockNumber"]
    assert after.calls == (before.calls if before else 0) + 3
    assert after.busy_s > (before.busy_s if before else 0.0)


def _eth_tester_receipt(devnet, tx_hash: str) -> object:
    """The receipt eth-tester itself builds, in JSON-RPC form (the cache bypassed)."""
    with devnet._dispatcher.lock:
        return to_json(devnet._dispatcher.forward("eth_getTransactionReceipt", [tx_hash]))


def _transaction_hashes(url: str, first: int) -> list[str]:
    head = int(_rpc(url, "eth_blockNumber", []), 16)
    return [tx for number in range(first, head + 1)
            for tx in _rpc(url, "eth_getBlockByNumber", [hex(number), False])["transactions"]]


def test_kept_receipts_answer_as_eth_tester_does(busy_market) -> None:
    """Every mined transaction's receipt, asked twice (the second from the cache, any letter case), is the one
    eth-tester builds."""
    url = busy_market.devnet.url
    hashes = _transaction_hashes(url, busy_market.deploy_block)
    assert len(hashes) >= 8  # the deployment, four registrations, three tasks
    for tx_hash in hashes:
        first = _rpc(url, "eth_getTransactionReceipt", [tx_hash])
        assert _rpc(url, "eth_getTransactionReceipt", [tx_hash.upper().replace("0X", "0x")]) == first
        assert first == _eth_tester_receipt(busy_market.devnet, tx_hash)


def test_a_receipt_not_yet_mined_is_null_and_not_kept() -> None:
    """Asked before its transaction is sent, a receipt is null; once the transaction is mined it is found."""
    sender = derive_account("receipt-cache", "node", 0)
    with Devnet(seed="receipt-cache") as devnet:
        devnet.fund(sender.address, 10**20)
        signed = sender.sign_transaction({"to": "0x" + "22" * 20, "value": 1, "gas": 21_000, "nonce": 0,
                                          "chainId": devnet.chain_id, "maxFeePerGas": 10**10,
                                          "maxPriorityFeePerGas": 10**9})
        tx_hash = "0x" + bytes(signed.hash).hex()
        assert _rpc(devnet.url, "eth_getTransactionReceipt", [tx_hash]) is None
        assert _rpc(devnet.url, "eth_sendRawTransaction", ["0x" + bytes(signed.raw_transaction).hex()]) == tx_hash
        receipt = _rpc(devnet.url, "eth_getTransactionReceipt", [tx_hash])
        assert receipt["status"] == "0x1" and receipt["transactionHash"] == tx_hash


def test_receipts_past_the_cache_bound_are_built_again(monkeypatch) -> None:
    """With room for two receipts, the oldest ones drop out and are built again, the same as before."""
    monkeypatch.setattr(dispatcher, "RECEIPT_CACHE_SIZE", 2)
    with Devnet(seed="receipt-bound") as devnet:
        hashes = devnet.fund_many(["0x" + f"{index:02x}" * 20 for index in range(1, 6)], 10**18)
        _rpc(devnet.url, "eth_getTransactionReceipt", ["0x" + "33" * 32])  # nothing kept for an unknown one
        answers = [_rpc(devnet.url, "eth_getTransactionReceipt", [tx_hash]) for tx_hash in hashes]
        assert [receipt["transactionHash"] for receipt in answers] == hashes
        assert list(devnet._dispatcher._receipts) == hashes[-2:]
        assert [_rpc(devnet.url, "eth_getTransactionReceipt", [tx_hash]) for tx_hash in hashes] == answers


def test_a_malformed_receipt_request_gets_eth_tester_error(busy_market) -> None:
    """A hash that is not a string is left to eth-tester, which refuses it with an error naming the problem."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_getTransactionReceipt", "params": [12]}
    reply = requests.post(busy_market.devnet.url, json=body, timeout=30).json()
    assert "error" in reply and reply["error"]["message"]


def test_a_revert_to_a_snapshot_drops_the_kept_logs_and_receipts_of_the_blocks_it_undid() -> None:
    """After evm_revert the undone transaction has no receipt and its logs are gone; a different transaction mined
    at the same height afterwards is read as eth-tester reads it, not from what was kept of the undone block."""
    def params(tag: bytes) -> TaskParams:
        return TaskParams(Hash32(tag * 32), Hash32(b"\x02" * 32), 3, 2, 600, 600, 60, 10**15)

    with Devnet(admin_methods=True, seed="revert") as devnet:
        account = derive_account("revert", "deployer", 0)
        devnet.fund(account.address, 10**21)
        market = TaskMarket.deploy(devnet.url, account, min_stake_wei=10**18, slash_wei=10**17, exit_cooldown_s=60)
        snapshot = _rpc(devnet.url, "evm_snapshot", [])
        _, undone = market.create_task(params(b"\x01"))
        query = {"fromBlock": hex(undone.block_number), "address": market.address}
        assert {log["transactionHash"] for log in _rpc(devnet.url, "eth_getLogs", [query])} == {undone.tx_hash}
        assert _rpc(devnet.url, "eth_getTransactionReceipt", [undone.tx_hash]) is not None
        _rpc(devnet.url, "evm_revert", [snapshot])
        assert int(_rpc(devnet.url, "eth_blockNumber", []), 16) == undone.block_number - 1
        assert _rpc(devnet.url, "eth_getTransactionReceipt", [undone.tx_hash]) is None
        assert _rpc(devnet.url, "eth_getLogs", [query]) == []
        _, redone = TaskMarket(devnet.url, market.address, account).create_task(params(b"\x03"))
        assert redone.block_number == undone.block_number and redone.tx_hash != undone.tx_hash
        logs = _rpc(devnet.url, "eth_getLogs", [query])
        assert {log["transactionHash"] for log in logs} == {redone.tx_hash}
        assert logs == _eth_tester_logs(devnet, query)
