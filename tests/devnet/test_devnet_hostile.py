"""Hostile requests cannot crash the devnet or fill its log with tracebacks: deeply nested bodies are refused before
they are parsed, and a few hundred hostile bodies of every kind leave it serving."""
from __future__ import annotations

import pytest
import requests
from devnet_child import ChildDevnet
from hostile import HostileRequests, send_all

from cipherquorum.devnet import Devnet

DEPTH = 100_000


def post(url: str, body: bytes) -> requests.Response:
    return requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=30)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * DEPTH + b"]" * DEPTH,
        b'{"a":' * DEPTH + b"1" + b"}" * DEPTH,
        b"[" * DEPTH,
        b'{"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": ' + b"[" * DEPTH + b"]" * DEPTH + b"}",
        b"[" * 65 + b"]" * 65,
    ],
    ids=["arrays", "objects", "unclosed", "in params", "just past the limit"],
)
def test_deeply_nested_bodies_are_refused_and_the_devnet_keeps_serving(child_devnet: ChildDevnet, body: bytes) -> None:
    """A body nested deeper than the limit gets a JSON-RPC error naming the limit; the devnet process lives on."""
    reply = post(child_devnet.url, body).json()
    assert reply["error"]["code"] == -32600
    assert "nesting depth" in reply["error"]["message"] and "64" in reply["error"]["message"]
    assert child_devnet.alive and child_devnet.serves()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": ["' + b"[{" * DEPTH + b'"]}', -32602),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": ["\\"[[[", "\\\\"]}', -32602),
        (b'[{"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs", "params": [{"topics": [[null]]}]}]', None),
        (b"[" * 64 + b"]" * 64, -32600),
    ],
    ids=["brackets in a string", "escaped quotes", "topics lists", "at the limit"],
)
def test_brackets_in_strings_and_nesting_up_to_the_limit_are_parsed(devnet: Devnet, body: bytes, code: int) -> None:
    """Only nesting outside strings counts, and a body nested no deeper than the limit is parsed as usual."""
    payload = post(devnet.url, body).json()
    reply = payload[0] if isinstance(payload, list) and payload and isinstance(payload[0], dict) else payload
    if code is None:
        assert "result" in reply
    else:
        assert reply["error"]["code"] == code
        assert "nesting depth" not in reply["error"]["message"]


def test_a_few_hundred_hostile_requests_leave_the_devnet_serving_without_tracebacks(
    child_devnet: ChildDevnet,
) -> None:
    """300 hostile bodies of every kind get JSON-RPC replies (no internal error); no traceback is logged."""
    chain_id = int(requests.post(child_devnet.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
                                 timeout=10).json()["result"], 16)
    outcome = send_all(child_devnet.url, HostileRequests(seed=14, chain_id=chain_id).draw(300, max_loops=4))
    assert outcome["problems"] == []
    assert sum(outcome["kinds"].values()) == 300 and len(outcome["kinds"]) == 10
    assert child_devnet.alive and child_devnet.serves()
    assert child_devnet.tracebacks() == 0
