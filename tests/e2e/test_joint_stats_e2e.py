"""Joint statistics end to end on the real stack: three owners' rows, one replicated task, the analyst's sums."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cipherquorum.reports.run import RunReport

SCENARIO = Path(__file__).parent / "scenarios" / "joint_stats_small.toml"


@pytest.mark.slow
def test_joint_statistics_equal_the_pooled_rows_despite_a_wrong_node(run_scenario: Callable[[Path], RunReport]) -> None:
    """The sum@1 task over the owners' masked local sums reaches consensus with the wrong node outvoted, the
    decrypted sums equal the pooled fixed-point sums exactly, the statistics and regression equal numpy's within
    the stated bounds, and each bad input (rows too narrow or out of range, too many rows, another analyst's key,
    an owner masking for another set of owners) is refused by name."""
    report = run_scenario(SCENARIO)
    (section,) = [s for s in report.workflows if s.name == "joint_stats"]
    data = section.data
    assert section.ok, section.text
    assert data["checks"] == {"sums_equal": True, "statistics_equal": True, "regression_equals_lstsq": True,
                              "regression_near_raw_lstsq": True}
    assert data["rows"] == data["sums"]["count"] == 120 and data["owners"] == 3
    assert data["sums"] == data["reference"]["sums"]
    assert data["proof_verified"] and data["status"] == "SUCCESS" and data["proof_block"] > 0
    assert len(data["winners"]) == 2  # the wrong node's hash did not count
    assert data["chunks"] == {"owner-0": 1, "owner-1": 1, "owner-2": 1}
    assert data["mode"] == "masked" and data["program"] == "sum@1"
    assert [(p["expected"], p["ok"]) for p in data["probes"]] == [
        ("OwnerDataError", True), ("OwnerDataError", True), ("PlainCapacityExceeded", True), ("OwnerKeyMismatch", True),
        ("MaskedTotalInvalid", True)]
    assert "owner-2 used" in data["probes"][3]["got"] and "(got 0.9)" in data["probes"][1]["got"]
    for title in ("Joint statistics", "Per column", "Regression of target", "Bad input"):
        assert title in section.text
