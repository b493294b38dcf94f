"""The run report names a fault in its text and its JSON, apart from an interruption by Ctrl-C."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cipherquorum.reports.run import RoleFault, RunReport

CLIENTS_DIED = RoleFault("clients", "the client pool's process died while the tasks ran")
STORAGE_RESTARTED = RoleFault("storage", "the storage's process died and restarted on its data directory")


@pytest.mark.parametrize(("case", "fields", "in_header", "lines", "not_in_text"), [
    ("a clean run", {}, "", [], ["FAULT", "INTERRUPTED", "survived:"]),
    ("interrupted by Ctrl-C", {"interrupted": True}, "[INTERRUPTED: partial]", [], ["FAULT"]),
    ("ended by a role that died", {"fault": CLIENTS_DIED},
     "[FAULT: the client pool's process died while the tasks ran]",
     ["fault: the client pool's process died while the tasks ran; the run ended early"], ["INTERRUPTED"]),
    ("a restart survived", {"survived": (STORAGE_RESTARTED,)}, "",
     ["survived: the storage's process died and restarted on its data directory"], ["FAULT", "INTERRUPTED"]),
])
def test_the_report_names_the_fault_that_ended_the_run_and_those_it_survived(
        case: str, fields: dict, in_header: str, lines: list[str], not_in_text: list[str], tmp_path: Path) -> None:
    """The header and a line name a fatal fault; survived faults get a line each; the JSON holds both."""
    report = RunReport(scenario="faults", seed="s", tasks=(), nodes=(), studies=(), **fields)
    text = report.render_text()
    header = text.splitlines()[0]
    assert in_header in header
    for line in lines:
        assert any(rendered.startswith(line) for rendered in text.splitlines()), text
    for absent in not_in_text:
        assert absent not in text
    data = json.loads(report.write_json(tmp_path / "report.json").read_text())
    fault = fields.get("fault")
    assert data["fault"] == ({"role": fault.role, "cause": fault.cause} if fault else None)
    assert data["survived"] == [{"role": f.role, "cause": f.cause} for f in fields.get("survived", ())]
    assert data["interrupted"] is fields.get("interrupted", False)
