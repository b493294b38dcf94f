"""A scenario run: start every role on Ray, run the studies through the market, and build the report."""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cipherquorum.chain import ChainEvent, TaskMarket, derive_account
from cipherquorum.exceptions import NodeError
from cipherquorum.measurement.spans import PhaseSpan, ProcessUsage
from cipherquorum.nodes.chain_host import ChainHandle
from cipherquorum.nodes.client import ClientPoolHandle, TaskOutcome, TaskSpec
from cipherquorum.nodes.compute import ComputeNodeHandle, NodeStatus
from cipherquorum.nodes.driver.metrics import RunMetrics, TaskMetrics, rpc_delta
from cipherquorum.nodes.driver.results import combine_results, question_params, task_reference
from cipherquorum.nodes.driver.stack import MarketStack, answer_study, running_market
from cipherquorum.nodes.hosting import RoleHandle, SpanSource, wait_first
from cipherquorum.nodes.population import RespondentShardHandle, ShardAnswers
from cipherquorum.reports.run import NodeReport, RunReport, StudyReport, TaskReport, Verdict, VoteReport
from cipherquorum.settings.scenario import Question, Scenario, Study
from cipherquorum.types import Address, SlashReason, TaskId, TaskState


@dataclass(frozen=True)
class Progress:
    """What the market has done so far, as seen on chain."""

    elapsed_s: float
    phase: str
    planned: int
    created: int
    committed: int
    revealed: int
    finalized: int
    no_consensus: int


@dataclass
class _PlannedTask:
    """A task the run plans, with the plaintext it must decrypt to (harness-side ground truth)."""

    study: Study
    question_index: int
    spec: TaskSpec
    plain_inputs: tuple[tuple[int, ...], ...]
    task_id: TaskId | None = None
    """The id createTask returned, once the task is created."""


@dataclass
class _Tally:
    """Chain events counted incrementally for the progress line."""

    next_block: int
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, events: Sequence[ChainEvent]) -> None:
        for event in events:
            self.counts[event.name] = self.counts.get(event.name, 0) + 1


class MarketRun:
    """Runs one scenario on Ray (local, or a cluster at ``ray_address``) and returns its RunReport.

    ``on_progress`` is called about every ``progress_interval_s`` while tasks run. Ctrl-C stops the run
    cleanly: the report then covers what finished and is marked interrupted.
    """

    def __init__(self, scenario: Scenario, *, ray_address: str = "", data_dir: str | Path | None = None,
                 on_progress: Callable[[Progress], None] | None = None, progress_interval_s: float = 0.5) -> None:
        self._scenario = scenario
        self._address = ray_address or scenario.run.ray_address
        self._data_dir = Path(data_dir or scenario.run.data_dir or Path("cq-data") / scenario.run.name)
        self._on_progress = on_progress
        self._progress_interval_s = progress_interval_s
        self._timings: dict[str, float] = {}
        self._t0 = 0.0
        self._tasks_block = 0
        self._tasks_s = 0.0
        self._chain: ChainHandle | None = None
        self._chain_rpc: dict = {}
        self._spans: list[PhaseSpan] = []
        self._metrics: RunMetrics | None = None

    @property
    def metrics(self) -> RunMetrics | None:
        """What the last ``run()`` measured about itself (None before a run gets to its tasks)."""
        return self._metrics

    def run(self) -> RunReport:
        """Start, run and stop everything; raises NodeError if Ray or the chain cannot be started."""
        self._t0 = time.monotonic()
        with running_market(self._scenario, self._data_dir, ray_address=self._address,
                            clients=len(self._scenario.studies), lap=self._lap) as stack:
            return self._run(stack)

    # --- the run, step by step ---------------------------------------------------------------------

    def _run(self, stack: MarketStack) -> RunReport:
        self._chain = stack.chain
        market, nodes, clients = stack.market, list(stack.nodes), stack.clients
        planned = self._answer_studies(clients, stack.shards)
        self._lap("answers")
        outcomes, interrupted = self._run_tasks(clients, nodes, planned, market, stack.start_block)
        self._lap("tasks")
        statuses = self._stop_nodes(nodes)
        self._metrics = self._measure(market, outcomes, stack.roles, stack.span_sources)
        actors = len(stack.roles)
        return self._report(market, stack.start_block, planned, outcomes, nodes, statuses, actors, interrupted)

    def _answer_studies(self, clients: ClientPoolHandle,
                        shards: Sequence[RespondentShardHandle]) -> dict[int, list[_PlannedTask]]:
        """Each study's client publishes it; the population answers; the client's tasks are planned."""
        planned: dict[int, list[_PlannedTask]] = {}
        for index, study in enumerate(self._scenario.studies):
            programs = sorted({p for q in study.questions for p in q.programs})
            opened = clients.open_study(index, study, programs)
            limit = study.respondents or self._scenario.population.respondents
            answers = answer_study(shards, study, opened.key_bundle_ref, limit)
            self._spans.extend(span for shard_answers in answers for span in shard_answers.spans)
            planned[index] = self._plan_tasks(study, answers)
        return planned

    def _plan_tasks(self, study: Study, answers: Sequence[ShardAnswers]) -> list[_PlannedTask]:
        tasks = []
        for q_index, question in enumerate(study.questions):
            refs = [ref for shard in answers for ref in shard.refs[q_index]]
            plain = [value for shard in answers for value in shard.plain[q_index]]
            size = study.inputs_per_task or len(refs)
            chunks = max(1, math.ceil(len(refs) / size))
            for program in question.programs:
                params = question_params(program, question)
                for chunk in range(chunks):
                    part = slice(chunk * size, (chunk + 1) * size)
                    label = f"{study.study_id}/q{q_index}" + (f"#{chunk + 1}" if chunks > 1 else "")
                    vectors, _ = task_reference(program, question, plain[part])
                    spec = TaskSpec(label=label, program=program, input_refs=tuple(refs[part]), params=params,
                                    result_slots=max(len(v) for v in vectors))
                    tasks.append(_PlannedTask(study, q_index, spec, tuple(plain[part])))
        return tasks

    def _run_tasks(self, clients: ClientPoolHandle, nodes: Sequence[ComputeNodeHandle],
                   planned: dict[int, list[_PlannedTask]], market: TaskMarket,
                   start_block: int) -> tuple[dict[int, list[TaskOutcome]], bool]:
        """Create every task, then let the nodes work, and wait for the clients to settle them.

        Each planned task gets the id its createTask returned. Returns each client's outcomes, and whether the
        run was interrupted.

        Creating all tasks before any node starts makes the matching a function of the seed alone: no task
        finalizes (freeing capacity or slashing stake) between two creations.
        """
        market_cfg = self._scenario.market
        total = sum(len(tasks) for tasks in planned.values())
        capacity = sum(g.count * g.capacity for g in self._scenario.nodes)
        waves = 1 + math.ceil(total * market_cfg.replication / max(1, capacity))
        timeout_s = waves * (market_cfg.commit_window_s + market_cfg.reveal_window_s) + 120
        self._tasks_block = market.block_number()
        self._chain_rpc = self._chain.rpc_stats() if self._chain is not None else {}
        started_s = time.monotonic()
        for index, tasks in planned.items():
            for task, task_id in zip(tasks, clients.create_tasks(index, [t.spec for t in tasks])):
                task.task_id = task_id
        for started in [node.submit_start() for node in nodes]:  # all at once: the tasks wait for them
            started.result()
        calls = {index: clients.submit_await_tasks(index, timeout_s) for index in planned}
        tally = _Tally(next_block=start_block)
        interrupted = False
        try:
            while len(wait_first(list(calls.values()), self._progress_interval_s)) < len(calls):
                self._report_progress(market, tally, total)
        except KeyboardInterrupt:
            interrupted = True
            clients.stop()
        outcomes = {}
        for index, call in calls.items():
            try:
                outcomes[index] = call.result(timeout_s=30)
            except (NodeError, KeyboardInterrupt):
                outcomes[index] = []
                interrupted = True
        self._tasks_s = time.monotonic() - started_s  # the e2e time: the bookkeeping below is not part of it
        if self._chain is not None:
            self._chain_rpc = rpc_delta(self._chain_rpc, self._chain.rpc_stats())
        self._report_progress(market, tally, total)
        return outcomes, interrupted

    def _report_progress(self, market: TaskMarket, tally: _Tally, planned: int) -> None:
        latest = market.block_number()
        if latest >= tally.next_block:
            tally.add(market.events(tally.next_block, latest))
            tally.next_block = latest + 1
        if self._on_progress is not None:
            c = tally.counts
            self._on_progress(Progress(
                elapsed_s=time.monotonic() - self._t0, phase="tasks", planned=planned,
                created=c.get("TaskCreated", 0), committed=c.get("Committed", 0), revealed=c.get("Revealed", 0),
                finalized=c.get("TaskCompleted", 0) + c.get("TaskFailed", 0), no_consensus=c.get("TaskFailed", 0)))

    @staticmethod
    def _stop_nodes(nodes: Sequence[ComputeNodeHandle]) -> list[NodeStatus | None]:
        statuses: list[NodeStatus | None] = []
        for node in nodes:
            try:
                statuses.append(node.stop())
            except NodeError:
                statuses.append(None)  # the node's process died
        return statuses

    def _measure(self, market: TaskMarket, outcomes: dict[int, list[TaskOutcome]], roles: Sequence[RoleHandle],
                 span_sources: Sequence[SpanSource]) -> RunMetrics:
        """Collect what the run measured: tasks, transactions, the roles' spans and each process's usage."""
        tasks = tuple(TaskMetrics(o.task_id, index, o.manifest_ref, o.state, o.latency_s)
                      for index, client_outcomes in outcomes.items() for o in client_outcomes)
        transactions = tuple(market.transactions(self._tasks_block + 1, market.block_number()))
        spans = list(self._spans)
        for source in span_sources:
            try:
                spans.extend(source.spans()[0])
            except NodeError:
                pass  # the role's process died; its spans died with it
        usage: list[ProcessUsage] = []
        for role in roles:
            try:
                usage.append(role.usage())
            except NodeError:
                pass
        return RunMetrics(tasks_s=self._tasks_s, first_block=self._tasks_block + 1, tasks=tasks,
                          transactions=transactions, chain_rpc=self._chain_rpc, spans=tuple(spans), usage=tuple(usage))

    def _lap(self, name: str) -> None:
        now = time.monotonic() - self._t0
        self._timings[name] = now - sum(self._timings.values())

    # --- the report ------------------------------------------------------------------------------

    def _report(self, market: TaskMarket, start_block: int, planned: dict[int, list[_PlannedTask]],
                outcomes: dict[int, list[TaskOutcome]], nodes: Sequence[ComputeNodeHandle],
                statuses: Sequence[NodeStatus | None], actors: int, interrupted: bool) -> RunReport:
        events = market.events(start_block, market.block_number())
        behaviour_of: dict[Address, str] = {}
        for node in nodes:
            behaviour_of[Address(derive_account(self._scenario.run.seed, "node", node.config.index).address)] = \
                node.config.behaviour
        rewards: dict[str, int] = {}
        slashes: dict[str, int] = {}
        reasons: dict[str, list[str]] = {}
        refunds: dict[int, int] = {}
        for event in events:
            args = event.args
            if event.name == "Rewarded":
                rewards[args["node"]] = rewards.get(args["node"], 0) + args["amountWei"]
            elif event.name == "Slashed":
                slashes[args["node"]] = slashes.get(args["node"], 0) + args["amountWei"]
                reasons.setdefault(args["node"], []).append(SlashReason(args["reason"]).name.lower())
            elif event.name == "TaskFailed":
                refunds[args["taskId"]] = args["refundWei"]

        task_reports: list[TaskReport] = []
        study_reports: list[StudyReport] = []
        assigned_count: dict[str, int] = {}
        outcome_of = {o.task_id: o for client_outcomes in outcomes.values() for o in client_outcomes}
        for index, tasks in planned.items():
            per_question: dict[tuple[int, str], list[tuple[_PlannedTask, TaskOutcome | None]]] = {}
            for task in tasks:
                outcome = outcome_of.get(task.task_id) if task.task_id is not None else None
                per_question.setdefault((task.question_index, task.spec.program), []).append((task, outcome))
                if outcome is None:
                    continue
                report = self._task_report(market, task, outcome, behaviour_of, refunds)
                for assigned in report.assigned:
                    assigned_count[assigned] = assigned_count.get(assigned, 0) + 1
                task_reports.append(report)
            study = self._scenario.studies[index]
            for (q_index, program), pairs in per_question.items():
                study_reports.append(self._study_report(study, q_index, program, pairs))

        node_reports = []
        for node, status in zip(nodes, statuses):
            address = status.address if status else Address(
                derive_account(self._scenario.run.seed, "node", node.config.index).address)
            node_reports.append(NodeReport(
                index=node.config.index, address=address, behaviour=node.config.behaviour,
                assigned=assigned_count.get(address, 0), rewarded_wei=rewards.get(address, 0),
                slashed_wei=slashes.get(address, 0), slash_reasons=tuple(reasons.get(address, [])),
                alive=status is not None, notes=status.notes if status else ("its process died",)))
        chain_info = {"market_address": market.address, "deploy_block": start_block,
                      "blocks": market.block_number() - start_block,
                      "contract_balance_wei": market.balance_wei(),
                      "liabilities_wei": market.liabilities_wei()}
        task_reports.sort(key=lambda t: t.id)
        return RunReport(scenario=self._scenario.run.name, seed=self._scenario.run.seed, tasks=tuple(task_reports),
                         nodes=tuple(node_reports), studies=tuple(study_reports), chain=chain_info,
                         timings_s=dict(self._timings), actors=actors, interrupted=interrupted)

    def _task_report(self, market: TaskMarket, task: _PlannedTask, outcome: TaskOutcome,
                     behaviour_of: dict[Address, str], refunds: dict[int, int]) -> TaskReport:
        question = task.study.questions[task.question_index]
        reference_vectors, reference = task_reference(task.spec.program, question, task.plain_inputs)
        result = None
        matches = False
        if outcome.decrypted is not None:
            result = combine_results(task.spec.program, question, [outcome.decrypted])
            matches = _vectors_match(outcome.decrypted, reference_vectors)
        votes = []
        consensus = market.task(outcome.task_id).state is TaskState.COMPLETED
        for vote in market.votes(outcome.task_id):
            agreed = vote.revealed and "0x" + bytes(vote.result_hash).hex() == outcome.result_hash
            verdict = Verdict.of_vote(vote.committed, vote.revealed, agreed, consensus)
            votes.append(VoteReport(
                node=vote.node, behaviour=behaviour_of.get(vote.node, "?"), committed=vote.committed,
                revealed=vote.revealed, result_hash="0x" + bytes(vote.result_hash).hex() if vote.revealed else "",
                status=vote.status.name if vote.revealed else "", verdict=verdict))
        return TaskReport(
            id=outcome.task_id, label=outcome.label, program=outcome.program, status=outcome.state,
            exec_status=outcome.status.name if outcome.status is not None else "", result_hash=outcome.result_hash,
            verified=outcome.proof_verified and matches, proof_verified=outcome.proof_verified,
            assigned=tuple(v.node for v in votes), votes=tuple(votes), refund_wei=refunds.get(outcome.task_id, 0),
            result=result, reference=reference, latency_s=round(outcome.latency_s, 3), detail=outcome.detail,
            dissent=tuple(v.node for v in votes if v.verdict is Verdict.DISSENT))

    @staticmethod
    def _study_report(study: Study, q_index: int, program: str,
                      pairs: Sequence[tuple[_PlannedTask, TaskOutcome | None]]) -> StudyReport:
        question: Question = study.questions[q_index]
        plain = [value for task, _ in pairs for value in task.plain_inputs]
        _, reference = task_reference(program, question, tuple(plain))
        decrypted = [o.decrypted for _, o in pairs if o is not None and o.decrypted is not None]
        complete = len(decrypted) == len(pairs)
        result = combine_results(program, question, decrypted) if complete else None
        return StudyReport(study_id=study.study_id, question=question.text, program=program,
                           respondents=len(plain), result=result, reference=reference,
                           verified=complete and result == reference)


def _vectors_match(decrypted: Sequence[Sequence[float]], reference: Sequence[Sequence[float]]) -> bool:
    if len(decrypted) != len(reference):
        return False
    return all(len(d) >= len(r) and all(abs(a - b) <= 1e-6 for a, b in zip(d, r))
               for d, r in zip(decrypted, reference))


__all__ = ["MarketRun", "Progress"]
