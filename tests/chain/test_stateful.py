"""Random sequences of market operations, single and batched, keep the contract's books balanced and never slash a
winner; a batch's refused items are skipped and the others take effect; adaptive tasks extend and settle within
their maximum replication."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from cipherquorum.chain import TaskMarket, TxReceipt
from cipherquorum.exceptions import ContractError
from cipherquorum.protocol import TaskParams
from cipherquorum.types import Address, ExecStatus, Hash32

NODE_COUNT = 4
CLIENT_COUNT = 2
HONEST = Hash32(keccak(b"honest result"))
DISSENT = Hash32(keccak(b"dissenting result"))


class MarketMachine(RuleBasedStateMachine):
    """Drives one freshly deployed market with random node, client and time operations.

    Expected reverts (a ContractError) are part of the exploration; any other exception fails the test.
    Rules have no preconditions on chain state (matching is pseudo-random, so such preconditions would make
    Hypothesis's replays draw differently); a rule with nothing to act on does nothing.
    """

    def __init__(self, rpc_url: str, accounts: Callable[[str, int], LocalAccount],
                 advance_time: Callable[[int], int], terms: Any) -> None:
        super().__init__()
        self.terms = terms
        self.advance = advance_time
        self.market = TaskMarket.deploy(
            rpc_url, accounts("deployer", 0), min_stake_wei=terms.min_stake_wei, slash_wei=terms.slash_wei,
            exit_cooldown_s=terms.exit_cooldown_s,
        )
        self.nodes = [self.market.with_account(accounts("node", i)) for i in range(NODE_COUNT)]
        self.clients = [self.market.with_account(accounts("client", i)) for i in range(CLIENT_COUNT)]
        self.assigned: dict[int, tuple[Address, ...]] = {}
        self.max_replication: dict[int, int] = {}
        self.extended = 0
        self.answers: dict[tuple[int, Address], Hash32] = {}
        self.step_receipts: list[TxReceipt] = []
        self.completed = 0

    def _send(self, transaction: Callable[[], TxReceipt]) -> TxReceipt | None:
        try:
            receipt = transaction()
        except ContractError:
            return None
        self.step_receipts.append(receipt)
        for event in receipt.events:
            if event.name == "TaskMatched":
                self.assigned[event.args["taskId"]] = event.args["nodes"]
            elif event.name == "TaskExtended":
                task_id = event.args["taskId"]
                self.assigned[task_id] = tuple(self.assigned[task_id]) + tuple(event.args["added"])
                assert len(self.assigned[task_id]) <= self.max_replication[task_id]
                self.extended += 1
            elif event.name == "TaskAdaptive":
                self.max_replication[event.args["taskId"]] = event.args["maxReplication"]
            elif event.name == "TaskCompleted":
                self.completed += 1
        return receipt

    def _binding(self, address: Address) -> TaskMarket:
        return next(node for node in self.nodes if node.sender == address)

    def _salt(self, task_id: int, node: Address) -> Hash32:
        return Hash32(keccak(f"{task_id}/{node}".encode()))

    @initialize()
    def open_the_market(self) -> None:
        """Start with every node registered (capacity 2, twice the minimum stake), one task matched and one
        adaptive task extended (its two replicas disagree while two nodes have a free seat), so that every
        sequence covers an extension, whatever the rules draw after it."""
        for node in self.nodes:
            assert self._send(lambda: node.register(2, 0, 2 * self.terms.min_stake_wei)) is not None
        self.create_task(client=0, replication=3, extra_quorum=0, reward_units=1)
        assert self.assigned
        self.split_an_adaptive_task(client=1, extra_seats=1)
        assert self.extended == 1

    @rule(node=st.integers(0, NODE_COUNT - 1), capacity=st.integers(1, 2), stake_halves=st.integers(1, 5))
    def register(self, node: int, capacity: int, stake_halves: int) -> None:
        """Register a node; half a minimum stake is refused."""
        stake_wei = stake_halves * self.terms.min_stake_wei // 2
        self._send(lambda: self.nodes[node].register(capacity, 0, stake_wei))

    @rule(node=st.integers(0, NODE_COUNT - 1), amount_halves=st.integers(1, 3))
    def add_stake(self, node: int, amount_halves: int) -> None:
        """Add stake to a node (refused if it is not registered)."""
        self._send(lambda: self.nodes[node].add_stake(amount_halves * self.terms.min_stake_wei // 2))

    @rule(client=st.integers(0, CLIENT_COUNT - 1), replication=st.integers(1, 3), extra_quorum=st.integers(0, 2),
          reward_units=st.integers(1, 3))
    def create_task(self, client: int, replication: int, extra_quorum: int, reward_units: int) -> None:
        """Create a task with a valid quorum; it is matched at once or queued."""
        params = self._params(replication, extra_quorum, reward_units)
        self._send(lambda: self.clients[client].create_task(params)[1])

    @rule(client=st.integers(0, CLIENT_COUNT - 1), replication=st.integers(1, 3), extra_quorum=st.integers(0, 2),
          extra_seats=st.integers(0, NODE_COUNT), reward_units=st.integers(1, 3))
    def create_adaptive_task(self, client: int, replication: int, extra_quorum: int, extra_seats: int,
                             reward_units: int) -> None:
        """Create an adaptive task of up to NODE_COUNT + 3 seats (above MAX_REPLICATION never, above the nodes
        sometimes); it is matched at r_min or queued, and without a quorum its settlement may extend it."""
        params = self._params(replication, extra_quorum, reward_units)
        self._send(lambda: self.clients[client].create_adaptive_task(params, replication + extra_seats)[1])

    @rule(client=st.integers(0, CLIENT_COUNT - 1), extra_seats=st.integers(1, NODE_COUNT))
    def split_an_adaptive_task(self, client: int, extra_seats: int) -> None:
        """Create an adaptive task (r_min 2, a unanimous quorum) and, if it is matched, have its two replicas
        disagree, so that the last reveal extends it when an eligible node is free (else it settles)."""
        receipt = self._send(lambda: self.clients[client].create_adaptive_task(self._params(2, 1, 1),
                                                                               2 + extra_seats)[1])
        matched = [] if receipt is None else receipt.named("TaskMatched")
        if matched:
            task_id = matched[0].args["taskId"]
            nodes = self.assigned[task_id]
            for seat, node in enumerate(nodes):
                self._commit(task_id, node, seat == 1)
            for node in nodes:
                self._reveal(task_id, node)

    @rule(pick=st.integers(0, 10**6), dissenters=st.sets(st.integers(0, NODE_COUNT - 1), max_size=2))
    def vote_on_the_current_round(self, pick: int, dissenters: set[int]) -> None:
        """Every node of a task's latest seats commits, then reveals (closed seats of an extended task are
        refused); the seats in ``dissenters`` dissent, so an adaptive task may be extended."""
        self._vote(pick, dissenters)

    @rule(client=st.integers(0, CLIENT_COUNT - 1),
          tasks=st.lists(st.tuples(st.integers(1, 3), st.integers(0, 2), st.integers(1, 3)), min_size=1, max_size=3))
    def create_tasks(self, client: int, tasks: list[tuple[int, int, int]]) -> None:
        """Create several tasks in one transaction; each is matched at once or queued, in order."""
        batch = [self._params(*task) for task in tasks]
        receipt = self._send(lambda: self.clients[client].create_tasks(batch)[1])
        if receipt is not None:
            assert not receipt.skipped and len(receipt.named("TaskCreated")) == len(batch)

    def _params(self, replication: int, extra_quorum: int, reward_units: int) -> TaskParams:
        return TaskParams(
            program_id=Hash32(keccak(b"sum@1")), manifest_ref=Hash32(keccak(b"manifest")),
            replication=replication, quorum=min(replication, replication // 2 + 1 + extra_quorum),
            commit_window_s=self.terms.commit_window_s, reveal_window_s=self.terms.reveal_window_s,
            time_limit_s=self.terms.time_limit_s, reward_per_node_wei=reward_units * self.terms.reward_wei,
        )

    def _vote(self, pick: int, dissenters: set[int]) -> None:
        """Every node of a picked task's latest seats commits, then every one reveals; ``dissenters`` dissent."""
        task_id = self._pick_task(pick)
        if task_id is not None:
            nodes = self.assigned[task_id]
            for seat, node in enumerate(nodes):
                self._commit(task_id, node, seat in dissenters)
            for node in nodes:
                self._reveal(task_id, node)

    def _pick_task(self, pick: int) -> int | None:
        return sorted(self.assigned)[pick % len(self.assigned)] if self.assigned else None

    def _commit(self, task_id: int, node: Address, dissent: bool) -> None:
        answer = DISSENT if dissent else HONEST
        seal = TaskMarket.compute_seal(task_id, answer, ExecStatus.SUCCESS, node, self._salt(task_id, node))
        if self._send(lambda: self._binding(node).commit(task_id, seal)) is not None:
            self.answers[(task_id, node)] = answer

    def _reveal(self, task_id: int, node: Address) -> None:
        answer = self.answers.get((task_id, node), HONEST)
        self._send(lambda: self._binding(node).reveal(
            task_id, answer, ExecStatus.SUCCESS, self._salt(task_id, node), keccak(answer)))

    @rule(pick=st.integers(0, 10**6), seat=st.integers(0, NODE_COUNT - 1), dissent=st.booleans())
    def commit(self, pick: int, seat: int, dissent: bool) -> None:
        """An assigned node commits the honest or a dissenting result."""
        task_id = self._pick_task(pick)
        if task_id is not None:
            nodes = self.assigned[task_id]
            self._commit(task_id, nodes[seat % len(nodes)], dissent)

    @rule(pick=st.integers(0, 10**6), seat=st.integers(0, NODE_COUNT - 1))
    def reveal(self, pick: int, seat: int) -> None:
        """An assigned node reveals what it committed (refused if it did not commit)."""
        task_id = self._pick_task(pick)
        if task_id is not None:
            nodes = self.assigned[task_id]
            self._reveal(task_id, nodes[seat % len(nodes)])

    @rule(pick=st.integers(0, 10**6), dissenters=st.sets(st.integers(0, 2), max_size=1))
    def commit_and_reveal_all(self, pick: int, dissenters: set[int]) -> None:
        """Every node of a task commits, then every node reveals; the seat in ``dissenters``, if any, dissents."""
        self._vote(pick, dissenters)

    @rule(node=st.integers(0, NODE_COUNT - 1), picks=st.lists(st.integers(0, 10**6), min_size=1, max_size=4),
          dissent=st.booleans())
    def commit_many(self, node: int, picks: list[int], dissent: bool) -> None:
        """A node commits for several tasks in one transaction; an item the contract refuses (not assigned, closed,
        a second commit, the same task twice) is skipped with its error, and the others take effect."""
        if not self.assigned:
            return
        address = Address(str(self.nodes[node].sender))
        answer = DISSENT if dissent else HONEST
        task_ids = [sorted(self.assigned)[pick % len(self.assigned)] for pick in picks]
        seals = [(t, TaskMarket.compute_seal(t, answer, ExecStatus.SUCCESS, address, self._salt(t, address)))
                 for t in task_ids]
        receipt = self._send(lambda: self.nodes[node].commit_many(seals))
        assert receipt is not None  # a batch reverts only when malformed
        assert all(isinstance(error, ContractError) for error in receipt.skipped.values())
        committed = [event.args["taskId"] for event in receipt.named("Committed")]
        assert committed == [t for index, t in enumerate(task_ids) if index not in receipt.skipped]
        for task_id in committed:
            self.answers[(task_id, address)] = answer

    @rule(node=st.integers(0, NODE_COUNT - 1), picks=st.lists(st.integers(0, 10**6), min_size=1, max_size=4))
    def reveal_many(self, node: int, picks: list[int]) -> None:
        """A node reveals for several tasks in one transaction; refused items are skipped, each task's last reveal
        finalizes it."""
        if not self.assigned:
            return
        address = Address(str(self.nodes[node].sender))
        task_ids = [sorted(self.assigned)[pick % len(self.assigned)] for pick in picks]
        answers = [self.answers.get((t, address), HONEST) for t in task_ids]
        items = [(t, answer, ExecStatus.SUCCESS, self._salt(t, address), keccak(answer))
                 for t, answer in zip(task_ids, answers)]
        receipt = self._send(lambda: self.nodes[node].reveal_many(items))
        assert receipt is not None
        revealed = [event.args["taskId"] for event in receipt.named("Revealed")]
        assert revealed == [t for index, t in enumerate(task_ids) if index not in receipt.skipped]

    @rule(pick=st.integers(0, 10**6), client=st.integers(0, CLIENT_COUNT - 1))
    def finalize(self, pick: int, client: int) -> None:
        """Anyone finalizes a matched task (refused while too early or once settled)."""
        task_id = self._pick_task(pick)
        if task_id is not None:
            self._send(lambda: self.clients[client].finalize(task_id))

    @rule(seconds=st.sampled_from([30, 150, 250, 700]))
    def advance_time(self, seconds: int) -> None:
        """Block time jumps past some deadlines or a cooldown."""
        self.advance(seconds)

    @rule(account=st.integers(0, NODE_COUNT + CLIENT_COUNT - 1), quarters=st.integers(1, 5))
    def withdraw(self, account: int, quarters: int) -> None:
        """Withdraw part, all, or (five quarters) more than the withdrawable balance."""
        binding = (self.nodes + self.clients)[account]
        amount_wei = self.market.withdrawable(str(binding.sender)) * quarters // 4
        self._send(lambda: binding.withdraw(amount_wei))

    @rule(node=st.integers(0, NODE_COUNT - 1))
    def request_exit(self, node: int) -> None:
        """A node asks to exit."""
        self._send(self.nodes[node].request_exit)

    @rule(node=st.integers(0, NODE_COUNT - 1))
    def exit(self, node: int) -> None:
        """A node exits (refused before its cooldown or while busy)."""
        self._send(self.nodes[node].exit)

    @rule(max_tasks=st.integers(1, 3))
    def match_pending(self, max_tasks: int) -> None:
        """Anyone matches queued tasks."""
        self._send(lambda: self.clients[0].match_pending(max_tasks))

    @invariant()
    def books_balance_and_winners_are_never_slashed(self) -> None:
        """The contract's ether equals stakes + escrows + withdrawable; in every settlement the winners are
        exactly the rewarded nodes and none of them is slashed. Only a mined transaction can change either,
        so a step without one is not read again."""
        if not self.step_receipts:
            return
        assert self.market.balance_wei() == self.market.totals().liabilities_wei
        for receipt in self.step_receipts:
            settled = {e.args["taskId"] for e in receipt.events if e.name in ("TaskCompleted", "TaskFailed")}
            assert not settled & {e.args["taskId"] for e in receipt.named("TaskExtended")}
            for completed in receipt.named("TaskCompleted"):
                task_id = completed.args["taskId"]
                winners = set(completed.args["winners"])
                slashed = {e.args["node"] for e in receipt.named("Slashed") if e.args["taskId"] == task_id}
                rewarded = {e.args["node"] for e in receipt.named("Rewarded") if e.args["taskId"] == task_id}
                assert winners == rewarded
                assert not winners & slashed
        self.step_receipts.clear()

    def teardown(self) -> None:
        """At the end the contract's stake total is the sum of the nodes' stakes and equals its own liabilities."""
        stakes_wei = sum(self.market.node(str(node.sender)).stake_wei for node in self.nodes)
        assert stakes_wei == self.market.totals().stakes_wei
        assert self.market.liabilities_wei() == self.market.balance_wei()


def test_random_market_operations_keep_the_books_balanced(
    rpc_url: str, accounts: Callable[[str, int], LocalAccount], advance_time: Callable[[int], int], terms: Any
) -> None:
    """Any sequence of register, stake, create, commit, reveal, finalize, time jumps, withdraw and exit keeps
    ether == stakes + escrows + withdrawable, and no winner of a finalized task is slashed in it."""
    machines: list[MarketMachine] = []

    def new_machine() -> MarketMachine:
        machines.append(MarketMachine(rpc_url, accounts, advance_time, terms))
        return machines[-1]

    run_state_machine_as_test(
        new_machine,
        settings=settings(max_examples=15, stateful_step_count=30, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]),
    )
    assert sum(machine.completed for machine in machines) > 0, "no sequence ever completed a task"
    assert sum(machine.extended for machine in machines) > 0, "no sequence ever extended an adaptive task"
