"""Turn the roles' spans into phase durations and task latencies (the phases are listed in spans.PHASES)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cipherquorum.measurement.spans import PHASES, Phase, PhaseSpan
from cipherquorum.measurement.stats import Summary, summarize


@dataclass(frozen=True)
class TaskTiming:
    """One task's life in wall-clock (unix) seconds: created (createTask sent) to done (decrypted or settled)."""

    task_id: int
    created_s: float
    done_s: float

    @property
    def latency_s(self) -> float:
        """Seconds from sending createTask to the verified, decrypted result (or the settlement)."""
        return self.done_s - self.created_s


def phase_durations(spans: Iterable[PhaseSpan]) -> dict[Phase, list[float]]:
    """Return the durations of each phase in PHASES that the spans show, in seconds.

    Most phases are spans; "match" is a node's ASSIGNED mark minus its task's createTask end (one sample per
    replica), and "finalize" is the client's SETTLED mark minus the task's last reveal or finalize end.
    """
    spans = list(spans)
    durations: dict[Phase, list[float]] = {phase: [] for phase in PHASES}
    created_end: dict[int, float] = {}
    last_close: dict[int, float] = {}
    for span in spans:
        if span.phase in PHASES and not span.phase.derived:
            durations[span.phase].append(span.duration_s)
        if span.phase is Phase.CREATE:
            created_end[span.task_id] = span.end_s
        elif span.phase in (Phase.REVEAL, Phase.FINALIZE_TX):
            last_close[span.task_id] = max(last_close.get(span.task_id, 0.0), span.end_s)
    for span in spans:
        if span.phase is Phase.ASSIGNED and span.task_id in created_end:
            durations[Phase.MATCH].append(max(0.0, span.start_s - created_end[span.task_id]))
        elif span.phase is Phase.SETTLED and span.task_id in last_close:
            durations[Phase.FINALIZE].append(max(0.0, span.start_s - last_close[span.task_id]))
    return {name: values for name, values in durations.items() if values}


def phase_summaries(spans: Iterable[PhaseSpan]) -> dict[str, Summary]:
    """Summaries (count, percentiles, total) of each phase the spans show, in PHASES order."""
    return {name: summarize(values) for name, values in phase_durations(spans).items()}


def task_timings(spans: Iterable[PhaseSpan]) -> dict[int, TaskTiming]:
    """Return each task's creation and completion time, for tasks whose client recorded both.

    A task is done when its client has decrypted its result, or, without a result to decrypt, settled it.
    """
    created: dict[int, float] = {}
    done: dict[int, float] = {}
    for span in spans:
        if span.task_id == 0:
            continue
        if span.phase is Phase.CREATE:
            created[span.task_id] = span.start_s
        elif span.phase in (Phase.DECRYPT, Phase.SETTLED):
            done[span.task_id] = max(done.get(span.task_id, 0.0), span.end_s)
    return {task_id: TaskTiming(task_id, created[task_id], done[task_id]) for task_id in created if task_id in done}


def summaries_as_dict(summaries: Mapping[str, Summary]) -> dict[str, dict[str, float | int]]:
    """Phase summaries as JSON-ready dicts."""
    return {name: summary.as_dict() for name, summary in summaries.items()}


__all__ = ["TaskTiming", "phase_durations", "phase_summaries",
           "summaries_as_dict", "task_timings"]
