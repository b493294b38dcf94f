"""A scenario runs on a multi-node Ray cluster, joined by address, with the chain and storage placed by resource."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CLUSTER_RUN = Path(__file__).parent / "cluster_run.py"


def test_run_joins_a_two_node_cluster_and_completes(scenario_path, tmp_path: Path) -> None:
    """Joining a two-node cluster by address, a small study completes and verifies as it does locally."""
    done = subprocess.run([sys.executable, str(CLUSTER_RUN), str(scenario_path("small")), str(tmp_path / "data")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["nodes"] == 2
    tasks = result["report"]["tasks"]
    assert tasks and all(t["status"] == "completed" and t["verified"] for t in tasks)
