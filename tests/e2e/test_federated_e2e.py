"""Federated learning end to end on the real stack: owners' encrypted updates summed on the market each round."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cipherquorum.reports.run import RunReport

SCENARIO = Path(__file__).parent / "scenarios" / "federated_small.toml"


@pytest.mark.slow
def test_each_round_sums_the_updates_exactly_and_the_model_learns(run_scenario: Callable[[Path], RunReport]) -> None:
    """Both rounds' sums reach consensus with the wrong node outvoted and equal the plaintext sums exactly; the
    averaged model classifies the held-out rows well, near the centrally trained one; each bad input is refused."""
    report = run_scenario(SCENARIO)
    (section,) = [s for s in report.workflows if s.name == "federated"]
    data = section.data
    assert section.ok, section.text
    assert [r["round"] for r in data["rounds"]] == [0, 1]
    assert all(r["sum_equal"] and r["winners"] == 2 and r["proof_block"] > 0 for r in data["rounds"])
    assert data["central_accuracy"] > 0.85
    assert data["final_accuracy"] > 0.8
    assert [(p["expected"], p["ok"]) for p in data["probes"]] == [
        ("OwnerDataError", True), ("PlainCapacityExceeded", True), ("OwnerKeyMismatch", True)]
    assert "owner-2 used" in data["probes"][2]["got"]
    assert "Federated learning" in section.text and "Bad input" in section.text
