"""Benchmark the market study of seed 000 end to end at 1,000 and 10,000 respondents on the real market.

Each size runs ``scenarios/market_study.toml`` with its respondents (and every planted behaviour) scaled, then
prints, per stage (keys, profiles, surveys, rooms, authentication, matching, answers), the wall time and chain
transactions per respondent, and the authentication-plus-matching transactions per respondent (target <= 0.25).
A size whose counts do not all equal what the scenario implies is reported as failed.

    .venv/bin/python benchmarks/market_study.py --respondents 1000 10000 --json reports/market_study_bench.json
"""
from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from cipherquorum.nodes.driver.runner import MarketRun
from cipherquorum.settings.scenario import parse_scenario
from cipherquorum.settings.toml import read_toml_file

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "market_study.toml"
SCALED = ("replaced_bundles", "bad_keys", "wrong_pins", "late_answers", "second_connections", "replays",
          "profile_updates", "stale_updates", "locked_answers")
TARGET_TX_PER_RESPONDENT = 0.25


def scaled_document(document: dict[str, Any], respondents: int) -> dict[str, Any]:
    """The scenario with ``respondents`` and every planted count scaled from its 1,000-respondent values."""
    scaled = copy.deepcopy(document)
    section = scaled["market_study"]
    factor = respondents / section["respondents"]
    section["respondents"] = respondents
    for key in SCALED:
        if key in section:
            section[key] = max(1, round(section[key] * factor))
    section["shards"] = max(section.get("shards", 2), 2 * max(1, respondents // 5000))
    section["impostors"] = 0  # the attack is a check of the scenario, not a cost of the flow
    scaled["run"]["name"] = f"market-study-bench-{respondents}"
    return scaled


def run_size(document: dict[str, Any], respondents: int, data_root: Path) -> dict[str, Any]:
    """Run one size; return its cost table, its checks' verdict and its wall time."""
    scenario = parse_scenario(scaled_document(document, respondents), f"{SCENARIO.name} x{respondents}")
    start_s = time.monotonic()
    report = MarketRun(scenario, data_dir=data_root / f"n{respondents}").run()
    wall_s = time.monotonic() - start_s
    (section,) = [s for s in report.workflows if s.name == "market_study"]
    return {"respondents": respondents, "ok": section.ok, "wall_s": wall_s,
            "failed_checks": [c["what"] for c in section.data["checks"] if not c["ok"]],
            "stages": section.data["cost"]["stages"],
            "auth_and_match_transactions_per_respondent":
                section.data["cost"]["auth_and_match_transactions_per_respondent"]}


def print_size(result: dict[str, Any]) -> None:
    """Print one size's table."""
    auth_match = result["auth_and_match_transactions_per_respondent"]
    verdict = "ok" if result["ok"] else f"FAILED {result['failed_checks']}"
    print(f"\n{result['respondents']:,} respondents: {result['wall_s']:.0f} s, counts {verdict}; authentication + "
          f"matching {auth_match:.4f} tx/respondent (target <= {TARGET_TX_PER_RESPONDENT})")
    print(f"{'stage':<15} {'wall_s':>8} {'tasks':>6} {'tx':>6} {'ms/resp':>9} {'tx/resp':>9}")
    for stage in result["stages"]:
        print(f"{stage['stage']:<15} {stage['wall_s']:>8.1f} {stage['tasks']:>6} {stage['transactions']:>6} "
              f"{stage['ms_per_respondent']:>9.2f} {stage['transactions_per_respondent']:>9.4f}")


def main() -> int:
    """Run the sizes asked for; exit 1 if a size's counts fail or it misses the transaction target."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--respondents", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    parser.add_argument("--data-dir", metavar="DIR", help="where the runs' storage goes (default: a temporary one)")
    args = parser.parse_args()
    document, _ = read_toml_file(SCENARIO)
    results = []
    with tempfile.TemporaryDirectory(prefix="cq-market-bench-") as tmp:
        root = Path(args.data_dir) if args.data_dir else Path(tmp)
        for respondents in args.respondents:
            result = run_size(dict(document), respondents, root)
            print_size(result)
            results.append(result)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2))
    good = all(r["ok"] and r["auth_and_match_transactions_per_respondent"] <= TARGET_TX_PER_RESPONDENT
               for r in results)
    return 0 if good else 1


if __name__ == "__main__":
    raise SystemExit(main())
