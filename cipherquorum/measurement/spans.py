"""Cheap instrumentation for roles: timed phase spans per task, and the CPU and memory of the process."""
from __future__ import annotations

import os
import resource
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from cipherquorum.types import TextEnum

_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

class Phase(TextEnum):
    """A phase of a task's life as the roles time it, or a mark (a span of no length) at one moment."""

    ENCRYPT = "encrypt"
    UPLOAD = "upload"
    INDEX = "index"
    CREATE = "create"
    MATCH = "match"
    FETCH = "fetch"
    COMPUTE = "compute"
    COMMIT = "commit"
    RESULT_UPLOAD = "result_upload"
    REVEAL = "reveal"
    FINALIZE = "finalize"
    DOWNLOAD = "download"
    DECRYPT = "decrypt"
    ASSIGNED = "assigned"
    """A node's mark at the moment it sees that it is assigned to a task."""
    SETTLED = "settled"
    """A client's mark at the moment it sees that a task is settled (completed or without consensus)."""
    FINALIZE_TX = "finalize_tx"
    """A client's finalize transaction, sent when a task's deadlines pass without every reveal."""

    @property
    def derived(self) -> bool:
        """Whether the phase is computed from two roles' marks rather than timed as one span."""
        return self in (Phase.MATCH, Phase.FINALIZE)


PHASES: dict[Phase, str] = {
    Phase.ENCRYPT: "population: encrypt one respondent's answer to one question",
    Phase.UPLOAD: "population: store one batch of encrypted answers",
    Phase.INDEX: "population: record one question's answer blobs in the version index",
    Phase.CREATE: "client: send createTask and wait for it to be mined",
    Phase.MATCH: "createTask mined -> a replica's node sees its assignment (queueing for capacity and polling)",
    Phase.FETCH: "node: read the task, fetch its manifest, keys and inputs",
    Phase.COMPUTE: "node: run the FHE program",
    Phase.COMMIT: "node: send its commit and wait for it to be mined",
    Phase.RESULT_UPLOAD: "node: store its result blob",
    Phase.REVEAL: "node: send its reveal and wait for it to be mined",
    Phase.FINALIZE: "last reveal (or the client's finalize) mined -> the client sees the task settled",
    Phase.DOWNLOAD: "client: read the proof of execution and download the result",
    Phase.DECRYPT: "client: check the result against the proof and decrypt it",
}
"""The phases a task goes through, in order, with what each one measures (the marks are not among them)."""


@dataclass(frozen=True)
class PhaseSpan:
    """One timed phase of a role's work: wall-clock (unix) start and end, so roles in other processes line up.

    ``task_id`` is 0 for work not tied to one task (a respondent's encryption, a batch upload). ``items`` is
    how many things the span covers (answers in an upload batch); ``gas_used`` is the gas of the transaction
    the span sent, if any.
    """

    phase: Phase
    task_id: int
    role: str
    start_s: float
    end_s: float
    items: int = 1
    gas_used: int = 0

    @property
    def duration_s(self) -> float:
        """How long the phase took, in seconds."""
        return self.end_s - self.start_s


class SpanRecorder:
    """Collects the spans of one role (thread-safe); recording a span costs two clock reads and an append.

    Spans are numbered from 0 in recording order. A reader that asks for the spans after ``cursor`` has received
    every span before it, so those are dropped: a role whose spans are read as it goes keeps only the unread ones.
    """

    def __init__(self, role: str) -> None:
        self._role = role
        self._spans: list[PhaseSpan] = []
        self._dropped = 0  # spans before this number were read and dropped
        self._lock = threading.Lock()

    @property
    def role(self) -> str:
        """The role name every span carries (``node-3``, ``clients``, ``population-0``)."""
        return self._role

    @contextmanager
    def span(self, phase: Phase, task_id: int = 0, items: int = 1) -> Iterator[None]:
        """Record the time the ``with`` block takes as a span of ``phase`` (also when it raises)."""
        start_s = time.time()
        try:
            yield
        finally:
            self.add(phase, task_id, start_s, time.time(), items)

    def add(self, phase: Phase, task_id: int, start_s: float, end_s: float, items: int = 1,
            gas_used: int = 0) -> None:
        """Record a span measured by the caller."""
        span = PhaseSpan(phase, int(task_id), self._role, start_s, end_s, items, gas_used)
        with self._lock:
            self._spans.append(span)

    def since(self, cursor: int) -> tuple[list[PhaseSpan], int]:
        """Return the spans recorded after the first ``cursor`` ones, and the cursor for the next call; the spans
        before ``cursor`` are dropped (the caller has them). A cursor before what was dropped starts at what is
        kept."""
        with self._lock:
            if cursor > self._dropped:
                del self._spans[:cursor - self._dropped]
                self._dropped = cursor
            return self._spans[max(0, cursor - self._dropped):], self._dropped + len(self._spans)

    def spans(self) -> tuple[PhaseSpan, ...]:
        """Every span recorded and not yet dropped, in recording order."""
        with self._lock:
            return tuple(self._spans)


@dataclass(frozen=True)
class ProcessUsage:
    """A sample of one process's resources: CPU seconds used so far, resident memory now and at its peak."""

    role: str
    at_s: float
    cpu_s: float
    rss_bytes: int
    max_rss_bytes: int


def process_usage(role: str) -> ProcessUsage:
    """Sample this process's user+system CPU time and resident memory (current RSS read from /proc on Linux;
    elsewhere the peak stands in for it)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    max_rss_bytes = int(usage.ru_maxrss) * (1 if sys.platform == "darwin" else 1024)
    rss_bytes = max_rss_bytes
    try:
        with open("/proc/self/statm", "rb") as statm:
            rss_bytes = int(statm.read().split()[1]) * _PAGE_BYTES
    except (OSError, ValueError, IndexError):
        pass
    return ProcessUsage(role=role, at_s=time.time(), cpu_s=usage.ru_utime + usage.ru_stime, rss_bytes=rss_bytes,
                        max_rss_bytes=max(max_rss_bytes, rss_bytes))


__all__ = ["PHASES", "Phase", "PhaseSpan", "ProcessUsage", "SpanRecorder", "process_usage"]
