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

_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

PHASES: dict[str, str] = {
    "encrypt": "population: encrypt one respondent's answer to one question",
    "upload": "population: store one batch of encrypted answers",
    "index": "population: record one question's answer blobs in the version index",
    "create": "client: send createTask and wait for it to be mined",
    "match": "createTask mined -> a replica's node sees its assignment (queueing for capacity and polling)",
    "fetch": "node: read the task, fetch its manifest, keys and inputs",
    "compute": "node: run the FHE program",
    "commit": "node: send its commit and wait for it to be mined",
    "result_upload": "node: store its result blob",
    "reveal": "node: send its reveal and wait for it to be mined",
    "finalize": "last reveal (or the client's finalize) mined -> the client sees the task settled",
    "download": "client: read the proof of execution and download the result",
    "decrypt": "client: check the result against the proof and decrypt it",
}
"""The phases a task goes through, in order, with what each one measures."""


@dataclass(frozen=True)
class PhaseSpan:
    """One timed phase of a role's work: wall-clock (unix) start and end, so roles in other processes line up.

    ``task_id`` is 0 for work not tied to one task (a respondent's encryption, a batch upload). ``items`` is
    how many things the span covers (answers in an upload batch); ``gas_used`` is the gas of the transaction
    the span sent, if any.
    """

    phase: str
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
    """Collects the spans of one role (thread-safe); recording a span costs two clock reads and an append."""

    def __init__(self, role: str) -> None:
        self._role = role
        self._spans: list[PhaseSpan] = []
        self._lock = threading.Lock()

    @property
    def role(self) -> str:
        """The role name every span carries (``node-3``, ``clients``, ``population-0``)."""
        return self._role

    @contextmanager
    def span(self, phase: str, task_id: int = 0, items: int = 1) -> Iterator[None]:
        """Record the time the ``with`` block takes as a span of ``phase`` (also when it raises)."""
        start_s = time.time()
        try:
            yield
        finally:
            self.add(phase, task_id, start_s, time.time(), items)

    def add(self, phase: str, task_id: int, start_s: float, end_s: float, items: int = 1,
            gas_used: int = 0) -> None:
        """Record a span measured by the caller."""
        span = PhaseSpan(phase, int(task_id), self._role, start_s, end_s, items, gas_used)
        with self._lock:
            self._spans.append(span)

    def since(self, cursor: int) -> tuple[list[PhaseSpan], int]:
        """Return the spans recorded after the first ``cursor`` ones, and the cursor for the next call."""
        with self._lock:
            return self._spans[cursor:], len(self._spans)

    def spans(self) -> tuple[PhaseSpan, ...]:
        """Every span recorded so far, in recording order."""
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


__all__ = ["PHASES", "PhaseSpan", "ProcessUsage", "SpanRecorder", "process_usage"]
