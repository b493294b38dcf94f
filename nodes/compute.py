"""The compute-node role: watch the chain for assignments, run the FHE program, commit, then reveal."""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from cipherquorum.chain import ChainEvent, Queued, TaskMarket, TxReceipt, derive_account
from cipherquorum.chain.errors import RevealNotOpen
from cipherquorum.chain.heads import HeadWatcher
from cipherquorum.exceptions import (
    ChainError,
    ChainUnavailable,
    CipherQuorumError,
    ContractError,
    StorageError,
    StorageUnavailable,
    ValidationError,
)
from cipherquorum.fhe import Evaluator, ExecutionOutcome, KeyBundle, execute, program_id
from cipherquorum.measurement.spans import Phase, PhaseSpan, ProcessUsage, SpanRecorder, process_usage
from cipherquorum.nodes.behaviours import Behaviour, behaviour_of, tamper_outcome
from cipherquorum.nodes.hosting import ActorHost, PendingCall, Placement
from cipherquorum.nodes.storage_host import STORAGE_RETRY, StorageRetry
from cipherquorum.protocol import effective_time_limit_s, needs_chain_limit, overran, status_for_error
from cipherquorum.storage import BlobStore
from cipherquorum.types import (
    Address,
    BlobId,
    ExecStatus,
    Hash32,
    TaskId,
    TaskStage,
    blob_id_to_bytes32,
    bytes32_to_blob_id,
)
from cipherquorum.wire import TaskManifest, TaskResult, decode, encode

log = logging.getLogger(__name__)

DEADLINE_MARGIN_S = 5
"""Within this many seconds of a deadline a node reads the chain's time rather than trusting its own clock."""
COMPUTE_ROOM_S = 5
"""Time a node keeps before the commit deadline to run the program and commit: it waits for a restarting
storage until then, and commits INPUT_UNAVAILABLE if the inputs are not back by then."""
REVEAL_ROOM_S = 2
"""Time a node keeps before the reveal deadline to send its reveal after uploading its result."""
MAX_NOTES = 200
"""Notes a node keeps for its status and the report; later ones go to its log only (memory stays flat)."""
GATHER_S = 0.1
"""How long a lone ready commit or reveal waits for others to share its transaction."""


@dataclass(frozen=True)
class ComputeNodeConfig:
    """Everything a compute node needs to start: identity, chain, behaviour and its market offer."""

    index: int
    behaviour: str
    seed: str
    rpc_url: str
    market_address: str
    stake_wei: int
    capacity: int
    price_wei: int
    start_block: int = 0
    poll_interval_s: float = 0.1
    restake: bool = False
    """Top the stake back up by what each slash took, at once (as the sweep's trials assume)."""


@dataclass(frozen=True)
class NodeStatus:
    """What a compute node has done so far, for progress and the report."""

    index: int
    address: Address
    behaviour: str
    assigned: int
    committed: int
    revealed: int
    notes: tuple[str, ...]


@dataclass
class _Work:
    """One assigned task's progress inside a node (mutable, private to the node's loop)."""

    task_id: TaskId
    replication: int
    commit_deadline: int
    reveal_deadline: int
    stage: TaskStage = TaskStage.ASSIGNED
    outcome: ExecutionOutcome | None = None
    program: str = ""
    salt: bytes = b""
    result_ref: bytes = b""
    ready_s: float = 0.0  # monotonic time its next transaction's item became ready (0: not waiting)
    peer_seals: list[bytes] = field(default_factory=list)
    peer_reveals: list[tuple[Hash32, ExecStatus, Hash32]] = field(default_factory=list)
    all_committed: bool = False
    max_replication: int | None = None  # an adaptive task's, which its last reveal may extend it to


T = TypeVar("T")
RevealArgs = tuple[TaskId, Hash32, ExecStatus, bytes, bytes]
"""What a node reveals for a task: task id, result hash, status, salt and result reference."""


def _gathered(ready: list[tuple[_Work, T]]) -> list[tuple[_Work, T]]:
    """The ready items to send now: all of them once there are two, or once one has waited GATHER_S for company
    (so a node whose tasks arrive one by one still sends one transaction for several)."""
    now_s = time.monotonic()
    for work, _ in ready:
        if work.ready_s == 0.0:
            work.ready_s = now_s
    if len(ready) >= 2 or any(now_s - work.ready_s >= GATHER_S for work, _ in ready):
        for work, _ in ready:
            work.ready_s = 0.0  # the next stage waits afresh
        return ready
    return []


class ComputeNode:
    """A staked compute node. ``start()`` registers it and starts its loop in a background thread."""

    def __init__(self, config: ComputeNodeConfig, store: BlobStore, retry: StorageRetry = STORAGE_RETRY) -> None:
        self._config = config
        self._behaviour: Behaviour = behaviour_of(config.behaviour)
        self._store = store
        self._retry = retry
        account = derive_account(config.seed, "node", config.index)
        self._market = TaskMarket(config.rpc_url, Address(config.market_address), account)
        self._address = Address(account.address)
        self._evaluators: dict[BlobId, Evaluator] = {}
        self._work: dict[TaskId, _Work] = {}
        self._notes: list[str] = []
        self._counts = {TaskStage.ASSIGNED: 0, TaskStage.COMMITTED: 0, TaskStage.REVEALED: 0}
        self._next_block = config.start_block
        self._spans = SpanRecorder(f"node-{config.index}")
        self._prefetch = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"node-{config.index}-fetch")
        self._computing: dict[TaskId, Future] = {}
        self._created: dict[TaskId, tuple[bytes, bytes]] = {}  # manifest ref and program id, from TaskCreated
        self._queued: dict[TaskId, int] = {}  # the queued tasks (TaskQueued, not yet TaskMatched) by replication
        self._replications: dict[TaskId, int] = {}  # of created tasks not yet matched, from TaskCreated
        self._widest = 1  # the largest replication of any task seen
        self._adaptive: dict[TaskId, int] = {}  # max replication of adaptive tasks not yet matched (TaskAdaptive)
        self._slashed_wei = 0  # what slashes took and a restaking node has not added back yet
        self._stop = threading.Event()
        self._sending = threading.Event()  # clear: the node watches and computes ahead, but sends nothing
        self._sending.set()
        self._nudge = threading.Event()  # set: the loop steps at once rather than after its poll interval
        self._heads = HeadWatcher.shared(config.rpc_url)  # sets the nudge at every new block
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> Address:
        return self._address

    # --- lifecycle -----------------------------------------------------------------------------

    def register(self) -> Address:
        """Register on the TaskMarket with the configured stake, capacity and price; return the address."""
        config = self._config
        if not self._market.node(self._address).registered:
            self._market.register(config.capacity, config.price_wei, config.stake_wei)
        return self._address

    def start(self, send: bool = True) -> None:
        """Start watching the chain for assignments (from ``start_block`` on) in a background thread.

        With ``send`` false the node fetches and computes its assignments but sends no transaction until
        ``release``: a run creates its tasks meanwhile, with the nodes' work under way and the matching still
        a function of the seed alone (no task can finalize between two creations).
        """
        if send:
            self._sending.set()
        else:
            self._sending.clear()
        if self._thread is None:
            self._store.prepare_reads()
            self._heads.subscribe(self._nudge)
            self._thread = threading.Thread(target=self._loop, name=f"node-{self._config.index}", daemon=True)
            self._thread.start()

    def release(self) -> None:
        """Let a node started with ``send`` false send its transactions, from its next step on (at once)."""
        self._sending.set()
        self._nudge.set()

    def stop(self) -> NodeStatus:
        """Stop the loop and return the final status."""
        self._stop.set()
        self._heads.unsubscribe(self._nudge)
        self._nudge.set()
        self._prefetch.shutdown(wait=False, cancel_futures=True)
        if self._thread is not None:
            self._thread.join(timeout=30)
        return self.status()

    def status(self) -> NodeStatus:
        """Counts of assigned, committed and revealed tasks, and notes on what went wrong."""
        counts = self._counts
        return NodeStatus(self._config.index, self._address, self._behaviour.name, counts[TaskStage.ASSIGNED],
                          counts[TaskStage.COMMITTED], counts[TaskStage.REVEALED], tuple(self._notes))

    def spans(self, cursor: int = 0) -> tuple[list[PhaseSpan], int]:
        """The phase spans recorded after the first ``cursor`` ones, and the next cursor."""
        return self._spans.since(cursor)

    def usage(self) -> ProcessUsage:
        """The CPU and memory of the node's process."""
        return process_usage(self._spans.role)

    def _loop(self) -> None:
        while not self._stop.is_set():
            sent = self._transactions_sent()
            try:
                self.step()
            except CipherQuorumError as exc:
                self._note(f"loop: {exc}")
            if self._transactions_sent() == sent:  # after a transaction, look again at once
                self._nudge.wait(self._heads.idle_wait_s(self._config.poll_interval_s))
                self._nudge.clear()

    def _transactions_sent(self) -> int:
        return self._counts[TaskStage.COMMITTED] + self._counts[TaskStage.REVEALED]

    # --- one polling step ----------------------------------------------------------------------

    def step(self) -> None:
        """Read new chain events, then move every open task one stage further where possible."""
        events = self._market.events(self._next_block)  # to the latest block, in one request
        for event in events:
            self._observe(event)
        if events:  # blocks after the last event are read again next time (cheap: they had no market events)
            self._next_block = events[-1].block_number + 1
        open_work = [w for w in self._work.values() if w.stage.open]
        if open_work and self._sending.is_set():
            now = self._now(open_work)
            seals = [(w, seal) for w in open_work if w.stage is TaskStage.ASSIGNED
                     for seal in self._guarded(w, partial(self._seal_to_commit, w, now)) if seal]
            self._commit(_gathered(seals))
            revealing = [w for w in open_work if w.stage is TaskStage.COMMITTED
                         and (w.all_committed or now > w.commit_deadline)]
            self._upload_results([(w, w.outcome) for w in revealing if w.outcome is not None and not w.result_ref])
            reveals = [(w, item) for w in revealing for item in self._guarded(w, partial(self._reveal_item, w)) if item]
            self._reveal(_gathered(reveals))
            for work in open_work:
                if work.stage in (TaskStage.ASSIGNED, TaskStage.COMMITTED) and now > work.reveal_deadline:
                    self._note(f"task {work.task_id}: reveal deadline passed at stage {work.stage}")
                    work.stage = TaskStage.FAILED
        self._forget_settled()
        if self._sending.is_set():
            self._restake()

    def _restake(self) -> None:
        """Add back what slashes took (a restaking node); a failed transaction is tried again next step."""
        if not self._slashed_wei:
            return
        try:
            self._market.add_stake(self._slashed_wei)
        except ChainError as exc:
            self._note(f"restake of {self._slashed_wei} wei: {exc} (will retry)")
            return
        self._slashed_wei = 0

    def _now(self, open_work: list[_Work]) -> float:
        """The next block's time, asked of the chain only when a deadline is near (the wall clock otherwise)."""
        wall_s = int(time.time())
        if any(w.commit_deadline - wall_s < DEADLINE_MARGIN_S for w in open_work if not w.all_committed) or any(
                w.reveal_deadline - wall_s < DEADLINE_MARGIN_S for w in open_work):
            return self._market.next_block_timestamp()
        return wall_s

    def _observe(self, event: ChainEvent) -> None:
        args = event.args
        if "taskId" not in args:
            return
        task_id = TaskId(args["taskId"])
        if event.name == "TaskCreated":
            self._created[task_id] = (args["manifestRef"], args["programId"])
            self._replications[task_id] = args["replication"]
            self._widest = max(self._widest, args["replication"])
            return
        if event.name == "TaskQueued":
            self._queued[task_id] = self._replications.get(task_id, self._widest)
            return
        if event.name == "TaskAdaptive":
            self._adaptive[task_id] = args["maxReplication"]
            return
        if event.name == "TaskMatched":
            self._queued.pop(task_id, None)
            self._replications.pop(task_id, None)
            max_replication = self._adaptive.pop(task_id, None)
            if self._address not in args["nodes"]:
                self._created.pop(task_id, None)  # another node's task
            else:
                self._take(_Work(task_id, len(args["nodes"]), args["commitDeadline"], args["revealDeadline"],
                                 max_replication=max_replication))
            return
        if event.name == "TaskExtended" and self._address in args["added"]:
            # Seated by an extension: a fresh assignment at the task's full (new) replication.
            view, terms = self._market.task(task_id), self._market.task_round(task_id)
            self._take(_Work(task_id, view.replication, args["commitDeadline"], args["revealDeadline"],
                             max_replication=terms.max_replication))
            return
        if event.name == "Slashed" and args["node"] == self._address and self._config.restake:
            self._slashed_wei += args["amountWei"]
        work = self._work.get(task_id)
        if work is None:
            return
        if event.name == "Committed" and args["node"] != self._address:
            work.peer_seals.append(args["seal"])
        elif event.name == "AllCommitted":
            work.all_committed = True
        elif event.name == "Revealed" and args["node"] != self._address:
            work.peer_reveals.append((args["resultHash"], args["status"], args["resultRef"]))
        elif event.name in ("TaskCompleted", "TaskFailed") and work.stage is not TaskStage.FAILED:
            work.stage = TaskStage.DONE
        elif event.name == "TaskExtended" and work.stage in (TaskStage.ASSIGNED, TaskStage.COMMITTED):
            self._note(f"task {task_id}: extended before this node revealed; its seat is closed")
            work.stage = TaskStage.FAILED

    def _take(self, work: _Work) -> None:
        """Start work on a task this node was seated on, fetching and computing ahead."""
        task_id = work.task_id
        self._work[task_id] = work
        self._counts[TaskStage.ASSIGNED] += 1
        seen_s = time.time()
        self._spans.add(Phase.ASSIGNED, task_id, seen_s, seen_s)
        if self._behaviour.computes:  # fetch and compute ahead, while the loop sends other transactions
            self._computing[task_id] = self._prefetch.submit(self._fetch_and_compute, task_id, work.commit_deadline)

    def _guarded(self, work: _Work, prepare: Callable[[], T]) -> tuple[T, ...]:
        """``(prepare(),)``, or () after noting a failure (a storage that is down is retried next step)."""
        try:
            return (prepare(),)
        except (ChainUnavailable, StorageUnavailable) as exc:
            self._note(f"task {work.task_id}: {exc} (will retry)")
        return ()

    def _seal_to_commit(self, work: _Work, now: float) -> bytes | None:
        """The seal the node commits for ``work``, once it has one (computed, or copied by a lazy node)."""
        behaviour = self._behaviour
        if not behaviour.computes:
            return work.peer_seals[0] if work.peer_seals else None  # a lazy node waits for someone else's work
        if work.outcome is None:
            ahead = self._computing.pop(work.task_id, None)
            outcome, evaluator, work.program = (ahead.result() if ahead is not None
                                                else self._fetch_and_compute(work.task_id, work.commit_deadline))
            if evaluator is not None:
                entropy = f"{self._config.seed}/node-{self._config.index}/task-{work.task_id}".encode()
                outcome = tamper_outcome(behaviour, outcome, evaluator, entropy)
            if behaviour.late and self._stop.wait(max(0.0, work.commit_deadline - now + 1.5)):
                return None  # stopped while waiting
            work.outcome, work.salt = outcome, os.urandom(32)
        return self._market.compute_seal(work.task_id, work.outcome.result_hash, work.outcome.status,
                                         self._address, work.salt)

    def _upload_results(self, computed: list[tuple[_Work, ExecutionOutcome]]) -> None:
        """Store the results of ``computed`` tasks in one storage call, each timed as its "result_upload"; a
        storage that is down is noted and tried again next step."""
        if not computed:
            return
        start_s = time.time()
        works = [work for work, _ in computed]
        blobs = [encode(self._result_of(work, outcome)) for work, outcome in computed]
        try:
            refs = self._retry.call(f"tasks {', '.join(str(w.task_id) for w in works)}: upload the results",
                                    lambda: self._store.put_many(blobs),
                                    until_s=min(w.reveal_deadline for w in works) - REVEAL_ROOM_S)
        except StorageUnavailable as exc:
            for work in works:
                self._note(f"task {work.task_id}: {exc} (will retry)")
            return
        end_s = time.time()
        for work, ref in zip(works, refs):
            work.result_ref = blob_id_to_bytes32(ref)
            self._spans.add(Phase.RESULT_UPLOAD, work.task_id, start_s, end_s)

    def _result_of(self, work: _Work, outcome: ExecutionOutcome) -> TaskResult:
        return TaskResult(task_id=work.task_id, node=self._address, program=work.program, status=int(outcome.status),
                          result_hash=bytes(outcome.result_hash),
                          outputs=tuple(ct.to_bytes() for ct in outcome.outputs), detail=outcome.detail)

    def _reveal_item(self, work: _Work) -> RevealArgs | None:
        """What the node reveals for ``work``: its uploaded result (or, lazy, a copy of a peer's); None while it
        has nothing to reveal yet."""
        if work.outcome is None:  # lazy: copy what a peer revealed, if anyone has yet
            if not work.peer_reveals:
                return None
            result_hash, status, result_ref = work.peer_reveals[0]
            return work.task_id, result_hash, status, work.salt or bytes(32), result_ref
        if not work.result_ref:  # its upload failed this step (noted): tried again next step
            return None
        return work.task_id, work.outcome.result_hash, work.outcome.status, work.salt, work.result_ref

    def _commit(self, ready: list[tuple[_Work, bytes]]) -> None:
        """Commit every ready seal: commit for one, commitMany for more (as many per transaction as its gas
        allows)."""
        if not ready:
            return
        for chunk in self._market.in_transactions("commitMany", ready, max(work.replication for work, _ in ready)):
            works = [work for work, _ in chunk]
            seals = [(work.task_id, seal) for work, seal in chunk]
            replications = [work.replication for work in works]

            def send(seals: list[tuple[TaskId, bytes]] = seals, rs: list[int] = replications) -> TxReceipt:
                if len(seals) == 1:
                    return self._market.commit(*seals[0], replication=rs[0])
                return self._market.commit_many(seals, replications=rs)

            self._send(Phase.COMMIT, TaskStage.COMMITTED, works, send)

    def _reveal(self, ready: list[tuple[_Work, RevealArgs]]) -> None:
        """Reveal every ready result: reveal for one, revealMany for more (as many per transaction as its gas
        allows)."""
        if not ready:
            return
        queued = Queued(len(self._queued), max(self._queued.values(), default=self._widest))
        widest = max(work.replication for work, _ in ready)
        top = max(work.max_replication or work.replication for work, _ in ready)
        for chunk in self._market.in_transactions("revealMany", ready, widest, queued=queued,
                                                  max_replication=top if top > widest else None):
            works = [work for work, _ in chunk]
            items = [item for _, item in chunk]
            replications = [work.replication for work in works]
            tops = [work.max_replication or work.replication for work in works]

            def send(items: list[RevealArgs] = items, rs: list[int] = replications,
                     tops: list[int] = tops) -> TxReceipt:
                if len(items) == 1:
                    return self._market.reveal(*items[0], replication=rs[0], queued=queued, max_replication=tops[0])
                return self._market.reveal_many(items, replications=rs, queued=queued, max_replications=tops)

            self._send(Phase.REVEAL, TaskStage.REVEALED, works, send)

    def _send(self, phase: Phase, reached: TaskStage, works: list[_Work], send: Callable[[], TxReceipt]) -> None:
        """Send one transaction for ``works``; each that took effect reaches ``reached``.

        An item the contract skipped or refused fails its task, except RevealNotOpen (retried next step); a
        chain that does not answer leaves every item to retry.
        """
        start_s = time.time()
        try:
            receipt = send()
        except (RevealNotOpen, ChainUnavailable) as exc:
            for work in works:
                self._note(f"task {work.task_id}: {exc} (will retry)")
            return
        except ContractError as exc:  # a single call: the error is that one task's
            self._note(f"task {works[0].task_id}: {exc}")
            works[0].stage = TaskStage.FAILED
            return
        end_s = time.time()
        for index, work in enumerate(works):
            error = receipt.skipped.get(index)
            if error is None:
                self._spans.add(phase, work.task_id, start_s, end_s, gas_used=receipt.gas_used // len(works))
                work.stage = reached
                self._counts[reached] += 1
            elif isinstance(error, RevealNotOpen):
                self._note(f"task {work.task_id}: {error} (will retry)")
            else:
                self._note(f"task {work.task_id}: {error}")
                work.stage = TaskStage.FAILED

    def _forget_settled(self) -> None:
        """Drop what the node keeps of tasks that are over (their counts stay), so memory stays flat."""
        for task_id in [t for t, w in self._work.items() if not w.stage.open]:
            del self._work[task_id]
            self._created.pop(task_id, None)
            ahead = self._computing.pop(task_id, None)  # computed ahead for a task that failed before its commit
            if ahead is not None:
                ahead.cancel()

    # --- fetching and running the program ------------------------------------------------------

    def _fetch_and_compute(self, task_id: TaskId,
                           commit_deadline: int) -> tuple[ExecutionOutcome, Evaluator | None, str]:
        """``_compute``, timed as its "fetch" and "compute" phases."""
        fetch_s = time.time()
        outcome, evaluator, program, compute_s = self._compute(task_id, commit_deadline - COMPUTE_ROOM_S)
        end_s = time.time()
        self._spans.add(Phase.FETCH, task_id, fetch_s, compute_s or end_s)
        if compute_s:
            self._spans.add(Phase.COMPUTE, task_id, compute_s, end_s)
        return outcome, evaluator, program

    def _compute(self, task_id: TaskId, fetch_until_s: float) -> tuple[ExecutionOutcome, Evaluator | None, str, float]:
        """Fetch and check the task's manifest, keys and inputs, then run its program.

        Returns the outcome, the evaluator it ran on (None when the inputs never got that far), the
        program's name and when the program started (0 if it never did). Input problems become the status
        the replicas agree on, not an exception; a storage that restarts is waited for until wall-clock
        ``fetch_until_s``, and is INPUT_UNAVAILABLE after that. The manifest and program come from the task's
        TaskCreated event when the node saw it (else from the task's view, with its time limit).
        """
        chain_limit_s: float | None = None
        if task_id in self._created:
            manifest_ref, expected_program = self._created[task_id]
        else:
            task = self._market.task(task_id)
            manifest_ref, expected_program, chain_limit_s = task.manifest_ref, task.program_id, task.time_limit_s
        program = ""
        try:
            manifest_blob = self._retry.call(f"task {task_id}: fetch the manifest",
                                             lambda: self._store.get(bytes32_to_blob_id(manifest_ref)),
                                             until_s=fetch_until_s)
            manifest = decode(manifest_blob, TaskManifest)
            program = manifest.program
            if program_id(program) != expected_program:
                raise _InputProblem(ExecStatus.PROGRAM_UNKNOWN, f"the manifest's {program} is not the task's program")
            evaluator, inputs = self._retry.call(
                f"task {task_id}: fetch the keys and inputs",
                lambda: self._keys_and_inputs(BlobId(manifest.key_bundle_ref),
                                              [BlobId(ref) for ref in manifest.input_refs]),
                until_s=fetch_until_s)
        except _InputProblem as problem:
            return ExecutionOutcome.failure(problem.status, problem.detail), None, program, 0.0
        except (ValidationError, StorageError) as exc:  # wire, key bundle and blob errors among them
            return ExecutionOutcome.failure(status_for_error(exc), str(exc)), None, program, 0.0
        if self._behaviour.crashes:
            log.warning("node %s crashes in the middle of task %s", self._config.index, task_id)
            os._exit(1)
        compute_s = time.time()
        outcome = execute(program, evaluator, inputs, manifest.params,
                          effective_time_limit_s(manifest.time_limit_s, chain_limit_s))
        ran_s = time.time() - compute_s
        if chain_limit_s is None and needs_chain_limit(ran_s) and outcome.status is not ExecStatus.TIMEOUT:
            chain_limit_s = self._market.task(task_id).time_limit_s
            if overran(ran_s, chain_limit_s):  # the task's limit, not the manifest's, was the binding one
                detail = f"{program}: ran {ran_s:.1f} s, past the task's time limit of {chain_limit_s} s"
                outcome = ExecutionOutcome.failure(ExecStatus.TIMEOUT, detail)
        return outcome, evaluator, program, compute_s

    def _keys_and_inputs(self, bundle_ref: BlobId, input_refs: list[BlobId]) -> tuple[Evaluator, list[bytes]]:
        """The evaluator for a key bundle (loaded once, then cached) and the input blobs, in one storage call."""
        evaluator = self._evaluators.get(bundle_ref)
        if evaluator is not None:
            return evaluator, self._store.get_many(input_refs)
        bundle, *inputs = self._store.get_many([bundle_ref, *input_refs])
        evaluator = Evaluator.from_bundle(KeyBundle.from_bytes(bundle))
        self._evaluators[bundle_ref] = evaluator
        return evaluator, inputs

    def _note(self, text: str) -> None:
        log.info("node %s: %s", self._config.index, text)
        if self._notes and self._notes[-1] == text:  # a chain that stopped answering says so once
            return
        if len(self._notes) < MAX_NOTES:
            self._notes.append(text)
        elif len(self._notes) == MAX_NOTES:
            self._notes.append(f"(notes after the first {MAX_NOTES} are in the node's log only)")


class _InputProblem(Exception):
    """A task input the node cannot use, with the status the replicas agree on for it."""

    def __init__(self, status: ExecStatus, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class ComputeNodeHandle:
    """Typed handle on a compute node hosted in its own actor."""

    def __init__(self, config: ComputeNodeConfig, store: BlobStore, *, clustered: bool) -> None:
        self._config = config
        self._host: ActorHost[ComputeNode] = ActorHost(
            ComputeNode, config, store, name=f"node-{config.index}", title=f"compute node {config.index}",
            placement=Placement(spread=clustered), max_concurrency=2)

    @property
    def config(self) -> ComputeNodeConfig:
        return self._config

    def submit_register(self) -> PendingCall[Address]:
        """Start registering the node on chain; the pending call returns its address."""
        return self._host.submit("register")

    def start(self) -> None:
        """Start the node's loop: from now on it works on its assignments."""
        self._host.call("start")

    def submit_start(self, send: bool = True) -> PendingCall[None]:
        """Start the node's loop without waiting for the actor to answer (see ComputeNode.start)."""
        return self._host.submit("start", send)

    def submit_release(self) -> PendingCall[None]:
        """Let a node started with ``send`` false send its transactions (see ComputeNode.release)."""
        return self._host.submit("release")

    def status(self, timeout_s: float = 10) -> NodeStatus:
        """The node's progress; raises NodeCrashed if its process died."""
        return self._host.call("status", timeout_s=timeout_s)

    def stop(self) -> NodeStatus:
        """Stop the node's loop and return its final status."""
        return self._host.call("stop", timeout_s=60)

    def spans(self, cursor: int = 0) -> tuple[list[PhaseSpan], int]:
        """The node's phase spans after the first ``cursor`` ones, and the next cursor."""
        return self._host.call("spans", cursor, timeout_s=30)

    def usage(self) -> ProcessUsage:
        """The CPU and memory of the node's process; raises NodeCrashed if it died."""
        return self._host.call("usage", timeout_s=30)

    def shutdown(self) -> None:
        """End the node's process."""
        self._host.kill()
