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


def test_validate_refuses_a_chain_the_run_could_not_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """validate checks what run checks before any role starts: a missing anvil binary, an rpc_url that does not
    answer; each exits 1 naming the problem, as run would."""
    quickstart = (SCENARIOS / "quickstart.toml").read_text()
    anvil = tmp_path / "anvil.toml"
    anvil.write_text(quickstart.replace("[chain]", '[chain]\nbackend = "anvil"', 1))
    monkeypatch.setenv("CIPHERQUORUM_ANVIL", str(tmp_path / "no-anvil-here"))
    assert main(["validate", str(anvil)]) == 1
    assert "anvil" in capsys.readouterr().err
    external = tmp_path / "external.toml"
    external.write_text(quickstart.replace("[chain]", '[chain]\nrpc_url = "http://127.0.0.1:9"', 1))
    assert main(["validate", str(external)]) == 1
    assert "ChainUnavailable" in capsys.readouterr().err
