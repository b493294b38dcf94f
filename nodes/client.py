"""The client role: owns FHE keys, publishes studies and tasks, finalizes, checks the proof and decrypts."""
from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from cipherquorum.chain import TaskMarket, TaskParams, derive_account
from cipherquorum.exceptions import CipherQuorumError, ContractError
from cipherquorum.fhe import Ciphertext, KeyNeeds, SecretKeyOwner, get_program, program_id, result_hash
from cipherquorum.scenario import MarketConfig, Study
from cipherquorum.storage import BlobStore
from cipherquorum.types import Address, BlobId, ExecStatus, TaskId, TaskState, blob_id_to_bytes32
from cipherquorum.types import bytes32_to_blob_id
from cipherquorum.wire import Question as WireQuestion
from cipherquorum.wire import Study as WireStudy
from cipherquorum.wire import TaskManifest, TaskResult, decode, encode

from .hosting import ActorHost, PendingCall

TERMINAL_STATES = (TaskState.COMPLETED, TaskState.NO_CONSENSUS)


@dataclass(frozen=True)
class ClientConfig:
    """Chain, market terms and FHE preset shared by the logical clients of a pool."""

    seed: str
    rpc_url: str
    market_address: str
    market: MarketConfig
    preset: str
    poll_interval_s: float = 0.2


@dataclass(frozen=True)
class TaskSpec:
    """One task a client wants run: a program over stored inputs, and how many result slots to read back."""

    label: str
    program: str
    input_refs: tuple[BlobId, ...]
    params: dict = field(default_factory=dict)
    result_slots: int = 1


@dataclass(frozen=True)
class TaskOutcome:
    """How a task ended, from its client's point of view."""

    task_id: TaskId
    label: str
    program: str
    state: str
    status: str
    result_hash: str
    proof_verified: bool
    detail: str
    decrypted: tuple[tuple[float, ...], ...] | None
    latency_s: float
    manifest_ref: str = ""
    client: str = ""


@dataclass(frozen=True)
class OpenedStudy:
    """A study published by a client: where its keys and description are stored."""

    study_id: str
    client: Address
    key_bundle_ref: BlobId
    study_ref: BlobId


class StudyClient:
    """One logical client: an Ethereum account, an FHE key pair, and the tasks it created."""

    def __init__(self, config: ClientConfig, index: int, store: BlobStore, needs: KeyNeeds) -> None:
        account = derive_account(config.seed, "client", index)
        self.address = Address(account.address)
        self._config = config
        self._store = store
        self._market = TaskMarket(config.rpc_url, Address(config.market_address), account)
        self._keys = SecretKeyOwner.generate(config.preset, needs)
        self.key_bundle_ref = store.put(self._keys.bundle.to_bytes())

    def publish_study(self, study: Study) -> OpenedStudy:
        """Store the study's description, pointing to this client's public key bundle."""
        message = WireStudy(
            study_id=study.study_id, client=self.address, title=study.title,
            questions=tuple(WireQuestion(text=q.text, kind=q.kind, options=q.options, min_value=q.min_value,
                                         max_value=q.max_value) for q in study.questions),
            key_bundle_ref=self.key_bundle_ref, preset=self._config.preset, audience={})
        study_ref = self._store.put(encode(message))
        self._store.publish_many([(self.address, "study", study.study_id, study_ref)])
        return OpenedStudy(study.study_id, self.address, self.key_bundle_ref, study_ref)

    def create_tasks(self, specs: Sequence[TaskSpec]) -> list[tuple[TaskId, BlobId, float]]:
        """Upload each task's manifest and create the task on chain, paying replication x reward."""
        market = self._config.market
        manifests = [encode(TaskManifest(
            program=spec.program, preset=self._config.preset, key_bundle_ref=self.key_bundle_ref,
            input_refs=tuple(spec.input_refs), params=dict(spec.params), time_limit_s=float(market.time_limit_s),
            client=self.address, label=spec.label)) for spec in specs]
        refs = self._store.put_many(manifests)
        created = []
        for spec, ref in zip(specs, refs):
            params = TaskParams(
                program_id=program_id(spec.program), manifest_ref=blob_id_to_bytes32(ref),
                replication=market.replication, quorum=market.quorum, commit_window_s=market.commit_window_s,
                reveal_window_s=market.reveal_window_s, time_limit_s=market.time_limit_s,
                reward_per_node_wei=market.reward_per_node_wei)
            task_id, _ = self._market.create_task(params)
            created.append((task_id, ref, time.monotonic()))
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
            try:
                self._market.finalize(task_id)
            except ContractError:
                return view.state
            return self._market.task(task_id).state
        return view.state

    def outcome(self, task_id: TaskId, spec: TaskSpec, manifest_ref: BlobId, latency_s: float) -> TaskOutcome:
        """Check the proof of a finished task and decrypt its result."""
        view = self._market.task(task_id)
        if view.state is not TaskState.COMPLETED:
            return TaskOutcome(task_id, spec.label, spec.program, _state_name(view.state), "", "", False,
                               "no consensus: escrow refunded", None, latency_s, manifest_ref, self.address)
        proof = self._market.proof(task_id)
        detail, decrypted, verified = "", None, False
        try:
            result = decode(self._store.get(bytes32_to_blob_id(proof.result_ref)), TaskResult)
            outputs = [Ciphertext.from_bytes(blob) for blob in result.outputs]
            checks = {
                "program id": proof.program_id == program_id(spec.program),
                "manifest": bytes32_to_blob_id(proof.manifest_ref) == manifest_ref,
                "result hash": bytes(result_hash(outputs)) == bytes(proof.result_hash)
                if proof.status is ExecStatus.SUCCESS else True,
                "status": result.status == int(proof.status),
            }
            failed = [name for name, ok in checks.items() if not ok]
            verified = not failed
            detail = f"proof check failed: {', '.join(failed)}" if failed else ""
            if verified and proof.status is ExecStatus.SUCCESS:
                decrypted = tuple(tuple(self._keys.decrypt(ct)[:spec.result_slots]) for ct in outputs)
        except CipherQuorumError as exc:
            detail = f"cannot verify the result: {exc}"
        return TaskOutcome(task_id, spec.label, spec.program, _state_name(view.state), proof.status.name,
                           "0x" + bytes(proof.result_hash).hex(), verified, detail, decrypted, latency_s,
                           manifest_ref, self.address)


def _state_name(state: TaskState) -> str:
    return {TaskState.COMPLETED: "completed", TaskState.NO_CONSENSUS: "no_consensus"}.get(
        state, state.name.lower())


class ClientPool:
    """Hosts the logical clients of a run in one process."""

    def __init__(self, config: ClientConfig, store: BlobStore) -> None:
        self._config = config
        self._store = store
        self._clients: dict[int, StudyClient] = {}
        self._created: dict[int, list[tuple[tuple[TaskId, BlobId, float], TaskSpec]]] = {}
        self._stop = threading.Event()

    def open_study(self, client_index: int, study: Study, programs: Sequence[str]) -> OpenedStudy:
        """Create the client's keys (as the study's programs need them) and publish the study."""
        needs = KeyNeeds.union(get_program(p).key_needs({}) for p in programs)
        client = StudyClient(self._config, client_index, self._store, needs)
        self._clients[client_index] = client
        return client.publish_study(study)

    def create_tasks(self, client_index: int, specs: Sequence[TaskSpec]) -> list[TaskId]:
        """Upload the manifests and create the tasks on chain; return their ids in order."""
        client = self._clients[client_index]
        created = client.create_tasks(specs)
        self._created[client_index] = list(zip(created, specs))
        return [task_id for (task_id, _, _), _ in self._created[client_index]]

    def await_tasks(self, client_index: int, timeout_s: float) -> list[TaskOutcome]:
        """Settle the client's tasks as their deadlines pass; return each one's verified outcome.

        Tasks still open at ``timeout_s`` or at ``stop()`` are returned as "unfinished".
        """
        client = self._clients[client_index]
        created = self._created.get(client_index, [])
        done: dict[TaskId, TaskOutcome] = {}
        deadline = time.monotonic() + timeout_s
        while len(done) < len(created) and time.monotonic() < deadline and not self._stop.is_set():
            for (task_id, ref, started), spec in created:
                if task_id not in done and client.settle(task_id) in TERMINAL_STATES:
                    done[task_id] = client.outcome(task_id, spec, ref, time.monotonic() - started)
            self._stop.wait(self._config.poll_interval_s)
        return [done.get(task_id) or TaskOutcome(
            task_id, spec.label, spec.program, "unfinished", "", "", False, "still open when the run ended", None,
            time.monotonic() - started, ref, client.address) for (task_id, ref, started), spec in created]

    def stop(self) -> None:
        """Make running ``run_tasks`` calls return what has finished."""
        self._stop.set()


class ClientPoolHandle:
    """Typed handle on the client pool actor."""

    def __init__(self, config: ClientConfig, store: BlobStore, *, clients: int) -> None:
        self._host: ActorHost[ClientPool] = ActorHost(ClientPool, config, store, name="clients",
                                                      max_concurrency=clients + 2)

    def open_study(self, client_index: int, study: Study, programs: Sequence[str]) -> OpenedStudy:
        """Generate the client's keys and publish the study."""
        return self._host.call("open_study", client_index, study, list(programs))

    def create_tasks(self, client_index: int, specs: Sequence[TaskSpec]) -> list[TaskId]:
        """Create a client's tasks on chain; returns their ids."""
        return self._host.call("create_tasks", client_index, list(specs))

    def submit_await_tasks(self, client_index: int, timeout_s: float) -> PendingCall[list[TaskOutcome]]:
        """Start settling a client's tasks; the pending call returns their outcomes."""
        return self._host.submit("await_tasks", client_index, timeout_s)

    def stop(self) -> None:
        """Ask running task loops to return what has finished."""
        self._host.call("stop", timeout_s=10)

    def kill(self) -> None:
        """End the pool's process."""
        self._host.kill()
