"""A scenario run: start every role on Ray, run the studies through the market, and build the report."""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cipherquorum.chain import ChainEvent, TaskMarket, VoteView, derive_account
from cipherquorum.exceptions import (
    ChainError,
    ChainUnavailable,
    CipherQuorumError,
    NodeError,
    RoleDied,
    StorageUnavailable,
)
from cipherquorum.measurement.spans import PhaseSpan, ProcessUsage
from cipherquorum.nodes.chain_host import ChainHandle
from cipherquorum.nodes.client import ClientPoolHandle, TaskOutcome, TaskSpec
from cipherquorum.nodes.compute import ComputeNodeHandle, NodeStatus
from cipherquorum.nodes.driver.interrupts import sigint_recorded
from cipherquorum.nodes.driver.metrics import RunMetrics, TaskMetrics, rpc_delta
from cipherquorum.nodes.driver.proofs import task_timeline, third_party_checks
from cipherquorum.nodes.driver.results import combine_results, task_reference
from cipherquorum.nodes.driver.stack import MarketStack, answer_study, running_market
from cipherquorum.nodes.hosting import PendingCall, RoleHandle, SpanSource, wait_first
from cipherquorum.nodes.population import RespondentShardHandle, ShardAnswers
from cipherquorum.nodes.storage_host import RemoteBlobStore
from cipherquorum.nodes.workflows import WorkflowContext, drive_workflow
from cipherquorum.reports.run import (
    NodeReport,
    ProofCheck,
    RoleFault,
    RunReport,
    StudyReport,
    TaskReport,
    Verdict,
    VoteReport,
    WorkflowSection,
)
from cipherquorum.settings.scenario import Question, Scenario, Study
from cipherquorum.types import Address, ExecStatus, SlashReason, TaskEnd, TaskId, TaskState, TextEnum

CHAIN_SILENCE_S = 15.0
"""A chain whose process is alive (or an external one) that has not answered for this long has stopped."""


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


@dataclass(frozen=True)
class _ChainRecord:
    """What the chain says about the run's tasks at its end, read once for the report."""

    events: tuple[ChainEvent, ...]
    states: dict[TaskId, TaskState]
    votes: dict[TaskId, tuple[VoteView, ...]]
    info: dict[str, Any]


class _Phase(TextEnum):
    """What the run was doing, as the cause of a fault says it."""

    ANSWERS = "while the studies were answered"
    CREATE = "while the tasks were created"
    TASKS = "while the tasks ran"
    WORKFLOWS = "while the workflows ran"
    END = "as the run ended"


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

    ``on_progress`` is called about every ``progress_interval_s`` while tasks run, and ``on_stage(name,
    elapsed_s)`` as each start-up stage ends (the names of RunReport.timings_s). With ``check_proofs`` each
    completed task's proof is also checked as a third party would (``cipherquorum verify``), for the run page.
    Ctrl-C stops the run cleanly: the report then covers what finished and is marked interrupted. A role whose
    process dies for good (the client pool, the chain, a respondent shard while it answers, a storage that is not
    restarted) ends the run early: the report then names it as its ``fault`` and holds what was known by then, read from
    the chain while the chain is alive. A compute node that dies, or a storage that restarts, is ``survived``.
    """

    def __init__(self, scenario: Scenario, *, ray_address: str = "", data_dir: str | Path | None = None,
                 on_progress: Callable[[Progress], None] | None = None, progress_interval_s: float = 0.5,
                 on_stage: Callable[[str, float], None] | None = None, check_proofs: bool = False) -> None:
        self._scenario = scenario
        self._check_proofs = check_proofs
        self._proof_checks: dict[TaskId, tuple[ProofCheck, ...]] = {}
        self._address = ray_address or scenario.run.ray_address
        self._data_dir = Path(data_dir or scenario.run.data_dir or Path("cq-data") / scenario.run.name)
        self._on_progress = on_progress
        self._on_stage = on_stage
        self._progress_interval_s = progress_interval_s
        self._timings: dict[str, float] = {}
        self._t0 = 0.0
        self._tasks_block = 0
        self._tasks_s = 0.0
        self._chain: ChainHandle | None = None
        self._chain_rpc: dict = {}
        self._spans: list[PhaseSpan] = []
        self._metrics: RunMetrics | None = None
        self._phase: _Phase = _Phase.ANSWERS
        self._chain_alive = True
        self._chain_silent_since_s: float | None = None
        self._market_address = ""
        self._deploy_block = 0

    @property
    def metrics(self) -> RunMetrics | None:
        """What the last ``run()`` measured about itself (None before a run gets to its tasks)."""
        return self._metrics

    def run(self) -> RunReport:
        """Start, run and stop everything; raises NodeError if Ray or the chain cannot be started."""
        self._t0 = time.monotonic()
        with running_market(self._scenario, self._data_dir, ray_address=self._address,
                            clients=self._scenario.client_accounts, lap=self._lap) as stack:
            return self._run(stack)

    # --- the run, step by step ---------------------------------------------------------------------

    def _run(self, stack: MarketStack) -> RunReport:
        self._chain = stack.chain
        self._market_address, self._deploy_block = stack.market.address, stack.start_block
        market, nodes, clients = stack.market, list(stack.nodes), stack.clients
        planned: dict[int, list[_PlannedTask]] = {}
        outcomes: dict[int, list[TaskOutcome]] = {}
        interrupted = False
        fault: RoleFault | None = None
        sections: list[WorkflowSection] = []
        try:
            self._answer_studies(clients, stack.shards, planned)
            self._lap("answers")
            outcomes, interrupted, fault = self._run_tasks(clients, nodes, planned, stack)
        except (RoleDied, StorageUnavailable, ChainError) as exc:
            fault = self._fault_of(exc, stack)
        self._lap("tasks")
        if fault is None and not interrupted and self._scenario.workflows:
            try:
                interrupted = self._run_workflows(stack, sections)
            except (RoleDied, StorageUnavailable, ChainError) as exc:
                fault = self._fault_of(exc, stack)
            self._lap("workflows")
        if fault is not None:
            self._stop_clients(clients)
        statuses, survived = self._stop_nodes(nodes)
        fault, storage_survived = self._storage_fault(stack.store, fault)
        survived += storage_survived
        self._metrics = self._measure(market, outcomes, stack.roles, stack.span_sources)
        chain = self._read_chain(market, stack.start_block, planned, stack.store)
        if chain is None and fault is None:
            fault = RoleFault("chain", f"the chain stopped answering {_Phase.END}")
        report = self._report(chain, planned, outcomes, nodes, statuses, len(stack.roles), interrupted, fault,
                              tuple(survived))
        return replace(report, workflows=tuple(sections))

    def _fault_of(self, exc: RoleDied | StorageUnavailable | ChainError, stack: MarketStack) -> RoleFault:
        """The fault that ``exc``, raised while the run was in ``self._phase``, stands for; re-raises a chain
        error when the chain still answers (it is then not a dead role but a failed transaction)."""
        if isinstance(exc, RoleDied):
            if exc.role == "chain":
                self._chain_alive = False
            return RoleFault(exc.role, f"{exc.cause} {self._phase}")
        if isinstance(exc, StorageUnavailable):
            return RoleFault("storage", f"the storage did not answer {self._phase}: {exc}")
        fault = self._chain_fault(stack, silent_for_s=0 if isinstance(exc, ChainUnavailable) else math.inf)
        if fault is None:
            raise exc
        return fault

    def _run_workflows(self, stack: MarketStack, sections: list[WorkflowSection]) -> bool:
        """Drive each workflow section in file order on the running market, appending its report section to
        ``sections``; return whether Ctrl-C stopped them.

        A workflow that fails with the project's error (not a dead role, which ends the run) gets a section
        that is not ok and names the error; the next workflow still runs.
        """
        self._phase = _Phase.WORKFLOWS
        for settings, clients in zip(self._scenario.workflows, self._scenario.workflow_clients()):
            context = WorkflowContext(self._scenario, stack, self._data_dir / settings.section, clients,
                                      clustered=bool(self._address))
            try:
                with self._progress_while(stack, f"workflow {settings.section}"):
                    sections.append(drive_workflow(settings, context))
            except KeyboardInterrupt:
                return True
            except (RoleDied, StorageUnavailable, ChainError):
                raise
            except CipherQuorumError as exc:
                error = f"{type(exc).__name__}: {exc}"
                sections.append(WorkflowSection(settings.section, False, {"error": error},
                                                f"[{settings.section}] failed: {error}\n"))
        return False

    @contextmanager
    def _progress_while(self, stack: MarketStack, phase: str) -> Iterator[None]:
        """Report the chain's progress from the next block on, every progress interval, while the body runs (a
        workflow drives its own tasks, so progress is read from the chain in a thread of its own)."""
        if self._on_progress is None:
            yield
            return
        reader = TaskMarket(stack.rpc_url, stack.market.address)
        tally = _Tally(next_block=reader.block_number() + 1)
        done = threading.Event()

        def watch() -> None:
            while not done.wait(self._progress_interval_s):
                try:
                    self._report_progress(reader, tally, 0, phase)
                except CipherQuorumError:
                    pass  # the chain did not answer this time; the next look reads the same blocks

        watcher = threading.Thread(target=watch, name="workflow-progress", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join(timeout=5)

    def _answer_studies(self, clients: ClientPoolHandle, shards: Sequence[RespondentShardHandle],
                        planned: dict[int, list[_PlannedTask]]) -> None:
        """Each study's client publishes it; the population answers; the client's tasks go into ``planned``."""
        for index, study in enumerate(self._scenario.studies):
            programs = sorted({p for q in study.questions for p in q.programs})
            opened = clients.open_study(index, study, programs)
            limit = study.respondents or self._scenario.population.respondents
            answers = answer_study(shards, study, opened.key_bundle_ref, limit)
            self._spans.extend(span for shard_answers in answers for span in shard_answers.spans)
            planned[index] = self._plan_tasks(study, answers)

    def _plan_tasks(self, study: Study, answers: Sequence[ShardAnswers]) -> list[_PlannedTask]:
        tasks = []
        for q_index, question in enumerate(study.questions):
            refs = [ref for shard in answers for ref in shard.refs[q_index]]
            plain = [value for shard in answers for value in shard.plain[q_index]]
            size = study.inputs_per_task or len(refs)
            chunks = max(1, math.ceil(len(refs) / size))
            for program in question.programs:
                params = question.program_params(program)
                for chunk in range(chunks):
                    part = slice(chunk * size, (chunk + 1) * size)
                    label = f"{study.study_id}/q{q_index}" + (f"#{chunk + 1}" if chunks > 1 else "")
                    vectors, _ = task_reference(program, question, plain[part])
                    spec = TaskSpec(label=label, program=program, input_refs=tuple(refs[part]), params=params,
                                    result_slots=max(len(v) for v in vectors))
                    tasks.append(_PlannedTask(study, q_index, spec, tuple(plain[part])))
        return tasks

    def _run_tasks(self, clients: ClientPoolHandle, nodes: Sequence[ComputeNodeHandle],
                   planned: dict[int, list[_PlannedTask]],
                   stack: MarketStack) -> tuple[dict[int, list[TaskOutcome]], bool, RoleFault | None]:
        """Create every task, then let the nodes work, and wait for the clients to settle them.

        Each planned task gets the id its createTask returned. Returns each client's outcomes, whether the
        run was interrupted, and the fault that ended it early (the client pool or the chain died), if one did.
        Raises RoleDied for a role that died while the tasks were created.

        The nodes start before the first creation but send nothing until the last: they fetch and compute
        meanwhile, and the matching stays a function of the seed alone, since no task finalizes (freeing
        capacity or slashing stake) between two creations.
        """
        market = stack.market
        market_cfg = self._scenario.market
        total = sum(len(tasks) for tasks in planned.values())
        capacity = sum(g.count * g.capacity for g in self._scenario.nodes)
        waves = 1 + math.ceil(total * market_cfg.replication / max(1, capacity))
        timeout_s = waves * (market_cfg.commit_window_s + market_cfg.reveal_window_s) + 120
        self._phase = _Phase.CREATE
        self._tasks_block = market.block_number()
        _all_answered([node.submit_start(send=False) for node in nodes])
        self._chain_rpc = self._chain.rpc_stats() if self._chain is not None else {}
        started_s = time.monotonic()
        created = clients.create_in_turn([(index, [t.spec for t in tasks]) for index, tasks in planned.items()])
        for tasks, ids in zip(planned.values(), created):
            for task, task_id in zip(tasks, ids):
                task.task_id = task_id
        self._phase = _Phase.TASKS
        _all_answered([node.submit_release() for node in nodes])  # all at once: the tasks wait for them
        calls = {index: clients.submit_await_tasks(index, timeout_s) for index in planned}
        tally = _Tally(next_block=stack.start_block)
        interrupted = False
        fault: RoleFault | None = None
        with sigint_recorded() as ctrl_c:
            try:
                while (fault is None and not ctrl_c.is_set()
                       and len(wait_first(list(calls.values()), self._progress_interval_s)) < len(calls)):
                    fault = self._watch_progress(stack, tally, total)
            except KeyboardInterrupt:
                interrupted = True
            interrupted = interrupted or ctrl_c.is_set()
        if interrupted or fault is not None:
            self._stop_clients(clients)
        outcomes = {}
        for index, call in calls.items():
            try:
                outcomes[index] = call.result(timeout_s=30)
            except KeyboardInterrupt:
                outcomes[index] = []
                interrupted = True
            except RoleDied as exc:
                outcomes[index] = []
                fault = fault or self._fault_of(exc, stack)
            except NodeError as exc:  # the pool did not answer in time, or failed inside
                outcomes[index] = []
                fault = fault or RoleFault("clients", f"the client pool failed {self._phase}: {exc}")
        self._tasks_s = time.monotonic() - started_s  # the e2e time: the bookkeeping below is not part of it
        if self._chain is not None and self._chain_alive:
            try:
                self._chain_rpc = rpc_delta(self._chain_rpc, self._chain.rpc_stats())
            except NodeError:
                self._chain_rpc = {}
        if fault is None:
            fault = self._watch_progress(stack, tally, total)
        return outcomes, interrupted, fault

    @staticmethod
    def _stop_clients(clients: ClientPoolHandle) -> None:
        """Make the clients' task loops return what has finished (a dead pool has nothing to stop)."""
        try:
            clients.stop()
        except NodeError:
            pass

    def _watch_progress(self, stack: MarketStack, tally: _Tally, planned: int) -> RoleFault | None:
        """Report progress; return the chain's fault if it died or stopped answering, None otherwise."""
        if not self._chain_alive:
            return None
        try:
            self._report_progress(stack.market, tally, planned)
        except ChainError:
            return self._chain_fault(stack, silent_for_s=CHAIN_SILENCE_S)
        self._chain_silent_since_s = None
        return None

    def _chain_fault(self, stack: MarketStack, *, silent_for_s: float) -> RoleFault | None:
        """After the chain did not answer: its fault if its process died, or if it has been silent for
        ``silent_for_s``; None while it may still come back."""
        now_s = time.monotonic()
        if stack.chain is not None:
            try:
                stack.chain.usage()
            except RoleDied as exc:
                self._chain_alive = False
                return RoleFault(exc.role, f"{exc.cause} {self._phase}")
            except NodeError:
                pass
        if self._chain_silent_since_s is None:
            self._chain_silent_since_s = now_s
        if now_s - self._chain_silent_since_s < silent_for_s:
            return None
        self._chain_alive = False
        return RoleFault("chain", f"the chain at {stack.rpc_url} stopped answering {self._phase}")

    def _report_progress(self, market: TaskMarket, tally: _Tally, planned: int, phase: str = "tasks") -> None:
        latest = market.block_number()
        if latest >= tally.next_block:
            tally.add(market.events(tally.next_block, latest))
            tally.next_block = latest + 1
        if self._on_progress is not None:
            c = tally.counts
            self._on_progress(Progress(
                elapsed_s=time.monotonic() - self._t0, phase=phase, planned=planned,
                created=c.get("TaskCreated", 0), committed=c.get("Committed", 0), revealed=c.get("Revealed", 0),
                finalized=c.get("TaskCompleted", 0) + c.get("TaskFailed", 0), no_consensus=c.get("TaskFailed", 0)))

    @staticmethod
    def _stop_nodes(nodes: Sequence[ComputeNodeHandle]) -> tuple[list[NodeStatus | None], list[RoleFault]]:
        """Each node's final status (None for one whose process died), and the deaths the run survived."""
        statuses: list[NodeStatus | None] = []
        survived: list[RoleFault] = []
        for node in nodes:
            try:
                statuses.append(node.stop())
            except RoleDied as exc:
                statuses.append(None)
                survived.append(RoleFault(exc.role, f"{exc.cause}; the market slashes it and the run went on"))
            except NodeError:
                statuses.append(None)  # its process did not answer
        return statuses, survived

    def _storage_fault(self, store: RemoteBlobStore,
                       fault: RoleFault | None) -> tuple[RoleFault | None, list[RoleFault]]:
        """The run's fault, and the storage's restart if it survived one: a storage that is dead for good is the
        run's fault when it has none yet."""
        try:
            restarted = store.restarted()
        except RoleDied as exc:
            dead = RoleFault(exc.role, f"{exc.cause} and was not restarted {_Phase.END}")
            return fault or dead, []
        except NodeError:
            return fault, []
        if not restarted:
            return fault, []
        return fault, [RoleFault("storage", "the storage's process died and restarted on its data directory; "
                                            "every caller retried, and the run went on")]

    def _measure(self, market: TaskMarket, outcomes: dict[int, list[TaskOutcome]], roles: Sequence[RoleHandle],
                 span_sources: Sequence[SpanSource]) -> RunMetrics:
        """Collect what the run measured: tasks, transactions, the roles' spans and each process's usage."""
        tasks = tuple(TaskMetrics(o.task_id, index, o.manifest_ref, o.state, o.latency_s)
                      for index, client_outcomes in outcomes.items() for o in client_outcomes)
        try:
            transactions = tuple(market.transactions(self._tasks_block + 1, market.block_number())
                                 if self._chain_alive and self._tasks_block else ())
        except ChainError:
            transactions = ()
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
        if self._on_stage is not None:
            self._on_stage(name, now)

    # --- the report ------------------------------------------------------------------------------

    def _read_chain(self, market: TaskMarket, start_block: int, planned: dict[int, list[_PlannedTask]],
                    store: RemoteBlobStore) -> _ChainRecord | None:
        """Read the run's events, and each created task's state and votes (and, with ``check_proofs``, each
        completed task's proof as a third party checks it); None when the chain is gone.

        A task whose createTask was mined but whose client died before it returned gets its id here: a
        client's TaskCreated events come in the order of its planned tasks.
        """
        if not self._chain_alive:
            return None
        try:
            events = tuple(market.events(start_block, market.block_number()))
            for index, tasks in planned.items():
                client = derive_account(self._scenario.run.seed, "client", index).address
                created = [e for e in events if e.name == "TaskCreated" and e.args["client"] == client]
                for task, event in zip(tasks, created):
                    task.task_id = task.task_id or TaskId(event.args["taskId"])
            ids = [task.task_id for tasks in planned.values() for task in tasks if task.task_id is not None]
            info = {"market_address": market.address, "deploy_block": start_block,
                    "blocks": market.block_number() - start_block, "contract_balance_wei": market.balance_wei(),
                    "liabilities_wei": market.liabilities_wei()}
            states = {i: market.task(i).state for i in ids}
            if self._check_proofs:
                completed = [i for i in ids if states[i] is TaskState.COMPLETED]
                self._proof_checks = third_party_checks(market, store, completed, start_block)
            return _ChainRecord(events, states, {i: market.votes(i) for i in ids}, info)
        except ChainError:
            self._chain_alive = False
            return None

    def _report(self, chain: _ChainRecord | None, planned: dict[int, list[_PlannedTask]],
                outcomes: dict[int, list[TaskOutcome]], nodes: Sequence[ComputeNodeHandle],
                statuses: Sequence[NodeStatus | None], actors: int, interrupted: bool, fault: RoleFault | None,
                survived: tuple[RoleFault, ...]) -> RunReport:
        """The report of every created task, node and study question; without the chain (``chain`` None) the
        tasks are what the clients saw, and nobody's rewards or slashes are known."""
        events = chain.events if chain is not None else ()
        behaviour_of: dict[Address, str] = {}
        for node in nodes:
            behaviour_of[Address(derive_account(self._scenario.run.seed, "node", node.config.index).address)] = \
                node.config.behaviour
        rewards: dict[str, int] = {}
        slashes: dict[str, int] = {}
        reasons: dict[str, list[str]] = {}
        refunds: dict[int, int] = {}
        settled: dict[int, ChainEvent] = {}
        matched: dict[str, int] = {}
        for event in events:
            args = event.args
            if event.name == "Rewarded":
                rewards[args["node"]] = rewards.get(args["node"], 0) + args["amountWei"]
            elif event.name == "Slashed":
                slashes[args["node"]] = slashes.get(args["node"], 0) + args["amountWei"]
                reasons.setdefault(args["node"], []).append(SlashReason(args["reason"]).name.lower())
            elif event.name == "TaskFailed":
                refunds[args["taskId"]] = args["refundWei"]
            if event.name in ("TaskCompleted", "TaskFailed"):
                settled[args["taskId"]] = event
            elif event.name == "TaskMatched":  # every task of the run, the workflows' too
                for assigned in args["nodes"]:
                    matched[assigned] = matched.get(assigned, 0) + 1

        task_reports: list[TaskReport] = []
        study_reports: list[StudyReport] = []
        assigned_count: dict[str, int] = {}
        outcome_of = {o.task_id: o for client_outcomes in outcomes.values() for o in client_outcomes}
        for index, tasks in planned.items():
            per_question: dict[tuple[int, str], list[tuple[_PlannedTask, TaskOutcome | None]]] = {}
            for task in tasks:
                outcome = outcome_of.get(task.task_id) if task.task_id is not None else None
                per_question.setdefault((task.question_index, task.spec.program), []).append((task, outcome))
                if task.task_id is None:
                    continue
                if outcome is None:  # its client died before it saw the task settle
                    outcome = self._outcome_on_chain(task, task.task_id, chain, settled.get(task.task_id), fault)
                report = self._task_report(task, outcome, chain, behaviour_of, refunds)
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
                assigned=matched.get(address, assigned_count.get(address, 0)), rewarded_wei=rewards.get(address, 0),
                slashed_wei=slashes.get(address, 0), slash_reasons=tuple(reasons.get(address, [])),
                alive=status is not None, notes=status.notes if status else ("its process died",)))
        chain_info = chain.info if chain is not None else {
            "market_address": self._market_address, "deploy_block": self._deploy_block}
        task_reports.sort(key=lambda t: t.id)
        return RunReport(scenario=self._scenario.run.name, seed=self._scenario.run.seed, tasks=tuple(task_reports),
                         nodes=tuple(node_reports), studies=tuple(study_reports), chain=chain_info,
                         timings_s=dict(self._timings), actors=actors, interrupted=interrupted, fault=fault,
                         survived=survived)

    @staticmethod
    def _outcome_on_chain(task: _PlannedTask, task_id: TaskId, chain: _ChainRecord | None,
                          settled: ChainEvent | None, fault: RoleFault | None) -> TaskOutcome:
        """A task's outcome as the chain alone tells it: how it ended and the agreed hash, nothing verified."""
        state = chain.states.get(task_id, TaskState.ACTIVE) if chain is not None else TaskState.ACTIVE
        status, result_hash = None, ""
        if settled is not None and settled.name == "TaskCompleted":
            status, result_hash = ExecStatus(settled.args["status"]), "0x" + bytes(settled.args["resultHash"]).hex()
        why = fault.cause if fault is not None else "the run ended"
        detail = f"no client outcome ({why}): " + ("read from the chain" if chain is not None else "the chain is gone")
        return TaskOutcome(task_id, task.spec.label, task.spec.program, TaskEnd.of_state(state), status, result_hash,
                           False, detail, None, 0.0)

    def _task_report(self, task: _PlannedTask, outcome: TaskOutcome, chain: _ChainRecord | None,
                     behaviour_of: dict[Address, str], refunds: dict[int, int]) -> TaskReport:
        question = task.study.questions[task.question_index]
        reference_vectors, reference = task_reference(task.spec.program, question, task.plain_inputs)
        result = None
        matches = False
        if outcome.decrypted is not None:
            result = combine_results(task.spec.program, question, [outcome.decrypted])
            matches = _vectors_match(outcome.decrypted, reference_vectors)
        votes = []
        consensus = (chain.states.get(outcome.task_id) if chain is not None else None) is TaskState.COMPLETED
        for vote in chain.votes.get(outcome.task_id, ()) if chain is not None else ():
            agreed = vote.revealed and "0x" + bytes(vote.result_hash).hex() == outcome.result_hash
            verdict = Verdict.of_vote(vote.committed, vote.revealed, agreed, consensus)
            votes.append(VoteReport(
                node=vote.node, behaviour=behaviour_of.get(vote.node, "?"), committed=vote.committed,
                revealed=vote.revealed, result_hash="0x" + bytes(vote.result_hash).hex() if vote.revealed else "",
                status=vote.status.name if vote.revealed else "", verdict=verdict))
        events = chain.events if chain is not None else ()
        return TaskReport(
            id=outcome.task_id, label=outcome.label, program=outcome.program, status=outcome.state,
            exec_status=outcome.status.name if outcome.status is not None else "", result_hash=outcome.result_hash,
            verified=outcome.proof_verified and matches, proof_verified=outcome.proof_verified,
            assigned=tuple(v.node for v in votes), votes=tuple(votes), refund_wei=refunds.get(outcome.task_id, 0),
            result=result, reference=reference, latency_s=round(outcome.latency_s, 3), detail=outcome.detail,
            dissent=tuple(v.node for v in votes if v.verdict is Verdict.DISSENT),
            timeline=task_timeline(outcome.task_id, events), third_party=self._proof_checks.get(outcome.task_id, ()))

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


def _all_answered(calls: Sequence[PendingCall[None]]) -> None:
    """Wait for every node's answer; a compute node that died is slashed by the market, and the run goes on."""
    for call in calls:
        try:
            call.result()
        except RoleDied:
            pass


def _vectors_match(decrypted: Sequence[Sequence[float]], reference: Sequence[Sequence[float]]) -> bool:
    if len(decrypted) != len(reference):
        return False
    return all(len(d) >= len(r) and all(abs(a - b) <= 1e-6 for a, b in zip(d, r))
               for d, r in zip(decrypted, reference))


__all__ = ["MarketRun", "Progress"]
