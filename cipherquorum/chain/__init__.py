"""The chain layer: an embedded JSON-RPC devnet, derived accounts and the typed TaskMarket binding."""
from __future__ import annotations

from .accounts import derive_account, derive_private_key
from .artifact import ContractArtifact, load_artifact
from .devnet import Devnet
from .errors import CONTRACT_ERRORS, RevertDecoder
from .market import TaskMarket
from .views import (
    ChainEvent,
    MarketTotals,
    NodeView,
    ProofView,
    TaskParams,
    TaskView,
    TxReceipt,
    TxSummary,
    VoteView,
    compute_seal,
)

__all__ = [
    "CONTRACT_ERRORS",
    "ChainEvent",
    "ContractArtifact",
    "Devnet",
    "MarketTotals",
    "NodeView",
    "ProofView",
    "RevertDecoder",
    "TaskMarket",
    "TaskParams",
    "TaskView",
    "TxReceipt",
    "TxSummary",
    "VoteView",
    "compute_seal",
    "derive_account",
    "derive_private_key",
    "load_artifact",
]
