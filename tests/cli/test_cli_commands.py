"""The command line's quick commands: listing programs and validating scenarios, with clear exit codes."""
from __future__ import annotations

from pathlib import Path

import pytest

from cipherquorum.cli import main
from cipherquorum.fhe import list_programs

SCENARIOS = Path(__file__).parents[2] / "scenarios"


def test_programs_lists_every_registered_program_with_its_presets(capsys: pytest.CaptureFixture[str]) -> None:
    """`cipherquorum programs` names each registered program and the presets it runs on."""
    assert main(["programs"]) == 0
    out = capsys.readouterr().out
    for ref in list_programs():
        assert ref in out
    assert "bfv-2048" in out and "ckks-8192" in out


@pytest.mark.parametrize(("args", "code", "needle"), [
    (["validate", str(SCENARIOS / "quickstart.toml")], 0, "valid"),
    (["validate", "no/such/file.toml"], 2, "no such scenario file"),
    (["run", "no/such/file.toml"], 2, "no such scenario file"),
])
def test_validate_and_run_report_bad_files_with_exit_code_2(args: list[str], code: int, needle: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A valid scenario validates with exit code 0; a missing file exits 2 naming the problem."""
    assert main(args) == code
    captured = capsys.readouterr()
    assert needle in captured.out + captured.err
