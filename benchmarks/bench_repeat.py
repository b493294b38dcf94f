"""Run ``cipherquorum bench`` several times and print the median, min and max of each figure (machines are noisy)."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

FIGURES = ("e2e_s", "chain_s", "fhe_cpu_s", "ideal_s", "overhead_ratio", "txs_per_task")


def run_once(scenario: str, folder: Path, index: int) -> dict:
    """Run one bench into ``folder`` and return its JSON; raises CalledProcessError if the bench fails."""
    out = folder / f"bench-{index}.json"
    subprocess.run([sys.executable, "-m", "cipherquorum.cli", "bench", scenario, "--json", str(out), "--quiet",
                    "--data-dir", str(folder / f"data-{index}")], check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the arguments, run the benches and print one line per run and a summary."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenario", nargs="?", default="scenarios/quickstart.toml")
    parser.add_argument("--runs", type=int, default=5, help="bench runs (default 5)")
    parser.add_argument("--json", help="also write every run and the medians to this JSON file")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="cq-bench-repeat-"))
    runs = []
    for index in range(args.runs):
        load = os.getloadavg()[0]
        data = run_once(args.scenario, folder, index)
        data["load_average_1m"] = round(load, 2)
        runs.append(data)
        print(f"run {index + 1}: " + ", ".join(f"{name} {data[name]:.3f}" for name in FIGURES)
              + f" (1-min load average before: {load:.2f})", flush=True)
    medians = {name: statistics.median(run[name] for run in runs) for name in FIGURES}
    for name in FIGURES:
        values = [run[name] for run in runs]
        print(f"{name:16} median {medians[name]:8.3f}   min {min(values):8.3f}   max {max(values):8.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": runs, "medians": medians}, indent=2) + "\n")


if __name__ == "__main__":
    main()
