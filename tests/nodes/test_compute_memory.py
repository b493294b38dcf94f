"""What a compute node keeps stays bounded: notes past MAX_NOTES go to the log only, settled tasks are forgotten."""
from __future__ import annotations

from concurrent.futures import Future
from types import SimpleNamespace

from cipherquorum.nodes.compute import MAX_NOTES, ComputeNode, _Work
from cipherquorum.types import TaskId, TaskStage


def _bare_node() -> ComputeNode:
    node = ComputeNode.__new__(ComputeNode)  # the bookkeeping alone: no chain, storage or loop
    node._config = SimpleNamespace(index=0)  # type: ignore[assignment]
    node._notes, node._work, node._created, node._computing = [], {}, {}, {}
    return node


def test_notes_stop_at_max_notes_with_one_line_saying_so() -> None:
    """A node that notes a thousand different things keeps the first MAX_NOTES and one line about the rest."""
    node = _bare_node()
    for index in range(1000):
        node._note(f"task {index}: something (will retry)")
    assert len(node._notes) == MAX_NOTES + 1
    assert node._notes[0] == "task 0: something (will retry)"
    assert "log only" in node._notes[-1]


def test_settled_tasks_and_their_computations_are_forgotten() -> None:
    """Done and failed work is dropped with its TaskCreated record and any computation made ahead for it."""
    node = _bare_node()
    ahead: Future = Future()
    for task_id, stage in ((1, TaskStage.DONE), (2, TaskStage.FAILED), (3, TaskStage.COMMITTED)):
        node._work[TaskId(task_id)] = _Work(TaskId(task_id), 3, 100, 200, stage=stage)
        node._created[TaskId(task_id)] = (b"m", b"p")
    node._computing[TaskId(2)] = ahead
    node._forget_settled()
    assert list(node._work) == [3] and list(node._created) == [3]
    assert not node._computing and ahead.cancelled()
