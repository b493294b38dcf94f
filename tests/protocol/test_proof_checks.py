"""The protocol's proof checks: dissent is flagged without failing a proof; verdicts sort into failed and flagged."""
from __future__ import annotations

import pytest

from cipherquorum.protocol import (
    Check,
    Proof,
    Reveal,
    check_dissent,
    compute_seal,
    dissenters,
    failed_checks,
    flagged_checks,
)
from cipherquorum.types import Address, ExecStatus, Hash32, TaskId

NODES = [Address(f"0x{index:040x}") for index in (1, 2, 3)]
AGREED, OTHER = Hash32(b"\x11" * 32), Hash32(b"\x22" * 32)
SALT = Hash32(b"\x33" * 32)
PROOF = Proof(TaskId(7), Hash32(b"\x01" * 32), Hash32(b"\x02" * 32), AGREED, ExecStatus.SUCCESS,
              Hash32(b"\x03" * 32), (NODES[0], NODES[1]), 99)


def _reveal(node: Address, result_hash: Hash32, status: ExecStatus = ExecStatus.SUCCESS) -> Reveal:
    return Reveal(node, compute_seal(7, result_hash, status, node, SALT), result_hash, int(status), SALT)


@pytest.mark.parametrize(("third", "expected"), [
    (_reveal(NODES[2], AGREED), ()),
    (_reveal(NODES[2], OTHER), (NODES[2],)),
    (_reveal(NODES[2], AGREED, ExecStatus.EXECUTION_ERROR), (NODES[2],)),
])
def test_dissenters_are_the_nodes_that_revealed_another_result_or_status(third: Reveal,
                                                                         expected: tuple[Address, ...]) -> None:
    """A reveal differing from the winner in hash or in status is a dissent; a matching one is not."""
    reveals = {NODES[0]: _reveal(NODES[0], AGREED), NODES[1]: _reveal(NODES[1], AGREED), NODES[2]: third}
    assert dissenters(PROOF, reveals) == expected
    check = check_dissent(PROOF, reveals)
    assert check.advisory and check.ok == (not expected)


def test_a_node_that_never_revealed_is_not_a_dissenter() -> None:
    """Only revealed results count: a silent node is a no-show, slashed by the market, not a dissent."""
    reveals = {NODES[0]: _reveal(NODES[0], AGREED), NODES[1]: _reveal(NODES[1], AGREED)}
    assert check_dissent(PROOF, reveals).ok


def test_a_failed_advisory_check_flags_without_failing() -> None:
    """failed_checks leaves advisory checks out; flagged_checks lists only the failed advisory ones."""
    checks = [Check("quorum", True), Check("seals", False), Check("dissent", False, advisory=True),
              Check("other", True, advisory=True)]
    assert failed_checks(checks) == ["seals"]
    assert flagged_checks(checks) == ["dissent"]
