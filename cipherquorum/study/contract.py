"""Contract-mode trials: the real TaskMarket bytecode decides every outcome of tasks voted on synthetically.

One market per grid point: its nodes register once, in the registry's order, as the seed's derived accounts.
Trial t is task t: the client creates it, the assigned replicas commit and then reveal a synthetic result
(honest: the true hash; independent wrong: a hash of each node's own; colluding: one shared wrong hash), the
last reveal finalizes it, and the outcome and payouts are read from the contract's events. An adaptive point's
task is created with createAdaptiveTask: while its last reveal extends it (TaskExtended), the added replicas
vote the same way, until it settles; the trial records how many replicas it used. Each slashed node
then adds back what it lost, so every trial draws from the same stakes. The contract's matching mixes the
block's prevrandao with the task id, and every block carries the devnet's prevrandao for the seed, so the same
seed and registry give the same assignments on the devnet (see ``devnet_prevrandao``).
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from eth_abi import abi
from eth_hash.auto import keccak

from cipherquorum.chain.accounts import derive_account
from cipherquorum.devnet.backend import prevrandao_of
from cipherquorum.exceptions import ValidationError
from cipherquorum.protocol import MAX_REPLICATION, BehaviourName, TaskParams
from cipherquorum.study.economics import MarketPrices, MoneyTotals
from cipherquorum.study.evm import InProcessMarket
from cipherquorum.study.registry import Registry
from cipherquorum.study.theory import Outcome, checked_kind
from cipherquorum.types import Address, ExecStatus, Hash32

PROGRAM_ID = Hash32(keccak(b"sweep@1"))
MANIFEST_REF = Hash32(keccak(b"cipherquorum/sweep/manifest"))
TRUE_RESULT = Hash32(keccak(b"cipherquorum/sweep/true result"))
COLLUDING_RESULT = Hash32(keccak(b"cipherquorum/sweep/colluding result"))
COMMIT_WINDOW_S = 600
REVEAL_WINDOW_S = 600
TIME_LIMIT_S = 60
EXIT_COOLDOWN_S = 60
REBUILD_TRIALS = 500
"""Trials one in-process market runs before a fresh one replaces it (pyrevm's journal grows with every call)."""
GENESIS_TIME_S = 1_700_000_000
"""The block time of every block of a contract-mode market (no outcome depends on it)."""


def devnet_prevrandao(seed: str) -> bytes:
    """The prevrandao every block of a devnet seeded with ``seed`` carries, which contract mode uses too."""
    return prevrandao_of(seed)


def result_of(kind: BehaviourName, node: str, byzantine: bool) -> Hash32:
    """The result hash a replica reveals: the true one if honest, else the kind's wrong one."""
    if not byzantine:
        return TRUE_RESULT
    if kind is BehaviourName.COLLUDING:
        return COLLUDING_RESULT
    return Hash32(keccak(f"cipherquorum/sweep/wrong result/{node.lower()}".encode()))


def salt_of(node: str) -> Hash32:
    """The salt a replica seals its vote with (any secret would do; the seal binds it to the task id)."""
    return Hash32(keccak(f"cipherquorum/sweep/salt/{node.lower()}".encode()))


@dataclass(frozen=True)
class MarketSetup:
    """The constants of a contract-mode market: who deploys, the stake rules, and each replica's task terms."""

    seed: str
    replication: int
    quorum: int
    kind: BehaviourName
    prices: MarketPrices
    min_stake_wei: int
    max_replication: int | None = None
    """An adaptive task's most replicas (``replication`` is then its r_min); None for fixed replication."""

    def __post_init__(self) -> None:
        checked_kind(self.kind)
        self.task_params.validate()
        top = self.max_replication
        if top is not None and (isinstance(top, bool) or not isinstance(top, int)
                                or not self.replication <= top <= MAX_REPLICATION):
            raise ValidationError(f'"max_replication" must be an int between replication and {MAX_REPLICATION} '
                                  f"(got max_replication={top!r}, replication={self.replication})")

    @property
    def seats(self) -> int:
        """The most replicas a task can have: its escrow pays this many rewards."""
        return self.replication if self.max_replication is None else self.max_replication

    @property
    def task_params(self) -> TaskParams:
        """What the client asks for in every trial."""
        return TaskParams(PROGRAM_ID, MANIFEST_REF, self.replication, self.quorum, COMMIT_WINDOW_S,
                          REVEAL_WINDOW_S, TIME_LIMIT_S, self.prices.reward_per_node_wei)


@dataclass(frozen=True)
class Trial:
    """One task as the contract settled it: who was assigned, the outcome, and the money and gas it moved."""

    task_id: int
    assigned: tuple[Address, ...]
    byzantine_assigned: int
    outcome: Outcome
    credited_wei: Mapping[Address, int]
    slashed_wei: Mapping[Address, int]
    refund_wei: int
    create_gas: int
    replica_gas: Mapping[Address, int]

    @property
    def replicas(self) -> int:
        """How many replicas the task used (more than its r_min when an adaptive task was extended)."""
        return len(self.assigned)


@dataclass
class PointTally:
    """What the trials of one grid point add up to: outcomes, byzantine replica counts, money and gas."""

    replication: int
    quorum: int
    outcomes: Counter[Outcome] = field(default_factory=Counter)
    byzantine_histogram: list[int] = field(default_factory=list)
    below_quorum_trials: int = 0
    wrong_below_quorum: int = 0
    replicas: int = 0
    """Replicas over all trials (the seats the tasks used)."""
    money: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MoneyTotals.__dataclass_fields__, 0))
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if not self.byzantine_histogram:
            self.byzantine_histogram = [0] * (self.replication + 1)

    @property
    def trials(self) -> int:
        """How many trials were counted."""
        return sum(self.outcomes.values())

    def add(self, trial: Trial, byzantine: frozenset[Address], escrow_wei: int) -> None:
        """Count one trial; ``byzantine`` are the registry's byzantine addresses."""
        self.outcomes[trial.outcome] += 1
        self.byzantine_histogram[trial.byzantine_assigned] += 1
        self.replicas += trial.replicas
        if trial.byzantine_assigned < self.quorum:
            self.below_quorum_trials += 1
            self.wrong_below_quorum += trial.outcome is Outcome.WRONG
        money = self.money
        money["trials"] += 1
        money["escrow_wei"] += escrow_wei
        money["refund_wei"] += trial.refund_wei
        money["client_gas"] += trial.create_gas
        for node in trial.assigned:
            side = "cheater" if node in byzantine else "honest"
            money[f"{side}_credit_wei"] += trial.credited_wei.get(node, 0)
            money[f"{side}_slash_wei"] += trial.slashed_wei.get(node, 0)
            money[f"{side}_gas"] += trial.replica_gas[node]
            money[f"{side}_seats"] += 1

    @property
    def mean_replicas(self) -> float:
        """The mean replicas per task (the replication for a fixed point)."""
        return self.replicas / self.trials if self.trials else 0.0

    @property
    def money_totals(self) -> MoneyTotals:
        """The money and gas counted so far."""
        return MoneyTotals(**self.money)


class ContractTrials:
    """Trials of one grid point on the TaskMarket bytecode in an in-process EVM; ``run(n)`` runs the next n.

    Nodes are ``derive_account(seed, "node", i)`` registering ``registry.stakes_wei[i]`` in order, the
    client ``("client", 0)`` and the deployer ``("deployer", 0)``; addresses are kept in lower-case hex.
    ``prevrandao`` defaults to the devnet's for the seed. Raises ValidationError for terms the contract would
    refuse or a stake below the minimum or the slash (such a node would never be matched), and the contract's
    errors if a call reverts.

    Calldata is encoded once per node and only the task id word changes from trial to trial (every argument is
    a static ABI type, one 32-byte word each); the seal is keccak of the same words. Logs are read for the few
    values a trial needs, not decoded whole: that would cost ten times the EVM's own work.
    """

    def __init__(self, registry: Registry, setup: MarketSetup, prevrandao: bytes | None = None) -> None:
        floor_wei = max(setup.min_stake_wei, setup.prices.slash_wei)
        for index, stake in enumerate(registry.stakes_wei):
            if stake < floor_wei:
                raise ValidationError(f"every stake must be >= max(min_stake, slash) = {floor_wei} wei to be matched "
                                      f"(got stakes_wei[{index}]={stake})")
        if setup.replication > registry.size:
            raise ValidationError(f'"replication" must be <= the registered nodes (got replication='
                                  f"{setup.replication}, nodes={registry.size})")
        if setup.seats > registry.size:
            raise ValidationError(f'"max_replication" must be <= the registered nodes (got max_replication='
                                  f"{setup.seats}, nodes={registry.size})")
        self._setup = setup
        params = setup.task_params
        self._escrow_wei = setup.seats * params.reward_per_node_wei
        self._prevrandao = devnet_prevrandao(setup.seed) if prevrandao is None else prevrandao
        self._registry = registry
        self._client = Address(derive_account(setup.seed, "client", 0).address.lower())
        self._nodes = tuple(Address(derive_account(setup.seed, "node", i).address.lower())
                            for i in range(registry.size))
        self._byzantine = frozenset(node for node, bad in zip(self._nodes, registry.byzantine) if bad)
        self._trials_on_market = 0
        market = self._market = self._build_market(0)
        terms = (params.program_id, params.manifest_ref, params.replication, params.quorum, params.commit_window_s,
                 params.reveal_window_s, params.time_limit_s)
        if setup.max_replication is None:
            self._create = market.calldata("createTask", terms)
        else:
            self._create = market.calldata("createAdaptiveTask", ((*terms, self._escrow_wei), setup.max_replication))
        self._add_stake = market.calldata("addStake")
        self._commit_selector = market.calldata("commit", (0, bytes(32)))[:4]
        self._seal_tail: dict[Address, bytes] = {}
        self._reveal_tail: dict[Address, bytes] = {}
        for node in self._nodes:
            result = result_of(setup.kind, node, node in self._byzantine)
            salt = salt_of(node)
            self._seal_tail[node] = abi.encode(["bytes32", "uint8", "address", "bytes32"],
                                               [result, ExecStatus.SUCCESS, node, salt])
            self._reveal_tail[node] = market.calldata("reveal", (0, result, ExecStatus.SUCCESS, salt, TRUE_RESULT))[36:]
        self._reveal_selector = market.calldata("reveal", (0, bytes(32), 0, bytes(32), bytes(32)))[:4]
        self._topics = {name: market.topic(name) for name in
                        ("NodeAssigned", "Rewarded", "Slashed", "Refunded", "TaskCompleted", "TaskExtended")}
        self._tally = PointTally(setup.seats, setup.quorum)

    def _build_market(self, task_count: int) -> InProcessMarket:
        """A fresh market with every node registered, whose next task has id ``task_count + 1``."""
        setup = self._setup
        market = InProcessMarket(
            derive_account(setup.seed, "deployer", 0).address, min_stake_wei=setup.min_stake_wei,
            slash_wei=setup.prices.slash_wei, exit_cooldown_s=EXIT_COOLDOWN_S, prevrandao=self._prevrandao,
            timestamp_s=GENESIS_TIME_S)
        for node, stake in zip(self._nodes, self._registry.stakes_wei):
            market.transact_function(node, "register", (1, 0), stake)
        if task_count:
            market.start_task_ids_after(task_count)
        return market

    @property
    def nodes(self) -> tuple[Address, ...]:
        """The registered nodes' addresses (lower-case hex), in registration order."""
        return self._nodes

    @property
    def byzantine_nodes(self) -> frozenset[Address]:
        """The addresses of the byzantine nodes."""
        return self._byzantine

    @property
    def market(self) -> InProcessMarket:
        """The in-process market the trials run on."""
        return self._market

    @property
    def tally(self) -> PointTally:
        """What the trials run so far add up to."""
        return self._tally

    def seal(self, task_id: int, node: Address) -> bytes:
        """The seal ``node`` commits for ``task_id``: keccak256(abi.encode(taskId, resultHash, status, node, salt))."""
        return keccak(task_id.to_bytes(32, "big") + self._seal_tail[node])

    def run(self, trials: int, on_trial: Callable[[Trial], None] | None = None) -> PointTally:
        """Run ``trials`` more trials, counting each into the tally (and handing it to ``on_trial``)."""
        started = time.perf_counter()
        for _ in range(trials):
            trial = self.run_trial()
            self._tally.add(trial, self._byzantine, self._escrow_wei)
            if on_trial is not None:
                on_trial(trial)
        self._tally.seconds += time.perf_counter() - started
        return self._tally

    def run_trial(self) -> Trial:
        """Create the next task, vote on it, finalize it with the last reveal, restore the slashed stakes.

        Every REBUILD_TRIALS trials the market is built afresh, its task ids continuing (see InProcessMarket).
        """
        if self._trials_on_market >= REBUILD_TRIALS:
            (done,) = self._market.view("taskCount")
            self._market = self._build_market(done)
            self._trials_on_market = 0
        self._trials_on_market += 1
        market, topics = self._market, self._topics
        created = market.transact(self._client, self._create, self._escrow_wei)
        task_id = int.from_bytes(created.output[:32], "big")
        task_word = task_id.to_bytes(32, "big")
        assigned = tuple(Address("0x" + log.topics[2][-40:]) for log in created.logs
                         if log.topics[0] == topics["NodeAssigned"])
        gas: dict[Address, int] = {}
        last, voting = created, assigned
        while voting:  # the first round, then each round an extension added
            for node in voting:
                seal = keccak(task_word + self._seal_tail[node])
                gas[node] = market.transact(node, self._commit_selector + task_word + seal).gas_used
            for node in voting:
                last = market.transact(node, self._reveal_selector + task_word + self._reveal_tail[node])
                gas[node] += last.gas_used
            voting = ()
            if any(log.topics[0] == topics["TaskExtended"] for log in last.logs):
                voting = tuple(Address("0x" + log.topics[2][-40:]) for log in last.logs
                               if log.topics[0] == topics["NodeAssigned"])
                assigned += voting
        credited: dict[Address, int] = {}
        slashed: dict[Address, int] = {}
        refund = 0
        outcome = Outcome.NO_CONSENSUS
        for log in last.logs:
            topic = log.topics[0]
            if topic == topics["Rewarded"]:
                credited[Address("0x" + log.topics[2][-40:])] = log.word(0)
            elif topic == topics["Slashed"]:
                slashed[Address("0x" + log.topics[2][-40:])] = log.word(0)
            elif topic == topics["Refunded"]:
                refund = log.word(0)
            elif topic == topics["TaskCompleted"]:
                outcome = Outcome.CORRECT if log.data[:32] == TRUE_RESULT else Outcome.WRONG
        for node, amount in slashed.items():
            if amount:
                market.transact(node, self._add_stake, amount)
        return Trial(task_id, assigned, sum(node in self._byzantine for node in assigned), outcome, credited,
                     slashed, refund, created.gas_used, gas)


__all__ = [
    "COLLUDING_RESULT",
    "GENESIS_TIME_S",
    "TRUE_RESULT",
    "ContractTrials",
    "MarketSetup",
    "PointTally",
    "Trial",
    "devnet_prevrandao",
    "result_of",
    "salt_of",
]
