"""The client role: owns FHE keys, publishes studies and tasks, finalizes, checks the proof and decrypts."""
from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from cipherquorum.chain import ChainEvent, TaskMarket, derive_account
from cipherquorum.chain.heads import HeadWatcher
from cipherquorum.exceptions import ChainError, CipherQuorumError, ContractError, ValidationError
from cipherquorum.fhe import Ciphertext, KeyNeeds, SecretKeyOwner, get_program, program_id, result_hash
from cipherquorum.measurement.spans import Phase, PhaseSpan, ProcessUsage, SpanRecorder, process_usage
from cipherquorum.nodes.hosting import ActorHost, PendingCall
from cipherquorum.nodes.storage_host import STORAGE_RETRY, StorageRetry
from cipherquorum.protocol import Delivered, Proof, TaskParams, check_proof, failed_checks
from cipherquorum.settings.scenario import MarketConfig, Study
from cipherquorum.storage import IndexedStore
from cipherquorum.types import (
    Address,
    BlobId,
    ExecStatus,
    Hash32,
    TaskEnd,
    TaskId,
    TaskState,
    blob_id_to_bytes32,
    bytes32_to_blob_id,
)
from cipherquorum.wire import Question as WireQuestion
from cipherquorum.wire import Study as WireStudy
from cipherquorum.wire import TaskManifest, TaskResult, decode, encode

WATCHED_EVENTS = ("TaskMatched", "TaskCompleted", "TaskFailed")
"""The events a client pool follows its tasks by: one eth_getLogs per poll, whatever the number of tasks."""
SETTLE_RETRY_S = 1.0
"""How often a client tries to finalize a task whose commit deadline has passed without every reveal."""


@dataclass(frozen=True)
class ClientConfig:
    """Chain, market terms and FHE preset shared by the logical clients of a pool."""

    seed: str
    rpc_url: str
    market_address: str
    market: MarketConfig
    preset: str
    poll_interval_s: float = 0.05


@dataclass(frozen=True)
class TaskSpec:
    """One task a client wants run: a program over stored inputs, and how many result slots to read back."""

    label: str
    program: str
    input_refs: tuple[BlobId, ...]
    params: dict = field(default_factory=dict)
    result_slots: int = 1
    key_bundle_ref: BlobId | None = None
    """The public key bundle the task runs under (None: the client's own)."""
    preset: str | None = None
    """The bundle's FHE preset (None: the client's, the scenario's [fhe] preset)."""
    time_limit_s: float | None = None
    """How long a node may run the program (None: the market's time_limit_s)."""


@dataclass(frozen=True)
class TaskOutcome:
    """How a task ended, from its client's point of view."""

    task_id: TaskId
    label: str
    program: str
    state: TaskEnd
    status: ExecStatus | None
    """The agreed execution status (None without consensus)."""
    result_hash: str
    proof_verified: bool
    detail: str
    decrypted: tuple[tuple[float, ...], ...] | None
    latency_s: float
    manifest_ref: str = ""
    client: str = ""
    outputs: tuple[bytes, ...] = ()
    """The result ciphertexts' wire bytes, when the proof verified, the agreed status is SUCCESS and the task ran
    under another owner's key bundle (a client decrypts its own results into ``decrypted`` instead)."""
    winners: tuple[str, ...] = ()
    """The nodes whose reveals formed the proof of execution (empty without consensus)."""
    proof_block: int = 0
    """The block the proof was recorded in (0 without consensus)."""


@dataclass(frozen=True)
class CreatedTask:
    """A task a client created: its id, its manifest, when (monotonic) and its deadlines if it was matched at once.

    ``program_id`` and ``manifest_ref_on_chain`` are what the TaskCreated event recorded: a proof is checked
    against them.
    """

    task_id: TaskId
    manifest_ref: BlobId
    created_s: float
    program_id: Hash32
    manifest_ref_on_chain: Hash32
    commit_deadline: int = 0
    reveal_deadline: int = 0

    def proof(self, completed: ChainEvent) -> Proof:
        """The proof of execution that a TaskCompleted event of this task carries."""
        args = completed.args
        return Proof(self.task_id, self.program_id, self.manifest_ref_on_chain, Hash32(args["resultHash"]),
                     ExecStatus(args["status"]), Hash32(args["resultRef"]), tuple(args["winners"]),
                     completed.block_number)


@dataclass(frozen=True)
class OpenedStudy:
    """A study published by a client: where its keys and description are stored."""

    study_id: str
    client: Address
    key_bundle_ref: BlobId
    study_ref: BlobId


class StudyClient:
    """One logical client: an Ethereum account, an FHE key pair, and the tasks it created.

    With ``needs`` None the client holds no FHE keys: it creates tasks under other owners' key bundles (each
    TaskSpec names one), and its outcomes carry the verified result ciphertexts for their owners to decrypt.
    """

    def __init__(self, config: ClientConfig, index: int, store: IndexedStore, needs: KeyNeeds | None,
                 spans: SpanRecorder | None = None, retry: StorageRetry = STORAGE_RETRY) -> None:
        account = derive_account(config.seed, "client", index)
        self.address = Address(account.address)
        self._config = config
        self._store = store
        self._retry = retry
        self._spans = spans or SpanRecorder(f"client-{index}")
        self._market = TaskMarket(config.rpc_url, Address(config.market_address), account)
        self._market.prepare()  # its first createTasks sends at once
        self._keys = SecretKeyOwner.generate(config.preset, needs) if needs is not None else None
        self.key_bundle_ref: BlobId | None = None
        if self._keys is not None:
            bundle = self._keys.bundle.to_bytes()
            self.key_bundle_ref = retry.call("store the key bundle", lambda: store.put(bundle))

    def publish_study(self, study: Study) -> OpenedStudy:
        """Store the study's description, pointing to this client's public key bundle; raises ValidationError
        for a client without keys."""
        if self.key_bundle_ref is None:
            raise ValidationError(f"client {self.address} holds no FHE keys, so it cannot publish a study")
        message = WireStudy(
            study_id=study.study_id, client=self.address, title=study.title,
            questions=tuple(WireQuestion(text=q.text, kind=q.kind, options=q.options, min_value=q.min_value,
                                         max_value=q.max_value) for q in study.questions),
            key_bundle_ref=self.key_bundle_ref, preset=self._config.preset, audience={})
        study_ref = self._retry.call("store the study", lambda: self._store.put(encode(message)))
        self._retry.call("publish the study",
                         lambda: self._store.publish_many([(self.address, "study", study.study_id, study_ref)]))
        return OpenedStudy(study.study_id, self.address, self.key_bundle_ref, study_ref)

    def create_tasks(self, specs: Sequence[TaskSpec], refs: Sequence[BlobId] | None = None) -> list[CreatedTask]:
        """Upload each task's manifest (unless ``refs`` says where ``manifests(specs)`` are stored already) and
        create the task on chain, paying replication x reward."""
        market = self._config.market
        if refs is None:
            refs = self.store_manifests(self.manifests(specs))
        tasks = [TaskParams.for_terms(market, program_id(spec.program), blob_id_to_bytes32(ref))
                 for spec, ref in zip(specs, refs)]
        created: list[CreatedTask] = []
        for chunk in self._market.in_transactions("createTasks", list(zip(tasks, refs)), market.replication):
            created.extend(self._create_on_chain([params for params, _ in chunk], [ref for _, ref in chunk]))
        return created

    def store_manifests(self, manifests: Sequence[bytes]) -> list[BlobId]:
        """Store encoded manifests in one storage call; return their ids."""
        return self._retry.call("store the manifests", lambda: self._store.put_many(list(manifests)))

    def manifests(self, specs: Sequence[TaskSpec]) -> list[bytes]:
        """The encoded manifest of each task."""
        market = self._config.market
        return [encode(TaskManifest(
            program=spec.program, preset=spec.preset or self._config.preset, key_bundle_ref=self._bundle_of(spec),
            input_refs=tuple(spec.input_refs), params=dict(spec.params),
            time_limit_s=float(market.time_limit_s if spec.time_limit_s is None else spec.time_limit_s),
            client=self.address, label=spec.label)) for spec in specs]

    def _bundle_of(self, spec: TaskSpec) -> BlobId:
        """The key bundle ``spec`` runs under; raises ValidationError when neither it nor the client has one."""
        ref = spec.key_bundle_ref or self.key_bundle_ref
        if ref is None:
            raise ValidationError(f"task {spec.label!r} names no key_bundle_ref, and client {self.address} holds "
                                  f"no FHE keys of its own")
        return ref

    def _create_on_chain(self, tasks: Sequence[TaskParams], refs: Sequence[BlobId]) -> list[CreatedTask]:
        """Create the tasks in one transaction (createTask for one, createTasks for more); raises the error of
        the first task the contract skipped."""
        start_s = time.time()
        if len(tasks) == 1:
            task_id, receipt = self._market.create_task(tasks[0])
            ids: list[TaskId | None] = [task_id]
        else:
            ids, receipt = self._market.create_tasks(tasks)
        end_s = time.time()
        if receipt.skipped:  # the binding checked every task first, so the contract and the binding disagree
            index, error = min(receipt.skipped.items())
            raise ChainError(f"createTasks skipped task {index} of {len(tasks)} ({error}); the others were created "
                             f"in transaction {receipt.tx_hash} and are not followed")
        recorded = {event.args["taskId"]: event.args for event in receipt.named("TaskCreated")}
        matched = {event.args["taskId"]: event.args for event in receipt.named("TaskMatched")}
        created = []
        for maybe_id, ref in zip(ids, refs):
            assert maybe_id is not None  # no item was skipped
            task_id = maybe_id
            self._spans.add(Phase.CREATE, task_id, start_s, end_s, gas_used=receipt.gas_used // len(tasks))
            match = matched.get(task_id)
            deadlines = (match["commitDeadline"], match["revealDeadline"]) if match else (0, 0)
            created.append(CreatedTask(task_id, ref, time.monotonic(), Hash32(recorded[task_id]["programId"]),
                                       Hash32(recorded[task_id]["manifestRef"]), *deadlines))
        return created

    def settle(self, task_id: TaskId) -> TaskState:
        """Finalize the task once its deadlines allow it; return its state."""
        view = self._market.task(task_id)
        if view.state is not TaskState.ACTIVE:
            return view.state
        now = self._market.next_block_timestamp()
        ready = (now > view.reveal_deadline
                 or (now > view.commit_deadline and view.reveal_count == view.commit_count))
        if ready:
            start_s = time.time()
            try:
                receipt = self._market.finalize(task_id, replication=view.replication)
            except ContractError:
                return view.state
            self._spans.add(Phase.FINALIZE_TX, task_id, start_s, time.time(), gas_used=receipt.gas_used)
            return self._market.task(task_id).state
        return view.state

    def outcome(self, created: CreatedTask, spec: TaskSpec, latency_s: float, proof: Proof | None) -> TaskOutcome:
        """Check the proof of a settled task and decrypt its result (``proof``: None when it had no consensus)."""
        task_id, manifest_ref = created.task_id, created.manifest_ref
        if proof is None:
            return TaskOutcome(task_id, spec.label, spec.program, TaskEnd.NO_CONSENSUS, None, "", False,
                               "no consensus: escrow refunded", None, latency_s, manifest_ref, self.address)
        download_s = time.time()
        detail, decrypted, verified = "", None, False
        delivered: Sequence[bytes] = ()
        try:
            result_blob = self._retry.call(f"task {task_id}: download the result",
                                           lambda: self._store.get(bytes32_to_blob_id(proof.result_ref)))
            result = decode(result_blob, TaskResult)
            decrypt_s = time.time()
            self._spans.add(Phase.DOWNLOAD, task_id, download_s, decrypt_s)
            outputs = [Ciphertext.from_bytes(blob) for blob in result.outputs]
            checks = check_proof(proof, program_id=program_id(spec.program),
                                 manifest_ref=blob_id_to_bytes32(manifest_ref),
                                 delivered=Delivered(result.status, result_hash(outputs)))
            failed = failed_checks(checks)
            verified = not failed
            detail = f"proof check failed: {', '.join(failed)}" if failed else ""
            if verified and proof.status is ExecStatus.SUCCESS:
                if self._keys is not None and spec.key_bundle_ref in (None, self.key_bundle_ref):
                    keys = self._keys
                    decrypted = tuple(tuple(keys.decrypt(ct)[:spec.result_slots]) for ct in outputs)
                else:  # another owner's key: the ciphertexts go to it
                    delivered = result.outputs
            self._spans.add(Phase.DECRYPT, task_id, decrypt_s, time.time())
        except CipherQuorumError as exc:
            detail = f"cannot verify the result: {exc}"
        return TaskOutcome(task_id, spec.label, spec.program, TaskEnd.COMPLETED, proof.status,
                           "0x" + bytes(proof.result_hash).hex(), verified, detail, decrypted, latency_s,
                           manifest_ref, self.address, tuple(delivered), tuple(str(w) for w in proof.agreeing),
                           proof.finalized_block)


@dataclass
class _Tracked:
    """A created task the pool follows until its outcome is known (mutable, private to the pool)."""

    client_index: int
    spec: TaskSpec
    created: CreatedTask
    commit_deadline: int
    next_settle_s: float = 0.0
    outcome: TaskOutcome | None = None


class ClientPool:
    """Hosts the logical clients of a run in one process, and follows their tasks until each has an outcome.

    One watcher thread reads the tasks' events (one eth_getLogs per poll for all of them): a match gives the
    deadlines, a completion or failure gives the outcome (proof checked, result downloaded and decrypted). Only
    a task whose commit deadline has passed gets views and, when its deadlines allow, a finalize.
    """

    def __init__(self, config: ClientConfig, store: IndexedStore) -> None:
        self._config = config
        self._store = store
        self._clients: dict[int, StudyClient] = {}
        self._tracked: dict[TaskId, _Tracked] = {}
        self._order: dict[int, list[TaskId]] = {}
        self._early: dict[TaskId, list[ChainEvent]] = {}  # events seen while their createTask call was returning
        self._creating = 0
        self._finished: list[TaskOutcome] = []
        self._spans = SpanRecorder("clients")
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by a new block (HeadWatcher) or by stop: the watcher polls at once
        self._heads = HeadWatcher.shared(config.rpc_url)
        self._watcher: threading.Thread | None = None
        self._reader: TaskMarket | None = None
        self._next_block = 0

    def open_study(self, client_index: int, study: Study, programs: Sequence[str]) -> OpenedStudy:
        """Create the client's keys (as the study's programs need them) and publish the study."""
        needs = KeyNeeds.union(get_program(p).key_needs({}) for p in programs)
        client = StudyClient(self._config, client_index, self._store, needs, self._spans)
        self._clients[client_index] = client
        self._open_reader()
        return client.publish_study(study)

    def open_requester(self, client_index: int) -> Address:
        """Open a client without FHE keys of its own (tasks name their owners' bundles); return its address.

        Opening one that is already open returns its address again.
        """
        client = self._clients.get(client_index)
        if client is None:
            client = StudyClient(self._config, client_index, self._store, None, self._spans)
            self._clients[client_index] = client
            self._open_reader()
        return client.address

    def create_tasks(self, client_index: int, specs: Sequence[TaskSpec],
                     refs: Sequence[BlobId] | None = None) -> list[TaskId]:
        """Upload the manifests (unless ``refs`` names them) and create the tasks on chain; return their ids in
        order.

        The pool follows them from then on; calling again adds more tasks for the same client.
        """
        client = self._clients[client_index]
        self._start_watching()
        with self._changed:
            self._creating += 1
        try:
            created = client.create_tasks(specs, refs)
        except BaseException:
            with self._changed:
                self._creating -= 1
            raise
        with self._changed:  # registered in the same step as the count drops, so no event falls in between
            self._creating -= 1
            for task, spec in zip(created, specs):
                self._tracked[task.task_id] = _Tracked(client_index, spec, task, task.commit_deadline)
                self._order.setdefault(client_index, []).append(task.task_id)
            early = [event for task in created for event in self._early.pop(task.task_id, [])]
            if not self._creating:
                self._early.clear()  # what is left belongs to tasks of other clients
        for event in early:
            self._observe(event)
        return [task.task_id for task in created]

    def create_in_turn(self, plans: Sequence[tuple[int, Sequence[TaskSpec]]]) -> list[list[TaskId]]:
        """Create each client's tasks, client after client in ``plans`` order (the ids follow it), with every
        manifest uploaded first in one storage call; return each client's ids."""
        manifests = [self._clients[index].manifests(specs) for index, specs in plans]
        flat = [blob for blobs in manifests for blob in blobs]
        stored = iter(self._clients[plans[0][0]].store_manifests(flat)) if flat else iter(())
        refs = [[next(stored) for _ in blobs] for blobs in manifests]
        return [self.create_tasks(index, specs, ids) for (index, specs), ids in zip(plans, refs)]

    def await_tasks(self, client_index: int, timeout_s: float) -> list[TaskOutcome]:
        """Wait until every task of the client has an outcome; return them in creation order.

        Tasks still open at ``timeout_s`` or at ``stop()`` are returned as "unfinished".
        """
        deadline_s = time.monotonic() + timeout_s
        with self._changed:
            while not self._stop.is_set() and time.monotonic() < deadline_s:
                if all(self._tracked[t].outcome is not None for t in self._order.get(client_index, [])):
                    break
                self._changed.wait(min(self._config.poll_interval_s, max(0.0, deadline_s - time.monotonic())))
            return [self._outcome_or_unfinished(self._tracked[t]) for t in self._order.get(client_index, [])]

    def finished(self, cursor: int) -> tuple[list[TaskOutcome], int]:
        """Outcomes that arrived after the first ``cursor`` ones (in arrival order), and the next cursor."""
        with self._changed:
            return self._finished[cursor:], len(self._finished)

    def spans(self, cursor: int) -> tuple[list[PhaseSpan], int]:
        """The clients' phase spans recorded after the first ``cursor`` ones, and the next cursor."""
        return self._spans.since(cursor)

    def usage(self) -> ProcessUsage:
        """The CPU and memory of the pool's process."""
        return process_usage("clients")

    def stop(self) -> None:
        """Make running ``await_tasks`` calls return what has finished, and stop following tasks."""
        self._stop.set()
        self._wake.set()
        self._heads.unsubscribe(self._wake)
        with self._changed:
            self._changed.notify_all()

    # --- following the tasks -------------------------------------------------------------------

    def _open_reader(self) -> None:
        """Connect the watcher's reader and note the block it reads from (once, when the first client opens, so
        that the first createTask does not wait for it)."""
        with self._changed:
            if self._reader is None:
                self._store.prepare_reads()  # the results' downloads read from it
                reader = TaskMarket(self._config.rpc_url, self._config.market_address)
                self._next_block = reader.block_number()
                self._reader = reader

    def _start_watching(self) -> None:
        self._open_reader()
        with self._changed:  # several clients may create their first tasks at once
            if self._watcher is None:
                self._heads.subscribe(self._wake)
                self._watcher = threading.Thread(target=self._watch, name="client-watcher", daemon=True)
                self._watcher.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                self._poll()
            except CipherQuorumError:
                pass  # the chain did not answer this time; the next poll reads the same blocks again
            self._wake.wait(self._heads.idle_wait_s(self._config.poll_interval_s))
            self._wake.clear()

    def _poll(self) -> None:
        reader = self._reader
        assert reader is not None
        events = reader.events(self._next_block, names=WATCHED_EVENTS)  # to the latest block, in one request
        for event in events:
            self._observe(event)
        if events:
            self._next_block = events[-1].block_number + 1
        now_s = time.time()
        with self._changed:
            waiting = [t for t in self._tracked.values() if t.outcome is None and t.commit_deadline]
        for tracked in waiting:
            if now_s > tracked.commit_deadline and time.monotonic() >= tracked.next_settle_s:
                tracked.next_settle_s = time.monotonic() + SETTLE_RETRY_S
                self._clients[tracked.client_index].settle(tracked.created.task_id)

    def _observe(self, event: ChainEvent) -> None:
        task_id = TaskId(event.args["taskId"])
        with self._changed:
            tracked = self._tracked.get(task_id)
            if tracked is None:
                if self._creating:  # perhaps a task whose createTask call has not returned yet
                    self._early.setdefault(task_id, []).append(event)
                return
        if tracked.outcome is not None:
            return
        if event.name == "TaskMatched":
            tracked.commit_deadline = event.args["commitDeadline"]
            return
        self._spans.add(Phase.SETTLED, task_id, time.time(), time.time())
        created = tracked.created
        proof = created.proof(event) if event.name == "TaskCompleted" else None
        outcome = self._clients[tracked.client_index].outcome(
            created, tracked.spec, time.monotonic() - created.created_s, proof)
        with self._changed:
            tracked.outcome = outcome
            self._finished.append(outcome)
            self._changed.notify_all()

    def _outcome_or_unfinished(self, tracked: _Tracked) -> TaskOutcome:
        if tracked.outcome is not None:
            return tracked.outcome
        created, spec = tracked.created, tracked.spec
        return TaskOutcome(created.task_id, spec.label, spec.program, TaskEnd.UNFINISHED, None, "", False,
                           "still open when the run ended", None, time.monotonic() - created.created_s,
                           created.manifest_ref, self._clients[tracked.client_index].address)


class ClientPoolHandle:
    """Typed handle on the client pool actor."""

    def __init__(self, config: ClientConfig, store: IndexedStore, *, clients: int) -> None:
        self._host: ActorHost[ClientPool] = ActorHost(ClientPool, config, store, name="clients",
                                                      title="the client pool", max_concurrency=clients + 4)

    def open_study(self, client_index: int, study: Study, programs: Sequence[str]) -> OpenedStudy:
        """Generate the client's keys and publish the study."""
        return self._host.call("open_study", client_index, study, list(programs))

    def open_requester(self, client_index: int) -> Address:
        """Open a client without FHE keys of its own; returns its address."""
        return self._host.call("open_requester", client_index)

    def create_tasks(self, client_index: int, specs: Sequence[TaskSpec]) -> list[TaskId]:
        """Create a client's tasks on chain; returns their ids."""
        return self._host.call("create_tasks", client_index, list(specs))

    def create_in_turn(self, plans: Sequence[tuple[int, Sequence[TaskSpec]]]) -> list[list[TaskId]]:
        """Create several clients' tasks, one client after the other; returns each client's ids."""
        return self._host.call("create_in_turn", [(index, list(specs)) for index, specs in plans])

    def submit_await_tasks(self, client_index: int, timeout_s: float) -> PendingCall[list[TaskOutcome]]:
        """Start settling a client's tasks; the pending call returns their outcomes."""
        return self._host.submit("await_tasks", client_index, timeout_s)

    def submit_create_tasks(self, client_index: int, specs: Sequence[TaskSpec]) -> PendingCall[list[TaskId]]:
        """Start creating tasks for a client; the pending call returns their ids."""
        return self._host.submit("create_tasks", client_index, list(specs))

    def finished(self, cursor: int) -> tuple[list[TaskOutcome], int]:
        """Outcomes that arrived after the first ``cursor`` ones, and the next cursor."""
        return self._host.call("finished", cursor, timeout_s=30)

    def spans(self, cursor: int = 0) -> tuple[list[PhaseSpan], int]:
        """The clients' phase spans after the first ``cursor`` ones, and the next cursor."""
        return self._host.call("spans", cursor, timeout_s=30)

    def usage(self) -> ProcessUsage:
        """The CPU and memory of the pool's process."""
        return self._host.call("usage", timeout_s=30)

    def stop(self) -> None:
        """Ask running task loops to return what has finished."""
        self._host.call("stop", timeout_s=10)

    def shutdown(self) -> None:
        """End the pool's process."""
        self._host.kill()
