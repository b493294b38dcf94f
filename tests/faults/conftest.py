"""Fixtures of the fault suite: run a scenario from the command line and kill -9 one role's process during it.

- ``run_with_fault(scenario, role, when)`` runs ``cipherquorum run`` on the session's Ray and, once the moment
  ``when`` names has come (a key of TRIGGERS, or BEFORE_RELEASE), sends SIGKILL to the process of the role's
  actor; it returns the exit code, the output and the JSON report, and fails if the run does not end within
  RUN_BOUND_S.

Pids come from Ray's actor table, looked up by the role's class (the state API of ``ray list actors`` needs the
dashboard, which a local run does not start).
"""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import ray
import ray._private.state as ray_state

from cipherquorum import cli
from cipherquorum.nodes.compute import ComputeNodeHandle
from cipherquorum.nodes.driver import runner
from cipherquorum.nodes.driver.runner import Progress

SCENARIOS = Path(__file__).parent / "scenarios"
RUN_BOUND_S = 120
"""The longest a faulted run of the suite's scenarios may take, start-up included."""
PROGRESS_INTERVAL_S = 0.05
"""How often the faulted run reports progress: the trigger is looked at this often during the tasks."""

ROLE_CLASSES = {
    "storage": "StorageHost",
    "clients": "ClientPool",
    "chain": "ChainHost",
    "node": "ComputeNode",
    "shard": "RespondentShard",
}
"""The class each role's actor hosts, by the role's name in these tests."""


@dataclass
class RunView:
    """What a trigger sees of a running scenario: its latest progress and its data directory."""

    data_dir: Path
    progress: Progress | None = None


Trigger = Callable[[RunView], bool]


def at_first_progress(view: RunView) -> bool:
    """The tasks are created and the nodes have just started."""
    return view.progress is not None


def stored_blobs(data_dir: Path) -> int:
    """How many blobs the run's storage holds on disk."""
    blobs = data_dir / "store" / "blobs"
    return sum(1 for _ in blobs.glob("*/*")) if blobs.exists() else 0


def while_answering(view: RunView) -> bool:
    """The population has stored its first batch of answers (beside the client's key bundle and study)."""
    return stored_blobs(view.data_dir) > 2


TRIGGERS: dict[str, Trigger] = {"tasks started": at_first_progress, "answering": while_answering}
"""The moments a test can kill a role at, by name, looked at every 10 ms while the run goes on."""

BEFORE_RELEASE = "before release"
"""The moment the tasks are created and the nodes, which have fetched and computed meanwhile, are about to be
let send: the kill happens in the run's own thread, so the victim has sent nothing for any task."""


def never(view: RunView) -> bool:
    """The watcher's trigger for a kill the run's thread makes itself."""
    return False


def role_pids(role: str) -> list[int]:
    """The pids of this job's live actors of ``role``."""
    job = ray.get_runtime_context().get_job_id()
    return sorted(actor["Pid"] for actor in ray_state.actors().values()
                  if actor["ActorClassName"] == ROLE_CLASSES[role] and actor["State"] == "ALIVE"
                  and actor["JobID"] == job)


@dataclass
class FaultedRun:
    """A run of ``cipherquorum run`` during which one role was killed."""

    code: int
    stdout: str
    stderr: str
    report: dict[str, Any]
    killed_pid: int
    elapsed_s: float
    data_dir: Path
    notes: list[str] = field(default_factory=list)


class _Killer:
    """Watches a run and kills the role's process once the trigger holds (once)."""

    def __init__(self, role: str, when: Trigger, view: RunView) -> None:
        self.role, self.when, self.view = role, when, view
        self.pid = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="fault-killer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._done.wait(0.01):
            if self.when(self.view) and self.kill():
                return

    def kill(self) -> bool:
        """SIGKILL the role's first live process, and wait for it to be gone; whether there was one."""
        if self.pid:
            return True
        pids = role_pids(self.role)
        if not pids:
            return False
        self.pid = pids[0]
        os.kill(self.pid, signal.SIGKILL)
        deadline_s = time.monotonic() + 10
        while _running(self.pid) and time.monotonic() < deadline_s:
            time.sleep(0.01)
        return True


def _running(pid: int) -> bool:
    """Whether process ``pid`` still runs (a killed one that its parent has not reaped yet does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def run_with_fault(ray_runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                   capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[str, str, str], FaultedRun]]:
    """``run_with_fault(scenario, role, when)``: run tests/faults/scenarios/SCENARIO.toml from the command line,
    killing ``role`` once ``when`` holds."""
    killers: list[_Killer] = []

    def run(scenario: str, role: str, when: str) -> FaultedRun:
        data_dir = tmp_path / f"data-{scenario}-{role}"
        json_path = tmp_path / f"{scenario}-{role}.json"
        view = RunView(data_dir)
        killer = _Killer(role, never if when == BEFORE_RELEASE else TRIGGERS[when], view)
        killers.append(killer)
        if when == BEFORE_RELEASE:
            release = ComputeNodeHandle.submit_release

            def kill_then_release(node: ComputeNodeHandle) -> Any:
                killer.kill()
                return release(node)

            monkeypatch.setattr(ComputeNodeHandle, "submit_release", kill_then_release)

        class WatchedRun(runner.MarketRun):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                kwargs.update(on_progress=self._seen, progress_interval_s=PROGRESS_INTERVAL_S)
                super().__init__(*args, **kwargs)

            @staticmethod
            def _seen(progress: Progress) -> None:
                view.progress = progress

        monkeypatch.setattr(runner, "MarketRun", WatchedRun)
        result: dict[str, int] = {}
        argv = ["run", str(SCENARIOS / f"{scenario}.toml"), "--report-json", str(json_path),
                "--data-dir", str(data_dir), "--quiet"]
        thread = threading.Thread(target=lambda: result.update(code=cli.main(argv)), name="faulted-run", daemon=True)
        capsys.readouterr()
        start_s = time.monotonic()
        killer.start()
        thread.start()
        thread.join(RUN_BOUND_S)
        elapsed_s = time.monotonic() - start_s
        killer.stop()
        captured = capsys.readouterr()
        assert not thread.is_alive(), f"the run did not end within {RUN_BOUND_S} s after {role} was killed"
        assert killer.pid, f"{role} was never killed: {captured.err[-2000:]}"
        report = json.loads(json_path.read_text()) if json_path.exists() else {}
        return FaultedRun(result.get("code", -1), captured.out, captured.err, report, killer.pid, elapsed_s,
                          data_dir)

    yield run
    for killer in killers:
        killer.stop()
