"""Which JSON-RPC methods anyone may call, and which only the run itself (through the admin URL): every method that
changes the chain or the server's state without a signature is an admin method."""
from __future__ import annotations

from web3.providers.eth_tester.defaults import API_ENDPOINTS

from cipherquorum.devnet.rpc import METHOD_NOT_FOUND, RpcError

PUBLIC_METHODS = frozenset({
    "web3_clientVersion", "web3_sha3", "net_listening", "net_peerCount", "net_version",
    "eth_accounts", "eth_blobBaseFee", "eth_blockNumber", "eth_call", "eth_chainId", "eth_estimateGas",
    "eth_feeHistory", "eth_gasPrice", "eth_getBalance", "eth_getBlockByHash", "eth_getBlockByNumber",
    "eth_getBlockTransactionCountByHash", "eth_getBlockTransactionCountByNumber", "eth_getCode", "eth_getLogs",
    "eth_getProof", "eth_getStorageAt", "eth_getTransactionByBlockHashAndIndex",
    "eth_getTransactionByBlockNumberAndIndex", "eth_getTransactionByHash", "eth_getTransactionCount",
    "eth_getTransactionReceipt", "eth_getUncleByBlockHashAndIndex", "eth_getUncleByBlockNumberAndIndex",
    "eth_getUncleCountByBlockHash", "eth_getUncleCountByBlockNumber", "eth_maxPriorityFeePerGas",
    "eth_protocolVersion", "eth_sendRawTransaction", "eth_syncing", "devnet_waitForBlock",
})
"""Reads, calls and signed transactions: what a node on the network needs, and all a stranger may do."""
DEVNET_METHODS = frozenset({"evm_increaseTime", "devnet_waitForBlock"})
"""Methods the devnet serves itself, beyond eth-tester's table."""
KNOWN_METHODS = frozenset(
    {f"{namespace}_{name}" for namespace, methods in API_ENDPOINTS.items() for name in methods} | DEVNET_METHODS
)
ADMIN_METHODS = KNOWN_METHODS - PUBLIC_METHODS
"""Everything else the devnet knows: eth_sendTransaction from its unlocked accounts, evm_* (mine, snapshot,
revert, increaseTime), testing_timeTravel, filters (installed without a signature and never expired), and any
endpoint a later eth-tester adds, until it is listed as public."""


def check_allowed(method: str, admin: bool) -> None:
    """Raise RpcError (method not found) if ``method`` is an admin method and the request is not an admin's."""
    if not admin and method in ADMIN_METHODS:
        raise RpcError(METHOD_NOT_FOUND, f"{method} is disabled on this devnet's public URL: it changes state "
                                         "without a signature, so only the admin URL serves it (or a Devnet "
                                         "built with admin_methods=True)")


__all__ = ["ADMIN_METHODS", "DEVNET_METHODS", "KNOWN_METHODS", "PUBLIC_METHODS", "check_allowed"]
