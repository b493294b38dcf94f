"""The run's progress lines: one as each start-up stage ends, then a line when a count changes, none when only
the clock moved."""
from __future__ import annotations

import io

from cipherquorum.cli import _progress_printer, _stage_printer
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


def test_each_start_up_stage_prints_one_line_as_it_ends() -> None:
    """A person sees Ray, the chain, the roles and the answers come up before the first task; the task stage
    itself shows as progress lines, and a scenario without studies has no answers line."""
    for studies, expected in ((True, [
            "[   4.0s] Ray is up",
            "[   5.4s] the chain is up and TaskMarket deployed",
            "[  10.5s] the roles are up (compute nodes staked, storage, clients)",
            "[  13.9s] the respondents' answers are encrypted and stored"]), (False, [
            "[   4.0s] Ray is up",
            "[   5.4s] the chain is up and TaskMarket deployed",
            "[  10.5s] the roles are up (compute nodes staked, storage, clients)"])):
        stream = io.StringIO()
        show = _stage_printer(studies, stream)
        for name, elapsed_s in (("ray_start", 4.0), ("chain", 5.4), ("actors", 10.5), ("answers", 13.9),
                                ("tasks", 15.3)):
            show(name, elapsed_s)
        assert stream.getvalue().splitlines() == expected
