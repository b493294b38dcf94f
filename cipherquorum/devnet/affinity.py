"""A CPU of its own for the devnet's serving thread, which runs every transaction of the chain one at a time.

Left to the scheduler, that thread moves between CPUs as the roles' threads wake it and is preempted by them
wherever it lands; kept to one CPU, the roles' work moves off that CPU instead. Measured in the quickstart's task
stage on 2 cores (3 runs each, /proc schedstat of the thread): 0.78-1.09 s on a CPU, 0.15-0.25 s waiting for
one and 377-524 preemptions unpinned; 0.68-0.85 s on a CPU, 0.12-0.18 s waiting and 179-352 preemptions kept
to one CPU, the roles free to use both.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from cipherquorum.exceptions import ValidationError


def usable_cpus() -> list[int]:
    """The CPUs the calling thread may run on, in order ([] where the platform cannot tell)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return []


def serving_cpu() -> int | None:
    """The CPU a process's serving thread should keep to: the last one it may use, or None when it may use only
    one (or the platform cannot pin threads), where keeping to it gains nothing."""
    cpus = usable_cpus()
    return cpus[-1] if len(cpus) > 1 else None


def checked_cpu(cpu: object) -> int | None:
    """``cpu`` if it is None or a CPU the calling thread may use; raises ValidationError naming it otherwise."""
    if cpu is None:
        return None
    cpus = usable_cpus()
    if isinstance(cpu, bool) or not isinstance(cpu, int) or cpu not in cpus:
        raise ValidationError(f'"cpu" must be one of the CPUs this process may use, {cpus} (got cpu={cpu!r})')
    return cpu


@contextmanager
def threads_started_on(cpu: int | None) -> Iterator[None]:
    """Threads started inside the block keep to ``cpu`` (a new thread takes its starter's CPUs); the calling
    thread gets its own CPUs back after. None: nothing changes."""
    if cpu is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


__all__ = ["checked_cpu", "serving_cpu", "threads_started_on", "usable_cpus"]
