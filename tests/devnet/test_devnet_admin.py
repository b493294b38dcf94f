"""Only the run itself can rewrite the devnet: methods that change state without a signature are disabled unless
the request comes through the admin URL or the devnet was built with them enabled, and it binds loopback."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from web3.providers.eth_tester.defaults import API_ENDPOINTS

from cipherquorum.devnet import Devnet
from cipherquorum.devnet.access import DEVNET_METHODS, PUBLIC_METHODS
from cipherquorum.nodes.chain_host import ChainHost


def rpc(url: str, method: str, params: list[Any]) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return requests.post(url, json=body, timeout=10).json()


def admin_calls(devnet: Devnet) -> dict[str, list[Any]]:
    """Each admin method with params that would change this devnet's state if it were served."""
    return {
        "eth_sendTransaction": [{"from": devnet.funders[0], "to": "0x" + "22" * 20, "value": hex(10**24),
                                 "gas": hex(21000)}],
        "evm_mine": [],
        "evm_snapshot": [],
        "evm_revert": ["0x0"],
        "evm_increaseTime": [10**9],
        "testing_timeTravel": [2**40],
        "eth_newFilter": [{}],
        "eth_newBlockFilter": [],
        "eth_newPendingTransactionFilter": [],
        "eth_uninstallFilter": ["0x0"],
        "eth_getFilterChanges": ["0x0"],
        "eth_getFilterLogs": ["0x0"],
    }


ADMIN_METHODS = [
    "eth_getFilterChanges", "eth_getFilterLogs", "eth_newBlockFilter", "eth_newFilter",
    "eth_newPendingTransactionFilter", "eth_sendTransaction", "eth_uninstallFilter", "evm_increaseTime", "evm_mine",
    "evm_revert", "evm_snapshot", "testing_timeTravel",
]


@pytest.fixture(scope="module")
def locked() -> Iterator[Devnet]:
    """A devnet built with the defaults: admin methods only through its admin URL."""
    with Devnet(seed="admin-tests") as devnet:
        yield devnet


@pytest.mark.parametrize("method", ADMIN_METHODS)
def test_admin_methods_are_disabled_on_the_public_url(locked: Devnet, method: str) -> None:
    """Each state-changing method without a signature gets -32601 naming it as disabled; the chain is unchanged."""
    head = rpc(locked.url, "eth_blockNumber", [])["result"]
    reply = rpc(locked.url, method, admin_calls(locked)[method])
    assert reply["error"]["code"] == -32601
    assert method in reply["error"]["message"] and "disabled" in reply["error"]["message"]
    assert rpc(locked.url, "eth_blockNumber", [])["result"] == head


@pytest.mark.parametrize("method", ["eth_sendTransaction", "evm_mine", "evm_snapshot", "evm_increaseTime"])
def test_admin_methods_work_through_the_admin_url(locked: Devnet, method: str) -> None:
    """The admin URL (the public URL plus the run's token) serves the admin methods."""
    reply = rpc(locked.admin_url, method, admin_calls(locked)[method])
    assert "result" in reply, reply


def test_admin_methods_work_for_everyone_when_the_devnet_enables_them() -> None:
    """Devnet(admin_methods=True) serves them on its public URL as well."""
    with Devnet(admin_methods=True) as devnet:
        head = rpc(devnet.url, "eth_blockNumber", [])["result"]
        snapshot = rpc(devnet.url, "evm_snapshot", [])["result"]
        assert "result" in rpc(devnet.url, "evm_mine", [])
        assert rpc(devnet.url, "eth_blockNumber", [])["result"] != head
        assert "result" in rpc(devnet.url, "evm_revert", [snapshot])
        assert rpc(devnet.url, "eth_blockNumber", [])["result"] == head


def test_the_admin_url_carries_a_token_that_the_public_url_lacks(locked: Devnet) -> None:
    """The admin URL is the public one plus a path of its own, different for every devnet."""
    assert locked.admin_url.startswith(locked.url + "/")
    token = locked.admin_url[len(locked.url) + 1:]
    assert len(token) >= 16 and token not in locked.url
    with Devnet() as other:
        assert other.admin_url[len(other.url) + 1:] != token


@pytest.mark.parametrize("path", ["/wrong-token", "/x/y", "/rpc"])
def test_a_wrong_path_gets_404(locked: Devnet, path: str) -> None:
    """Any path but / and the admin token is refused with HTTP 404, a guessed token included."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "evm_mine", "params": []}
    response = requests.post(locked.url + path, json=body, timeout=10)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == -32600


def test_reads_and_signed_transactions_stay_public(locked: Devnet) -> None:
    """The public URL serves every method a node needs: reads, eth_call, eth_getLogs, eth_sendRawTransaction."""
    assert {"eth_blockNumber", "eth_call", "eth_getLogs", "eth_sendRawTransaction", "eth_chainId",
            "eth_getTransactionReceipt", "eth_estimateGas"} <= PUBLIC_METHODS
    assert rpc(locked.url, "eth_sendRawTransaction", ["0x00"])["error"]["code"] != -32601


def test_every_endpoint_of_eth_testers_table_that_changes_state_is_not_public() -> None:
    """The public set holds no method of eth-tester's table that changes state without a signature."""
    table = {f"{namespace}_{name}" for namespace, methods in API_ENDPOINTS.items() for name in methods}
    assert set(ADMIN_METHODS) - {"evm_increaseTime"} <= table
    assert not set(ADMIN_METHODS) & PUBLIC_METHODS
    assert table | DEVNET_METHODS >= PUBLIC_METHODS


def test_the_devnet_binds_loopback_by_default() -> None:
    """Devnet() and a chain host that is not told to bind its cluster address listen on 127.0.0.1 only."""
    with Devnet() as devnet:
        assert urlsplit(devnet.url).hostname == "127.0.0.1"
    host = ChainHost(seed="bind-test")
    try:
        assert urlsplit(host.url()).hostname == "127.0.0.1"
        assert rpc(host.url(), "evm_mine", [])["error"]["code"] == -32601
    finally:
        host.stop()
