"""The embedded chain: eth-tester on py-evm, served over Ethereum JSON-RPC on a local port."""
from __future__ import annotations

from cipherquorum.devnet.devnet import Devnet
from cipherquorum.devnet.dispatcher import RpcMethodStats

__all__ = ["Devnet", "RpcMethodStats"]
