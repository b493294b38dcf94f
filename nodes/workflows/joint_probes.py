"""Bad inputs a joint job must refuse, tried on the running market's storage: each must give its typed error."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cipherquorum.exceptions import CipherQuorumError

DESCRIBED_CHARS = 110
"""How much of an error's message a report row shows."""


@dataclass(frozen=True)
class ProbeResult:
    """One bad input: what it was, the error that had to come back, and what did."""

    case: str
    expected: str
    got: str

    @property
    def ok(self) -> bool:
        """Whether the expected error came back."""
        return self.got.split(":", 1)[0] == self.expected


def run_probes(cases: list[tuple[str, str, Callable[[], object]]]) -> list[ProbeResult]:
    """Try each ``(case, expected error class name, attempt)``; record the error it raised, or "accepted"."""
    results = []
    for case, expected, attempt in cases:
        try:
            attempt()
            got = "accepted"
        except CipherQuorumError as exc:
            got = f"{type(exc).__name__}: {exc}"
        results.append(ProbeResult(case, expected, got))
    return results


def probe_rows(results: list[ProbeResult]) -> list[list[str]]:
    """The rows of a report's "Bad input" table."""
    return [[r.case, r.expected, r.got[:DESCRIBED_CHARS], "yes" if r.ok else "NO"] for r in results]
