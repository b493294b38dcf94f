"""Fixtures for the study tests: market prices and a registry of equal stakes with a byzantine share.

- ``prices``: the MarketPrices the tests use (reward 0.01 ether, slash 0.1 ether, gas 1 gwei).
- ``equal_registry``: ``equal_registry(nodes, byzantine)`` is a Registry of ``nodes`` equal stakes whose first
  ``byzantine`` nodes are byzantine.
- ``trials_for``: ``trials_for(registry, r, q, kind, seed="study-tests")`` builds ContractTrials for a point.
"""
from __future__ import annotations

from collections.abc import Callable

import pytest

from cipherquorum.protocol import BehaviourName
from cipherquorum.study import ContractTrials, MarketPrices, MarketSetup, Registry

STAKE_WEI = 2 * 10**18
MIN_STAKE_WEI = 10**18
PRICES = MarketPrices(reward_per_node_wei=10**16, slash_wei=10**17, gas_price_wei=10**9)


@pytest.fixture(scope="session")
def prices() -> MarketPrices:
    """The prices every study test market uses."""
    return PRICES


@pytest.fixture(scope="session")
def equal_registry() -> Callable[[int, int], Registry]:
    """``equal_registry(nodes, byzantine)``: equal stakes, the first ``byzantine`` nodes byzantine."""

    def build(nodes: int, byzantine: int) -> Registry:
        return Registry((STAKE_WEI,) * nodes, tuple(i < byzantine for i in range(nodes)))

    return build


@pytest.fixture(scope="session")
def trials_for() -> Callable[..., ContractTrials]:
    """``trials_for(registry, r, q, kind, seed="study-tests")``: contract-mode trials of that point."""

    def build(registry: Registry, replication: int, quorum: int, kind: BehaviourName,
              seed: str = "study-tests") -> ContractTrials:
        return ContractTrials(registry, MarketSetup(seed, replication, quorum, kind, PRICES, MIN_STAKE_WEI))

    return build
