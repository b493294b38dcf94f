"""``cipherquorum load``: drive many tasks through a running market at a set concurrency or arrival rate."""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from cipherquorum.exceptions import CipherQuorumError, NodeError
from cipherquorum.measurement.spans import PhaseSpan, ProcessUsage
from cipherquorum.measurement.stats import percentile
from cipherquorum.nodes.client import TaskOutcome, TaskSpec
from cipherquorum.nodes.driver.interrupts import sigint_recorded
from cipherquorum.nodes.driver.metrics import rpc_delta
from cipherquorum.nodes.driver.replay import ReplayTask, ReplicaVote, replay_chain
from cipherquorum.nodes.driver.results import combine_results, task_reference
from cipherquorum.nodes.driver.stack import MarketStack, answer_study, data_folder, running_market
from cipherquorum.nodes.hosting import PendingCall
from cipherquorum.reports.load import ChainCeiling, ChainTx, LoadMeasurements, LoadTask, LoadTaskState
from cipherquorum.settings.load import LoadConfig
from cipherquorum.settings.scenario import Question, Scenario, Study
from cipherquorum.types import ExecStatus, TaskEnd, TaskId

TICK_S = 0.02
"""How often the driver looks at its clients, releases tasks and collects outcomes."""
OUTCOME_POLL_S = 0.1
"""How often the driver asks the client pool for the outcomes that arrived."""
CREATE_BATCH = 8
"""Most tasks one client is handed in a single create call."""
CREATE_LINGER_S = 0.1
"""How long a released task may wait for others to join it in one create call (one createTasks transaction)."""


@dataclass(frozen=True)
class LiveStats:
    """What a load test shows while it runs."""

    elapsed_s: float
    released: int
    planned: int
    completed: int
    failed: int
    in_flight: int
    throughput_per_s: float
    p50_s: float
    p95_s: float
    p99_s: float


@dataclass
class _Planned:
    """One task of the test as the driver tracks it (mutable, private to the driver)."""

    index: int
    client: int
    spec: TaskSpec
    reference: object
    released_s: float = 0.0
    task_id: int = 0
    done_s: float = 0.0
    state: LoadTaskState = LoadTaskState.PLANNED
    failure: str = ""


class LoadRun:
    """Runs one load test on Ray and returns its measurements (``LoadMeasurements``).

    The market is the scenario's (chain, nodes, storage, population); ``config.clients`` clients each open a
    copy of the scenario's first study, the population answers every copy, and the tasks aggregate slices of
    those answers. ``on_live`` is called every ``config.live_interval_s`` with LiveStats. Ctrl-C stops the
    test; the measurements then cover what finished and are marked interrupted.
    """

    def __init__(self, scenario: Scenario, config: LoadConfig, *, ray_address: str = "",
                 data_dir: str | Path | None = None, on_live: Callable[[LiveStats], None] | None = None) -> None:
        self._scenario = scenario
        self._config = config
        self._address = ray_address or scenario.run.ray_address
        self._data_dir = data_dir or None  # None: a temporary folder, removed after the run
        self._on_live = on_live
        self._timings: dict[str, float] = {}
        self._t0 = 0.0
        self._spans: list[PhaseSpan] = []
        self._span_cursors: dict[int, int] = {}  # per span source, the spans read so far
        self._usage: list[ProcessUsage] = []
        self._question: Question | None = None

    def run(self) -> LoadMeasurements:
        """Start the market, run the test, stop everything; raises NodeError if Ray cannot start."""
        self._t0 = time.monotonic()
        with data_folder(self._data_dir, "cq-load-") as folder, running_market(
                self._scenario, folder, ray_address=self._address, clients=self._config.clients,
                lap=self._lap) as stack:
            measured = self._run(stack)
        if self._config.replay and not measured.interrupted:
            measured = replace(measured, chain_ceiling=self._ceiling(measured.tasks, measured.program))
        return measured

    # --- preparing ---------------------------------------------------------------------------------

    def _run(self, stack: MarketStack) -> LoadMeasurements:
        study = self._scenario.studies[0]
        question = study.questions[0]
        program = question.programs[0]
        planned = self._plan(stack, study, question, program)
        self._lap("answers")
        for started in [node.submit_start() for node in stack.nodes]:
            started.result()
        first_block = stack.market.block_number() + 1
        rpc_before = stack.chain.rpc_stats() if stack.chain is not None else {}
        started_s, interrupted = time.time(), False
        with sigint_recorded() as ctrl_c:
            try:
                self._drive(stack, planned, started_s, ctrl_c)
            except KeyboardInterrupt:
                interrupted = True
            interrupted = interrupted or ctrl_c.is_set()
        ended_s = time.time()
        rpc = rpc_delta(rpc_before, stack.chain.rpc_stats()) if stack.chain is not None else {}
        for node in stack.nodes:
            try:
                node.stop()
            except NodeError:
                pass
        self._collect(stack)
        transactions = tuple(ChainTx(tx.block_number, tx.function, tx.gas_used, tx.succeeded)
                             for tx in stack.market.transactions(first_block, stack.market.block_number()))
        tasks = tuple(LoadTask(p.index, p.task_id, p.client, p.released_s, p.done_s, p.state,
                               p.failure or ("" if p.done_s else "unfinished")) for p in planned)
        return LoadMeasurements(
            scenario=self._scenario.run.name, program=program, config=self._config, started_s=started_s,
            ended_s=ended_s, tasks=tasks, spans=tuple(self._spans), usage=tuple(self._usage),
            transactions=transactions, chain_rpc={m: (s.calls, s.busy_s) for m, s in rpc.items()},
            startup_s=dict(self._timings), interrupted=interrupted)

    def _ceiling(self, tasks: Sequence[LoadTask], program: str) -> ChainCeiling:
        """Replay the test's tasks, every replica honest, on a fresh chain of the run's kind (see replay), once
        the market has stopped, so nothing else asks for the CPU."""
        kind = self._scenario.chain.kind.value
        honest = (ReplicaVote(True, True, 0),) * self._scenario.market.replication
        try:
            cost = replay_chain(self._scenario, [ReplayTask(task.client, program, honest) for task in tasks],
                                timeout_s=self._config.timeout_s)
        except CipherQuorumError as exc:
            return ChainCeiling(kind, error=str(exc))
        return ChainCeiling(kind, cost.tasks, cost.transactions, cost.chain_s)

    def _plan(self, stack: MarketStack, study: Study, question: Question, program: str) -> list[_Planned]:
        """Open one copy of the study per client, have the population answer each, and plan the tasks."""
        config = self._config
        answers: list[tuple[list, list]] = []
        for client in range(config.clients):
            copy = replace(study, study_id=f"{study.study_id}-c{client}")
            opened = stack.clients.open_study(client, copy, [program])
            limit = study.respondents or self._scenario.population.respondents
            results = answer_study(stack.shards, copy, opened.key_bundle_ref, limit)
            self._spans.extend(span for result in results for span in result.spans)
            answers.append(([ref for r in results for ref in r.refs[0]], [v for r in results for v in r.plain[0]]))
        params = question.program_params(program)
        planned = []
        for index in range(config.tasks):
            client = index % config.clients
            refs, plain = answers[client]
            first = (index // config.clients) * config.inputs_per_task
            picks = [(first + k) % len(refs) for k in range(config.inputs_per_task)]
            inputs = [plain[k] for k in picks]
            vectors, reference = task_reference(program, question, inputs)
            spec = TaskSpec(label=f"load-{index}", program=program, input_refs=tuple(refs[k] for k in picks),
                            params=params, result_slots=max(len(v) for v in vectors))
            planned.append(_Planned(index, client, spec, reference))
        self._question = question
        return planned

    # --- driving -----------------------------------------------------------------------------------

    def _drive(self, stack: MarketStack, planned: Sequence[_Planned], started_s: float,
               ctrl_c: threading.Event) -> None:
        config = self._config
        queues: dict[int, list[_Planned]] = {c: [] for c in range(config.clients)}
        creating: dict[int, tuple[PendingCall[list[TaskId]], list[_Planned]]] = {}
        by_id: dict[int, _Planned] = {}
        released = finished = 0
        cursor = 0
        next_outcomes = next_live = next_sample = 0.0
        deadline_s = started_s + config.timeout_s
        while finished < len(planned) and time.time() < deadline_s and not ctrl_c.is_set():
            now_s = time.time()
            elapsed_s = now_s - started_s
            due = (config.arrivals_by(elapsed_s) if config.open_model
                   else min(len(planned), finished + config.allowed_in_flight(elapsed_s)))
            while released < due:
                task = planned[released]
                task.released_s, task.state = now_s, LoadTaskState.RELEASED
                queues[task.client].append(task)
                released += 1
            for client, queue in queues.items():
                lingered = bool(queue) and now_s - queue[0].released_s >= CREATE_LINGER_S
                if queue and client not in creating and (len(queue) >= CREATE_BATCH or lingered):
                    batch, queue[:] = queue[:CREATE_BATCH], queue[CREATE_BATCH:]
                    creating[client] = (stack.clients.submit_create_tasks(client, [t.spec for t in batch]), batch)
            for client, (call, batch) in list(creating.items()):
                if call.done():
                    del creating[client]
                    finished += self._created(call, batch, by_id)
            if now_s >= next_outcomes:
                outcomes, cursor = stack.clients.finished(cursor)
                finished += sum(self._finished(outcome, by_id) for outcome in outcomes)
                next_outcomes = now_s + OUTCOME_POLL_S
            if now_s >= next_sample:
                self._sample(stack)
                self._collect(stack)
                next_sample = now_s + config.sample_interval_s
            if now_s >= next_live:
                self._live(planned, released, elapsed_s)
                next_live = now_s + config.live_interval_s
            time.sleep(TICK_S)
        self._sample(stack)
        self._live(planned, released, time.time() - started_s)

    def _created(self, call: PendingCall[list[TaskId]], batch: list[_Planned], by_id: dict[int, _Planned]) -> int:
        """Record the ids of a finished create call; return how many tasks it failed to create."""
        try:
            ids = call.result()
        except CipherQuorumError as exc:
            for task in batch:
                task.state, task.done_s = LoadTaskState.CREATE_FAILED, time.time()
                task.failure = f"create: {type(exc).__name__}"
            return len(batch)
        for task, task_id in zip(batch, ids):
            task.task_id, task.state = task_id, LoadTaskState.CREATED
            by_id[task_id] = task
        return 0

    def _finished(self, outcome: TaskOutcome, by_id: dict[int, _Planned]) -> int:
        task = by_id.get(outcome.task_id)
        if task is None or task.done_s:
            return 0
        task.done_s, task.state = time.time(), LoadTaskState(outcome.state.value)
        if outcome.state is not TaskEnd.COMPLETED:
            task.failure = outcome.state.value
        elif not outcome.proof_verified:
            task.failure = "proof check failed"
        elif outcome.status is not ExecStatus.SUCCESS:
            task.failure = f"status {outcome.status.name if outcome.status is not None else '?'}"
        elif self._question is None or combine_results(task.spec.program, self._question,
                                                         [outcome.decrypted or ()]) != task.reference:
            task.failure = "wrong result"
        return 1

    def _live(self, planned: Sequence[_Planned], released: int, elapsed_s: float) -> None:
        if self._on_live is None:
            return
        ok = [t for t in planned if t.done_s and not t.failure]
        failed = sum(1 for t in planned if t.failure)
        window_s = max(self._config.live_interval_s * 5, 1.0)
        recent = sum(1 for t in ok if t.done_s >= time.time() - window_s)
        latencies = [t.done_s - t.released_s for t in ok]

        def pct(q: float) -> float:
            return percentile(latencies, q) if latencies else math.nan

        self._on_live(LiveStats(elapsed_s=elapsed_s, released=released, planned=len(planned), completed=len(ok),
                                failed=failed, in_flight=released - len(ok) - failed,
                                throughput_per_s=recent / min(window_s, max(elapsed_s, 1e-9)),
                                p50_s=pct(50), p95_s=pct(95), p99_s=pct(99)))

    # --- measuring ---------------------------------------------------------------------------------

    def _sample(self, stack: MarketStack) -> None:
        for role in stack.roles:
            try:
                self._usage.append(role.usage())
            except NodeError:
                pass  # a role that died has no usage to report

    def _collect(self, stack: MarketStack) -> None:
        """Read each role's new spans; a role drops what was read, so its memory stays flat through a long test."""
        for index, source in enumerate(stack.span_sources):
            try:
                spans, self._span_cursors[index] = source.spans(self._span_cursors.get(index, 0))
            except NodeError:
                continue
            self._spans.extend(spans)

    def _lap(self, name: str) -> None:
        now = time.monotonic() - self._t0
        self._timings[name] = now - sum(self._timings.values())


__all__ = ["LiveStats", "LoadRun"]
