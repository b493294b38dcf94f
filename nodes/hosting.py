"""Ray in one place: start or join a cluster, and host plain role classes as actors behind typed handles."""
from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from cipherquorum.exceptions import CipherQuorumError, DependencyMissing, NodeError, RoleDied, RoleUnavailable
from cipherquorum.measurement.spans import PhaseSpan, ProcessUsage

try:
    import ray
    from ray.exceptions import ActorUnavailableError, GetTimeoutError, RayActorError, RayTaskError
except ImportError as exc:  # pragma: no cover - ray is a hard dependency
    raise DependencyMissing("Ray is required to host nodes: pip install 'ray[default]'") from exc

T = TypeVar("T")

CHAIN_RESOURCE = "cq_chain"
STORAGE_RESOURCE = "cq_storage"
"""Custom resources a cluster node advertises to host the chain and the storage (see cluster.yaml)."""


class RoleHandle(Protocol):
    """A started role as the driver sees it: its process can be sampled, and the role stopped."""

    def usage(self) -> ProcessUsage:
        """The CPU and memory of the role's process; raises NodeCrashed if it died."""
        ...

    def shutdown(self) -> None:
        """Stop the role and end its actor."""
        ...


class SpanSource(Protocol):
    """A role that times phases of its work."""

    def spans(self, cursor: int = 0) -> tuple[list[PhaseSpan], int]:
        """The spans recorded after the first ``cursor`` ones, and the next cursor."""
        ...


@dataclass(frozen=True)
class Placement:
    """Where an actor may run: a custom resource it needs, or spread across the cluster."""

    resource: str = ""
    spread: bool = False


_local_ray = False
"""Whether this process started the Ray its roles run on, on this machine alone (RayRuntime.start)."""


RAY_TOKEN_LOGGER = "ray._private.authentication.authentication_token_setup"
"""Where Ray logs that it turned token authentication on by itself (a new local Ray does, on every start)."""


def _not_token_notice(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("Token authentication is enabled")


@contextmanager
def _token_notice_muted() -> Iterator[None]:
    """Drop Ray's notice that token authentication is on (it stays on); its other messages pass."""
    token_logger = logging.getLogger(RAY_TOKEN_LOGGER)
    token_logger.addFilter(_not_token_notice)
    try:
        yield
    finally:
        token_logger.removeFilter(_not_token_notice)


class RayRuntime:
    """Starts a local Ray or joins a cluster, and shuts it down again.

    ``address`` empty starts a new local Ray with this machine's cores (never a cluster that happens to run
    here); otherwise ``ray.init(address=...)`` joins an existing cluster ("auto" joins the one it runs on). On a
    local Ray every role but the chain yields the CPU to it (see ActorHost).
    """

    def __init__(self, address: str = "", *, namespace: str = "cipherquorum") -> None:
        self._address = address
        self._namespace = namespace
        self._started_here = False

    @property
    def clustered(self) -> bool:
        """True when running on a cluster that this process joined rather than started."""
        return bool(self._address)

    def start(self) -> None:
        """Connect to Ray; raises NodeError if the cluster cannot be reached."""
        if ray.is_initialized():
            return
        options: dict[str, Any] = {
            "namespace": self._namespace,
            "logging_level": logging.WARNING,
            "log_to_driver": False,  # roles report through the run's report, not through stray logs
            "configure_logging": True,
        }
        try:
            if self._address:
                ray.init(address=self._address, **options)
            else:
                with _token_notice_muted():
                    ray.init(address="local", num_cpus=os.cpu_count() or 1, include_dashboard=False,
                             resources={CHAIN_RESOURCE: 1, STORAGE_RESOURCE: 1}, **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise NodeError(f"cannot start or join Ray at address {self._address or 'local'!r}: {exc}") from None
        self._started_here = True
        global _local_ray
        _local_ray = not self._address

    def shutdown(self) -> None:
        """Disconnect from Ray (stopping the local one if this runtime started it)."""
        global _local_ray
        if self._started_here and ray.is_initialized():
            ray.shutdown()
            _local_ray = False
        self._started_here = False

    def __enter__(self) -> RayRuntime:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()


def yield_cpus() -> int:
    """Put every thread of this process under SCHED_IDLE, and so every thread they start later; return how many
    threads changed (0 where the platform has no such policy).

    An idle thread runs only on a CPU that no thread of normal priority wants. The roles of a local run take
    this, so that the embedded devnet's serving thread, which runs every transaction of the market one at a time,
    is not preempted by them; they still have every CPU the chain leaves. Measured with
    ``cipherquorum bench scenarios/quickstart.toml`` on 2 cores, 10 A/B pairs alternating: e2e 1.34 s mean with
    the roles idle, 1.44 s without (7 of the 10 pairs faster), the overhead ratio's median 1.24 against 1.38; the
    load test did not move (see benchmarks/OVERHEADS.md). Nice 19 for the roles with the chain at nice 0 gave no
    difference the noise let through.
    """
    policy = getattr(os, "SCHED_IDLE", None)
    if policy is None:  # pragma: no cover - not Linux
        return 0
    changed = 0
    for thread in os.listdir("/proc/self/task"):
        try:
            os.sched_setscheduler(int(thread), policy, os.sched_param(0))
        except (ProcessLookupError, PermissionError):  # the thread ended in between; or a policy forbids it
            continue
        changed += 1
    return changed


_REMOTE_CLASSES: dict[tuple[type, bool], Any] = {}


def _remote_class(cls: type, yields_cpu: bool) -> Any:
    """``cls`` made a Ray actor class, once per class and policy; a yielding one calls ``yield_cpus`` in its
    process before ``cls.__init__`` (a restarted process too)."""
    key = (cls, yields_cpu)
    if key not in _REMOTE_CLASSES:
        hosted: Any = cls
        if yields_cpu:
            base: Any = cls

            def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
                yield_cpus()
                base.__init__(self, *args, **kwargs)

            hosted = type(cls.__name__, (cls,), {"__init__": __init__, "__doc__": cls.__doc__,
                                                 "__module__": cls.__module__,
                                                 "__qualname__": cls.__qualname__})
        _REMOTE_CLASSES[key] = ray.remote(hosted)
    return _REMOTE_CLASSES[key]


@dataclass(frozen=True)
class _Role:
    """Who an actor hosts, as errors name it: its actor name ("clients") and what a person calls it."""

    name: str
    title: str


def _translate(exc: BaseException, role: _Role, what: str) -> BaseException:
    """Turn a Ray error into the project's own, keeping project errors raised inside the actor.

    An actor that died and is being restarted gives RoleUnavailable (the call may be tried again); one that
    died for good gives RoleDied.
    """
    if isinstance(exc, RayTaskError):
        cause = exc.cause
        if isinstance(cause, CipherQuorumError):
            return cause
        return NodeError(f"{what} failed: {type(cause).__name__}: {cause}")
    if isinstance(exc, ActorUnavailableError):
        return RoleUnavailable(role.name, what)
    if isinstance(exc, RayActorError):
        return RoleDied(role.name, role.title, what)
    if isinstance(exc, GetTimeoutError):
        return NodeError(f"{what}: no answer in time")
    return exc


class PendingCall(Generic[T]):
    """A method call under way on an actor; ``result()`` waits for it."""

    def __init__(self, ref: Any, role: _Role, method: str) -> None:
        self._ref = ref
        self._role = role
        self._what = f"{role.name}.{method}"

    def result(self, timeout_s: float | None = None) -> T:
        """Return the call's value; raises the project's error for failures inside the actor (RoleDied when its
        process died, RoleUnavailable while it restarts)."""
        try:
            return ray.get(self._ref, timeout=timeout_s)
        except (RayTaskError, RayActorError, GetTimeoutError) as exc:
            raise _translate(exc, self._role, self._what) from None

    def done(self) -> bool:
        """True once the call has finished (successfully or not)."""
        ready, _ = ray.wait([self._ref], timeout=0)
        return bool(ready)


def wait_first(calls: Sequence[PendingCall[Any]], timeout_s: float) -> list[int]:
    """Return the indices of the calls that finished within ``timeout_s``."""
    if not calls:
        return []
    refs = [call._ref for call in calls]
    ready, _ = ray.wait(refs, num_returns=len(refs), timeout=timeout_s)
    ready_set = set(ready)
    return [i for i, ref in enumerate(refs) if ref in ready_set]


def _was_restarted(instance: object) -> bool:
    """Run inside an actor: whether its process is a restart of one that died."""
    return bool(ray.get_runtime_context().was_current_actor_reconstructed)


class ActorHost(Generic[T]):
    """One instance of a plain class living in its own Ray actor process.

    Callers use ``call`` and ``submit`` with method names; typed handles in each role module wrap these so
    that nothing outside this module writes ``.remote()`` or ``ray.get``. The host is picklable and can be
    handed to other actors.

    ``name`` is the actor's name in errors and reports, ``title`` what a person calls the role ("the client
    pool"; "the NAME" by default). With ``max_restarts`` above 0, Ray starts a process that died again, up to
    that many times, by calling the class with the same arguments; calls under way when it died fail with
    RoleUnavailable (none is retried here), and calls made while it restarts wait for it.

    With ``yields_cpu`` the actor's threads run under SCHED_IDLE (``yield_cpus``); by default a role yields on a
    local Ray that RayRuntime started, where it shares the machine with the chain. The chain never yields.
    """

    def __init__(self, cls: type[T], *args: Any, name: str, title: str = "", placement: Placement = Placement(),
                 max_concurrency: int = 1, max_restarts: int = 0, yields_cpu: bool | None = None,
                 **kwargs: Any) -> None:
        options: dict[str, Any] = {"num_cpus": 0, "max_concurrency": max_concurrency, "max_restarts": max_restarts,
                                   "max_task_retries": 0}
        if placement.resource:
            options["resources"] = {placement.resource: 0.01}
        if placement.spread:
            options["scheduling_strategy"] = "SPREAD"
        self._role = _Role(name, title or f"the {name}")
        yields = _local_ray if yields_cpu is None else yields_cpu
        self._actor = _remote_class(cls, yields).options(**options).remote(*args, **kwargs)

    @property
    def name(self) -> str:
        """The actor's name (used in errors and reports)."""
        return self._role.name

    @property
    def title(self) -> str:
        """What a person calls the role: "the client pool", "compute node 2"."""
        return self._role.title

    def submit(self, method: str, *args: Any, **kwargs: Any) -> PendingCall[Any]:
        """Start ``method(*args, **kwargs)`` on the actor and return at once."""
        ref = getattr(self._actor, method).remote(*args, **kwargs)
        return PendingCall(ref, self._role, method)

    def restarted(self, timeout_s: float = 30) -> bool:
        """Whether the actor's process died and was started again; raises RoleDied if it is dead for good."""
        ref = self._actor.__ray_call__.remote(_was_restarted)
        return PendingCall[bool](ref, self._role, "restarted").result(timeout_s)

    def call(self, method: str, *args: Any, timeout_s: float | None = None, **kwargs: Any) -> Any:
        """Run ``method(*args, **kwargs)`` on the actor and return its value."""
        return self.submit(method, *args, **kwargs).result(timeout_s)

    def kill(self) -> None:
        """End the actor's process at once."""
        try:
            ray.kill(self._actor, no_restart=True)
        except (RayActorError, ValueError):
            pass


def node_ip_address() -> str:
    """The IP address other machines of the cluster reach this process at."""
    return ray.util.get_node_ip_address()


def ray_node_id() -> str:
    """The id of the Ray node (the machine's raylet) this process runs on; "" outside Ray."""
    if not ray.is_initialized():
        return ""
    return str(ray.get_runtime_context().get_node_id())


__all__ = [
    "CHAIN_RESOURCE",
    "STORAGE_RESOURCE",
    "ActorHost",
    "PendingCall",
    "Placement",
    "RayRuntime",
    "node_ip_address",
    "ray_node_id",
    "wait_first",
    "yield_cpus",
]
