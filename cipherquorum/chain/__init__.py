"""The chain binding: derived accounts, the compiled artifact and the typed TaskMarket over any JSON-RPC node."""
from __future__ import annotations

from cipherquorum.chain.accounts import derive_account, derive_private_key
from cipherquorum.chain.artifact import ContractArtifact, load_artifact
from cipherquorum.chain.errors import CONTRACT_ERRORS, RevertDecoder
from cipherquorum.chain.market import Queued, TaskMarket
from cipherquorum.chain.views import (
    ChainEvent,
    MarketTotals,
    NodeView,
    TaskRound,
    TaskView,
    TxReceipt,
    TxSummary,
    VoteView,
)

__all__ = [
    "CONTRACT_ERRORS",
    "ChainEvent",
    "ContractArtifact",
    "MarketTotals",
    "NodeView",
    "Queued",
    "RevertDecoder",
    "TaskMarket",
    "TaskRound",
    "TaskView",
    "TxReceipt",
    "TxSummary",
    "VoteView",
    "derive_account",
    "derive_private_key",
    "load_artifact",
]
