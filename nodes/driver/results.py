"""Study results: the parameters a question's programs take, and how chunked task results combine."""
from __future__ import annotations

from collections.abc import Sequence

from cipherquorum.fhe import get_program
from cipherquorum.fhe.programs.base import PlainVector
from cipherquorum.settings.scenario import STUDY_PROGRAMS, Question

__all__ = ["STUDY_PROGRAMS", "combine_results", "task_reference"]


def task_reference(program: str, question: Question,
                   plain_inputs: Sequence[Sequence[int]]) -> tuple[list[PlainVector], object]:
    """The vectors a task's result must decrypt to, and the human result they decode to."""
    prog = get_program(program)
    params = question.program_params(program)
    vectors = prog.reference(plain_inputs, params)
    return vectors, prog.decode(vectors, params)


def combine_results(program: str, question: Question,
                    decrypted: Sequence[Sequence[Sequence[float]]]) -> object:
    """Add up the decrypted result vectors of a question's tasks and decode the total.

    Every study program is additive over its inputs (sums, counts, sums of squares), so the result over all
    answers is the slot-wise sum of the results over disjoint chunks of them.
    """
    prog = get_program(program)
    params = question.program_params(program)
    total: list[list[float]] = []
    for task_vectors in decrypted:
        for index, vector in enumerate(task_vectors):
            if index == len(total):
                total.append([0] * len(vector))
            total[index] = [a + b for a, b in zip(total[index], vector)]
    return prog.decode(total, params)
