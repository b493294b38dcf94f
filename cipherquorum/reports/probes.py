"""Bad inputs a workflow tries on the running market: each must come back as its typed error or agreed status."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cipherquorum.exceptions import CipherQuorumError

DESCRIBED_CHARS = 110
"""How much of an error's message a report row shows."""


@dataclass(frozen=True)
class Probe:
    """One bad input: what it was, the error class (or agreed status) that had to come back, and what did."""

    case: str
    expected: str
    got: str

    @property
    def ok(self) -> bool:
        """Whether the expected error class or status came back ("Name: message", or the status alone)."""
        return self.got.split(":", 1)[0] == self.expected


def run_probes(cases: Sequence[tuple[str, str, Callable[[], object]]]) -> list[Probe]:
    """Try each ``(case, expected error class name, attempt)``; record the error it raised, or "accepted"."""
    results = []
    for case, expected, attempt in cases:
        try:
            attempt()
            got = "accepted"
        except CipherQuorumError as exc:
            got = f"{type(exc).__name__}: {exc}"
        results.append(Probe(case, expected, got))
    return results


def probe_rows(results: Sequence[Probe]) -> list[list[str]]:
    """The rows of a report's "Bad input" table: case, expected, what came back, ok."""
    return [[r.case, r.expected, r.got[:DESCRIBED_CHARS], "yes" if r.ok else "NO"] for r in results]


__all__ = ["DESCRIBED_CHARS", "Probe", "probe_rows", "run_probes"]
