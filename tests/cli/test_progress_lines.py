"""The run's progress lines: a line when a count changes, none when only the clock moved."""
from __future__ import annotations

import io

from cipherquorum.cli import _progress_printer
from cipherquorum.nodes.driver.runner import Progress


def test_progress_prints_a_line_only_when_a_count_changes() -> None:
    """Off a terminal each line is kept, so ticks that change no count print nothing; a scenario of workflows
    alone shows no empty study line, and each workflow's line names it."""
    stream = io.StringIO()
    show = _progress_printer(stream)
    show(Progress(0.5, "tasks", 0, 0, 0, 0, 0, 0))
    for elapsed_s, created in ((1.0, 0), (1.5, 0), (2.0, 1), (2.5, 1)):
        show(Progress(elapsed_s, "workflow psi", 0, created, 0, 0, 0, 0))
    show(Progress(3.0, "tasks", 4, 4, 8, 0, 0, 0))
    assert stream.getvalue().splitlines() == [
        "[   1.0s] workflow psi: 0 tasks created, 0 commits, 0 reveals, 0 finalized",
        "[   2.0s] workflow psi: 1 tasks created, 0 commits, 0 reveals, 0 finalized",
        "[   3.0s] tasks 4/4 created, 8 commits, 0 reveals, 0/4 finalized",
    ]
