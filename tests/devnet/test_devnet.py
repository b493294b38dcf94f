"""The devnet serves Ethereum JSON-RPC to web3's HTTP provider, survives malformed requests, and the binding's
local helpers (derived accounts, seals) agree with the chain."""
from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
import requests
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from web3 import Web3

from cipherquorum.chain import TaskMarket, derive_account, derive_private_key
from cipherquorum.chain.accounts import SECP256K1_ORDER
from cipherquorum.devnet import Devnet
from cipherquorum.exceptions import ChainError, ChainUnavailable, ValidationError

GOOD_REQUEST = {"jsonrpc": "2.0", "id": 7, "method": "eth_blockNumber", "params": []}


def post(url: str, body: bytes, content_type: str = "application/json") -> requests.Response:
    return requests.post(url, data=body, headers={"Content-Type": content_type}, timeout=10)


def assert_still_serving(url: str) -> None:
    reply = post(url, json.dumps(GOOD_REQUEST).encode()).json()
    assert reply["id"] == 7 and reply["result"].startswith("0x")


def test_web3_http_provider_reads_chain_and_sends_signed_transactions(
    devnet: Devnet, accounts: Callable[[str, int], LocalAccount]
) -> None:
    """A plain Web3(HTTPProvider) reads the chain and gets a signed transfer mined in its own block."""
    web3 = Web3(Web3.HTTPProvider(devnet.url))
    sender = accounts("devnet-sender", 0)
    recipient = derive_account("devnet-test", "recipient", 0).address
    assert web3.eth.chain_id == devnet.chain_id
    before_block = web3.eth.block_number
    signed = sender.sign_transaction({
        "to": recipient, "value": 12345, "gas": 21000, "gasPrice": web3.eth.gas_price,
        "nonce": web3.eth.get_transaction_count(sender.address), "chainId": devnet.chain_id,
    })
    tx_hash = web3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = web3.eth.wait_for_transaction_receipt(tx_hash, timeout=10)
    assert receipt["status"] == 1
    assert receipt["blockNumber"] == before_block + 1
    assert web3.eth.get_balance(recipient) >= 12345
    assert web3.eth.get_block(receipt["blockNumber"])["transactions"] == [tx_hash]


def test_batch_requests_are_answered_one_reply_per_request(devnet: Devnet) -> None:
    """A batch gets a list of replies carrying each request's id, errors included."""
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "id": "two", "method": "no_suchMethod", "params": []},
        {"jsonrpc": "2.0", "id": 3, "method": "eth_blockNumber"},
    ]
    replies = post(devnet.url, json.dumps(batch).encode()).json()
    assert [reply["id"] for reply in replies] == [1, "two", 3]
    assert int(replies[0]["result"], 16) == devnet.chain_id
    assert replies[1]["error"]["code"] == -32601
    assert replies[2]["result"].startswith("0x")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"this is not json", -32700),
        (b'{"jsonrpc": "2.0", "id": 1, "method": ', -32700),
        (b"\xff\xfe\x00garbage", -32700),
        (b'"just a string"', -32600),
        (b"[]", -32600),
        (b'{"jsonrpc": "2.0", "id": 1}', -32600),
        (b'{"jsonrpc": "1.0", "id": 1, "method": "eth_blockNumber"}', -32600),
        (b'{"jsonrpc": "2.0", "id": true, "method": "eth_blockNumber"}', -32600),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_noSuchThing", "params": []}', -32601),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "nonamespace", "params": []}', -32601),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": {"a": 1}}', -32602),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": [1]}', -32602),
    ],
)
def test_malformed_requests_get_json_rpc_errors_and_the_server_keeps_serving(
    devnet: Devnet, body: bytes, code: int
) -> None:
    """Garbage, invalid request objects, unknown methods and bad params get the JSON-RPC error code; then a
    good request still works."""
    reply = post(devnet.url, body).json()
    assert reply["error"]["code"] == code
    assert_still_serving(devnet.url)


@pytest.mark.parametrize(("method", "params"), [("evm_increaseTime", ["soon"]), ("evm_increaseTime", [-5]),
                                                ("evm_increaseTime", []), ("evm_mine", [1, 2])])
def test_bad_admin_params_get_invalid_params(devnet: Devnet, method: str, params: list) -> None:
    """evm_increaseTime and evm_mine through the admin URL check their params: -32602, and the server serves on."""
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    assert post(devnet.admin_url, json.dumps(body).encode()).json()["error"]["code"] == -32602
    assert_still_serving(devnet.url)


def test_batch_of_non_objects_gets_one_invalid_request_error_each(devnet: Devnet) -> None:
    """Each entry of a batch that is not a request object gets its own -32600 reply."""
    replies = post(devnet.url, b"[1, null, \"x\"]").json()
    assert [reply["error"]["code"] for reply in replies] == [-32600, -32600, -32600]
    assert_still_serving(devnet.url)


def test_wrong_content_type_is_still_parsed_as_json(devnet: Devnet) -> None:
    """The body decides: a form-encoded content type with a garbage body is a parse error, not a crash."""
    reply = post(devnet.url, b"a=1&b=2", content_type="application/x-www-form-urlencoded").json()
    assert reply["error"]["code"] == -32700
    assert_still_serving(devnet.url)


def test_body_over_the_size_limit_is_refused_with_413() -> None:
    """A body over max_body_bytes gets HTTP 413 without being parsed, and the server keeps serving."""
    with Devnet(max_body_bytes=4096) as small:
        response = post(small.url, b"[" + b" " * 10_000 + b"]")
        assert response.status_code == 413
        assert response.json()["error"]["code"] == -32600
        assert_still_serving(small.url)


def test_request_without_content_length_is_refused_with_411(devnet: Devnet) -> None:
    """A POST that does not say how long its body is gets HTTP 411."""
    parts = urlsplit(devnet.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.putrequest("POST", "/")
    connection.endheaders()
    assert connection.getresponse().status == 411
    connection.close()
    assert_still_serving(devnet.url)


def test_get_is_refused_with_405(devnet: Devnet) -> None:
    """JSON-RPC is served by POST only."""
    assert requests.get(devnet.url, timeout=10).status_code == 405
    assert_still_serving(devnet.url)


def test_evm_increase_time_moves_the_next_block_forward(devnet: Devnet, advance_time: Callable[[int], int]) -> None:
    """After evm_increaseTime(s) the next block is s seconds later than it would have been."""
    web3 = Web3(Web3.HTTPProvider(devnet.admin_url))
    before_s = web3.eth.get_block("latest")["timestamp"]
    next_s = advance_time(1000)
    assert next_s >= before_s + 1000
    web3.provider.make_request("evm_mine", [])
    assert web3.eth.get_block("latest")["timestamp"] == next_s


def test_evm_mine_with_a_timestamp_mines_a_block_at_that_time(devnet: Devnet) -> None:
    """evm_mine([t]) mines one block whose timestamp is t."""
    web3 = Web3(Web3.HTTPProvider(devnet.admin_url))
    target_s = web3.eth.get_block("latest")["timestamp"] + 500
    reply = web3.provider.make_request("evm_mine", [target_s])
    assert reply["result"] == "0x0"
    assert web3.eth.get_block("latest")["timestamp"] == target_s


def test_devnet_serves_again_after_restart_with_the_same_chain() -> None:
    """stop() keeps the chain; start() serves it again; url is unavailable while stopped."""
    chain = Devnet()
    first_url = chain.start()
    assert chain.start() == first_url
    recipient = derive_account("devnet-test", "restart", 0).address
    chain.fund(recipient, 777)
    chain.stop()
    with pytest.raises(ChainError):
        _ = chain.url
    with chain:
        assert Web3(Web3.HTTPProvider(chain.url)).eth.get_balance(recipient) == 777


@pytest.mark.parametrize(
    ("address", "amount_wei"),
    [("0x1234", 1), ("not an address", 1), ("0x" + "11" * 20, -1), ("0x" + "11" * 20, 1.5)],
)
def test_fund_rejects_bad_input(devnet: Devnet, address: str, amount_wei: int) -> None:
    """fund() validates the address and the amount before touching the chain."""
    with pytest.raises(ValidationError):
        devnet.fund(address, amount_wei)


def test_derived_accounts_are_deterministic_and_distinct() -> None:
    """The same (seed, role, index) gives the same account; changing any part gives another."""
    base = derive_account("seed-a", "node", 3)
    assert derive_account("seed-a", "node", 3).address == base.address
    assert derive_private_key("seed-a", "node", 3) == keccak(b"cipherquorum/seed-a/node/3")
    others = {derive_account(*key).address for key in [("seed-b", "node", 3), ("seed-a", "client", 3),
                                                       ("seed-a", "node", 4)]}
    assert base.address not in others and len(others) == 3
    key = int.from_bytes(derive_private_key("seed-a", "node", 3), "big")
    assert 0 < key < SECP256K1_ORDER


@pytest.mark.parametrize(("role", "index"), [("", 0), ("a/b", 0), ("node", -1), ("node", True), ("node", 1.0)])
def test_derive_account_rejects_bad_role_or_index(role: str, index: int) -> None:
    """Roles must be non-empty names without '/', indices ints >= 0."""
    with pytest.raises(ValidationError):
        derive_account("seed", role, index)


def test_unreachable_endpoint_raises_chain_unavailable_naming_the_url() -> None:
    """A binding pointed at a closed port raises ChainUnavailable, not a web3 or requests error."""
    with Devnet() as chain:
        url = chain.url
    with pytest.raises(ChainUnavailable, match=url.replace(".", r"\.")):
        TaskMarket(url, "0x" + "22" * 20)


def test_fund_many_funds_every_address_of_any_iterable(devnet: Devnet) -> None:
    """fund_many takes a generator as well as a list: each address it yields is funded once."""
    recipients = [derive_account("devnet-test", "fund-many", index).address for index in range(3)]
    hashes = devnet.fund_many((address for address in recipients), 55)
    web3 = Web3(Web3.HTTPProvider(devnet.url))
    assert len(hashes) == 3
    assert [web3.eth.get_balance(address) for address in recipients] == [55, 55, 55]
