"""The path cluster.yaml documents: a Ray head with the chain and storage resources, a scenario run as a Ray Job."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from cipherquorum.nodes.hosting import CHAIN_RESOURCE, STORAGE_RESOURCE

BIN = Path(sys.executable).parent
HEAD_START_TIMEOUT_S = 90
JOB_TIMEOUT_S = 300
AGENT_WAIT_S = 60
"""How long a submit may be refused because the head's job agent is not up yet."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def ray_head(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A `ray start --head` of its own (custom resources as in cluster.yaml), stopped with its process group.

    Yields the dashboard address that `ray job submit` talks to and the environment to submit with. Only this
    head's processes are stopped: `ray stop` would end every Ray on the machine.
    """
    env = {**os.environ, "RAY_AUTH_MODE": "token"}
    dashboard = f"http://127.0.0.1:{_free_port()}"
    resources = json.dumps({CHAIN_RESOURCE: 1, STORAGE_RESOURCE: 1})
    log = (tmp_path / "head.log").open("w")
    head = subprocess.Popen(
        [str(BIN / "ray"), "start", "--head", "--block", f"--port={_free_port()}", "--num-cpus=2",
         "--include-dashboard=true", "--dashboard-host=127.0.0.1", f"--dashboard-port={dashboard.rsplit(':', 1)[1]}",
         f"--resources={resources}",
         # ports of its own: the suite's local Ray holds the default agent ports (52365 and the like), and a
         # head whose job agent cannot bind refuses every submission ("No available agent")
         f"--dashboard-agent-listen-port={_free_port()}", f"--dashboard-agent-grpc-port={_free_port()}",
         f"--runtime-env-agent-port={_free_port()}", f"--metrics-export-port={_free_port()}"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline_s = time.monotonic() + HEAD_START_TIMEOUT_S
        while True:
            try:
                urllib.request.urlopen(f"{dashboard}/api/version", timeout=2).close()
                break
            except urllib.error.HTTPError:  # it answers (401 without the token): the dashboard is up
                break
            except OSError:
                if head.poll() is not None or time.monotonic() > deadline_s:
                    pytest.fail(f"the Ray head did not come up: {(tmp_path / 'head.log').read_text()[-2000:]}")
                time.sleep(1)
        yield dashboard, env
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(head.pid, signal.SIGKILL)  # the head's raylet, GCS and dashboard, if they outlived it
        except ProcessLookupError:
            pass
        head.wait(timeout=10)
        log.close()


@pytest.mark.slow
def test_a_scenario_submitted_as_a_ray_job_joins_the_cluster_and_completes(
        ray_head: tuple[str, dict[str, str]], scenario_path, tmp_path: Path) -> None:
    """`ray job submit -- cipherquorum run FILE --address auto` runs on the head and writes a verified report."""
    dashboard, env = ray_head
    report_path = tmp_path / "report.json"
    command = [str(BIN / "ray"), "job", "submit", "--address", dashboard, "--",
               str(BIN / "cipherquorum"), "run", str(scenario_path("small")), "--address", "auto", "--quiet",
               "--report-json", str(report_path), "--data-dir", str(tmp_path / "data")]
    deadline_s = time.monotonic() + AGENT_WAIT_S
    while True:
        submitted = subprocess.run(command, env=env, capture_output=True, text=True, timeout=JOB_TIMEOUT_S)
        agent_missing = "No available agent to submit job" in submitted.stdout + submitted.stderr
        if not agent_missing or time.monotonic() > deadline_s:
            break
        time.sleep(2)  # the dashboard answers before its job agent has registered
    assert submitted.returncode == 0, submitted.stdout[-3000:] + submitted.stderr[-3000:]
    assert "succeeded" in submitted.stdout + submitted.stderr
    report = json.loads(report_path.read_text())
    assert report["tasks"] and all(t["status"] == "completed" and t["verified"] for t in report["tasks"])
    assert all(s["verified"] for s in report["studies"])
