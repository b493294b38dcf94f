"""A role's span recorder: spans read with a cursor are dropped, so a role read as it goes keeps only unread ones."""
from __future__ import annotations

from cipherquorum.measurement.spans import Phase, SpanRecorder


def _recorded(count: int) -> SpanRecorder:
    recorder = SpanRecorder("node-0")
    for task_id in range(count):
        recorder.add(Phase.COMMIT, task_id, float(task_id), float(task_id) + 0.5)
    return recorder


def test_reading_with_a_cursor_returns_the_new_spans_and_drops_the_read_ones() -> None:
    """Each read hands over the spans after the cursor; the next read with the returned cursor drops them."""
    recorder = _recorded(3)
    first, cursor = recorder.since(0)
    assert [span.task_id for span in first] == [0, 1, 2] and cursor == 3
    recorder.add(Phase.REVEAL, 3, 4.0, 4.5)
    second, cursor = recorder.since(cursor)
    assert [span.task_id for span in second] == [3] and cursor == 4
    assert [span.task_id for span in recorder.spans()] == [3]  # the three read before are gone
    assert recorder.since(cursor) == ([], 4)


def test_memory_stays_flat_when_spans_are_read_as_they_come() -> None:
    """Reading after every batch of spans keeps no more than one batch in the recorder."""
    recorder = SpanRecorder("clients")
    cursor = 0
    for batch in range(50):
        for task_id in range(10):
            recorder.add(Phase.CREATE, batch * 10 + task_id, 0.0, 1.0)
        spans, cursor = recorder.since(cursor)
        assert len(spans) == 10 and len(recorder.spans()) == 10
    assert cursor == 500


def test_a_reader_that_never_used_a_cursor_gets_everything_kept() -> None:
    """spans() and since(0) return every span while nothing was read past."""
    recorder = _recorded(4)
    assert len(recorder.spans()) == 4
    assert [span.task_id for span in recorder.since(0)[0]] == [0, 1, 2, 3]
    assert len(recorder.spans()) == 4
