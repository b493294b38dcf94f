"""A role that died for good ends a load test with EXIT_ROLE_DIED and one line naming the role."""
from __future__ import annotations

from pathlib import Path

import pytest

from cipherquorum.cli import EXIT_ROLE_DIED, main
from cipherquorum.exceptions import RoleDied
from cipherquorum.nodes.driver import loadgen

LOAD_SCENARIO = Path(__file__).parents[2] / "scenarios" / "load.toml"


def test_a_load_test_whose_client_pool_died_exits_with_its_code_and_names_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`cipherquorum load` exits EXIT_ROLE_DIED and says which role died and which call found it."""

    class DyingLoad:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def run(self) -> None:
            raise RoleDied("clients", "the client pool", "clients.finished")

    monkeypatch.setattr(loadgen, "LoadRun", DyingLoad)
    assert main(["load", str(LOAD_SCENARIO), "--out", str(tmp_path), "--quiet"]) == EXIT_ROLE_DIED
    assert "cipherquorum: the client pool's process died (clients.finished)" in capsys.readouterr().err
