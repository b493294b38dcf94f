"""Fixtures for the chain tests: a fresh TaskMarket per test on the session's devnet (tests/conftest.py).

Every test talks to the real py-evm through the real HTTP server. Fixtures:

- ``terms``: the MarketTerms (stakes, slash, cooldown, reward, windows) the fixtures below use.
- ``market``: a TaskMarket deployed for this test with the terms' min stake, slash and exit cooldown, bound
  to its deployer.
- ``client``: ``market`` acting as the funded account ("client", 0).
- ``register_nodes``: ``register_nodes(count, capacity=1, price_wei=0, stakes_wei=None, first=0)`` registers
  funded ("node", first + i) accounts (stake terms.node_stake_wei unless given) and returns their bindings,
  keyed by address.
- ``make_params``: ``make_params(**overrides)`` builds a valid TaskParams (r=3, q=2, the terms' reward and
  windows) with fields replaced.
- ``vote``: ``vote(node_market, task_id, result_hash, status=SUCCESS)`` returns a Ballot that commits and
  reveals for that node with a salt of its own.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

from cipherquorum.chain import TaskMarket, TxReceipt
from cipherquorum.protocol import TaskParams, compute_seal
from cipherquorum.types import Address, ExecStatus, Hash32


@dataclass(frozen=True)
class MarketTerms:
    """The constants every test market is deployed and used with."""

    fund_wei: int = 10**6 * 10**18
    min_stake_wei: int = 10**18
    node_stake_wei: int = 2 * 10**18
    slash_wei: int = 10**17
    exit_cooldown_s: int = 600
    reward_wei: int = 10**16
    commit_window_s: int = 200
    reveal_window_s: int = 200
    time_limit_s: int = 60


TERMS = MarketTerms()


@pytest.fixture(scope="session")
def terms() -> MarketTerms:
    """The market terms (stakes, slash, cooldown, reward, windows) that the fixtures use."""
    return TERMS


@pytest.fixture
def market(rpc_url: str, accounts: Callable[[str, int], LocalAccount]) -> TaskMarket:
    """A freshly deployed TaskMarket bound to its deployer."""
    return TaskMarket.deploy(
        rpc_url, accounts("deployer", 0),
        min_stake_wei=TERMS.min_stake_wei, slash_wei=TERMS.slash_wei, exit_cooldown_s=TERMS.exit_cooldown_s,
    )


@pytest.fixture
def client(market: TaskMarket, accounts: Callable[[str, int], LocalAccount]) -> TaskMarket:
    """The test's market acting as the client ("client", 0)."""
    return market.with_account(accounts("client", 0))


@pytest.fixture
def register_nodes(
    market: TaskMarket, accounts: Callable[[str, int], LocalAccount]
) -> Callable[..., dict[Address, TaskMarket]]:
    """``register_nodes(count, capacity=1, price_wei=0, stakes_wei=None, first=0)`` -> bindings by address."""

    def register(
        count: int,
        capacity: int = 1,
        price_wei: int = 0,
        stakes_wei: Sequence[int] | None = None,
        first: int = 0,
    ) -> dict[Address, TaskMarket]:
        stakes = list(stakes_wei) if stakes_wei is not None else [TERMS.node_stake_wei] * count
        nodes: dict[Address, TaskMarket] = {}
        for index, stake_wei in zip(range(first, first + count), stakes):
            node = market.with_account(accounts("node", index))
            node.register(capacity, price_wei, stake_wei)
            nodes[Address(node.sender)] = node
        return nodes

    return register


@pytest.fixture
def make_params() -> Callable[..., TaskParams]:
    """``make_params(**overrides)``: a valid TaskParams (r=3, q=2, the terms' reward) with fields replaced."""

    def make(**overrides: object) -> TaskParams:
        fields: dict[str, object] = {
            "program_id": keccak(b"histogram@1"),
            "manifest_ref": keccak(b"manifest"),
            "replication": 3,
            "quorum": 2,
            "commit_window_s": TERMS.commit_window_s,
            "reveal_window_s": TERMS.reveal_window_s,
            "time_limit_s": TERMS.time_limit_s,
            "reward_per_node_wei": TERMS.reward_wei,
        }
        fields.update(overrides)
        return TaskParams(**fields)  # type: ignore[arg-type]

    return make


@dataclass(frozen=True)
class Ballot:
    """One node's answer on one task: what it commits and reveals, with a salt of its own."""

    node: TaskMarket
    task_id: int
    result_hash: Hash32
    status: ExecStatus
    salt: Hash32
    result_ref: Hash32

    @property
    def seal(self) -> Hash32:
        """The seal this ballot commits."""
        return compute_seal(self.task_id, self.result_hash, self.status, str(self.node.sender), self.salt)

    def commit(self) -> TxReceipt:
        """Commit the seal."""
        return self.node.commit(self.task_id, self.seal)

    def reveal(self) -> TxReceipt:
        """Reveal the values behind the seal."""
        return self.node.reveal(self.task_id, self.result_hash, self.status, self.salt, self.result_ref)


@pytest.fixture
def vote() -> Callable[..., Ballot]:
    """``vote(node, task_id, result_hash, status=SUCCESS)``: a Ballot for that node with its own salt."""

    def make(node: TaskMarket, task_id: int, result_hash: bytes, status: ExecStatus = ExecStatus.SUCCESS) -> Ballot:
        salt = keccak(f"salt/{node.sender}/{task_id}".encode())
        return Ballot(node, task_id, Hash32(result_hash), status, Hash32(salt), Hash32(keccak(b"ref" + result_hash)))

    return make

