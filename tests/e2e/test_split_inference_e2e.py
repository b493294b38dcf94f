"""Split inference end to end on the real stack: digits through the market and back to the model owner."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cipherquorum.reports.run import RunReport

SCENARIO = Path(__file__).parent / "scenarios" / "split_inference_small.toml"


@pytest.mark.slow
def test_digits_go_through_the_market_and_back_to_the_model_owner(run_scenario: Callable[[Path], RunReport]) -> None:
    """Each k's tasks reach consensus despite a wrong node, the owner's classes match the plaintext model, the
    oversized task ends TIMEOUT, foreign ciphertexts INPUT_INVALID, and the report has every table."""
    report = run_scenario(SCENARIO)
    (section,) = [s for s in report.workflows if s.name == "split_inference"]
    data = section.data
    assert section.ok, section.text
    assert [row["k"] for row in data["accuracy"]] == [1, 3]
    assert all(row["agreement"] == 1.0 and row["max_abs_error"] < 1e-2 for row in data["accuracy"])
    statuses = {task["label"]: task["status"] for task in data["tasks"]}
    assert statuses["user-0/k=1"] == statuses["user-1/k=3"] == "SUCCESS"
    assert statuses["user-0/foreign-params"] == "INPUT_INVALID"
    assert statuses["user-0/oversized x2"] == "TIMEOUT"
    assert all(task["verified"] and task["winners"] >= 2 and task["block"] > 0 for task in data["tasks"])
    assert {probe["expected"] for probe in data["probes"]} == {
        "ImageError", "LayerRangeError", "ModelVersionNotFound", "INPUT_INVALID"}
    assert all(probe["ok"] for probe in data["probes"])
    assert [row["k"] for row in data["leakage"]] == [1, 3]
    assert Path(data["reconstructions_svg"]).read_text().startswith("<svg")
    for title in ("Accuracy by k", "Leakage by k", "Time per layer", "FHE time against plaintext",
                  "Proof of execution", "Bad input"):
        assert title in section.text
