"""The ``cipherquorum`` command line: run scenarios, validate them, list programs, load-test and benchmark."""
from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from cipherquorum.exceptions import CipherQuorumError, RoleDied, ScenarioError, ValidationError
from cipherquorum.settings.scenario import load_scenario

Number = TypeVar("Number", int, float)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_FLAGGED = 3
"""verify: the proof holds, but an advisory check flags it (a consensus reached against a dissenting node)."""
EXIT_ROLE_DIED = 4
"""run, load, bench: a role's process died for good (the client pool, the chain, a respondent shard while it
answered, a storage that was not restarted) and the run ended early; one line on stderr names the role, and
run's report holds what was known by then. A compute node that dies, or a storage that restarts, is not this."""
EXIT_THRESHOLDS_FAILED = 99
"""A load test or benchmark ran, but crossed one of its thresholds (k6's code for the same)."""
EXIT_INTERRUPTED = 130


def _progress_printer(stream=sys.stderr):
    """Return a callback that shows run progress on one line (a TTY) or as periodic lines."""
    tty = stream.isatty()
    last = {"line": ""}

    def show(progress) -> None:
        if progress.planned:
            counts = (f"tasks {progress.created}/{progress.planned} created, {progress.committed} commits, "
                      f"{progress.revealed} reveals, {progress.finalized}/{progress.planned} finalized")
        elif progress.phase == "tasks":
            return  # a scenario of workflows alone plans no study tasks
        else:  # a workflow creates its tasks as it goes
            counts = (f"{progress.phase}: {progress.created} tasks created, {progress.committed} commits, "
                      f"{progress.revealed} reveals, {progress.finalized} finalized")
        counts += f" ({progress.no_consensus} without consensus)" if progress.no_consensus else ""
        if counts == last["line"]:  # the clock alone moved: nothing new to show
            return
        last["line"] = counts
        line = f"[{progress.elapsed_s:6.1f}s] {counts}"
        if tty:
            stream.write("\r" + line.ljust(100))
        else:
            stream.write(line + "\n")
        stream.flush()

    return show


STAGE_LINES = {"ray_start": "Ray is up", "chain": "the chain is up and TaskMarket deployed",
               "actors": "the roles are up (compute nodes staked, storage, clients)",
               "answers": "the respondents' answers are encrypted and stored"}
"""What ``run`` prints as each start-up stage ends; the task stage shows as progress lines instead."""


def _stage_printer(studies: bool, stream=sys.stderr):
    """Return a callback that prints one line as each start-up stage of a run ends (no answers line for a
    scenario without studies)."""
    def show(name: str, elapsed_s: float) -> None:
        if name in STAGE_LINES and (studies or name != "answers"):
            stream.write(f"[{elapsed_s:6.1f}s] {STAGE_LINES[name]}\n")
            stream.flush()

    return show


def _cmd_run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    from cipherquorum.nodes.driver.runner import MarketRun  # Ray is imported only when a run starts

    runs = [f"{scenario.population.respondents} respondents"] if scenario.studies else []
    runs += [f"[{settings.section}]" for settings in scenario.workflows]
    print(f"running {args.scenario}: {scenario.node_count} compute nodes "
          f"({', '.join(sorted(set(scenario.node_behaviours())))}), {', '.join(runs)}, "
          f"r={scenario.market.replication} q={scenario.market.quorum}", file=sys.stderr)
    run = MarketRun(scenario, ray_address=args.address or "", data_dir=args.data_dir,
                    on_progress=None if args.quiet else _progress_printer(),
                    on_stage=None if args.quiet else _stage_printer(bool(scenario.studies)),
                    check_proofs=bool(args.html))
    report = run.run()
    if not args.quiet:
        sys.stderr.write("\n")
    print(report.render_text())
    if args.report_json:
        path = report.write_json(args.report_json)
        print(f"JSON report written to {path}")
    if args.html:
        from cipherquorum.reports.run_page import render_run_html

        target = Path(args.html)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_run_html(report), encoding="utf-8")
        print(f"run page written to {target}")
    if report.fault is not None:
        print(f"cipherquorum: {report.fault.cause}", file=sys.stderr)
        return EXIT_ROLE_DIED
    if report.interrupted:
        return EXIT_INTERRUPTED
    failed = [section.name for section in report.workflows if not section.ok]
    if failed:
        print(f"cipherquorum: the results of {', '.join(failed)} do not all equal their plaintext references",
              file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _cmd_bench(args: argparse.Namespace) -> int:
    from cipherquorum.reports.bench import check_max_overhead

    scenario = load_scenario(args.scenario)
    from cipherquorum.nodes.driver.bench import run_bench

    def stage(name: str) -> None:
        if not args.quiet:
            print(f"bench: {name}", file=sys.stderr, flush=True)

    bench, _ = run_bench(scenario, data_dir=args.data_dir, ray_address=args.address or "", on_stage=stage,
                         replays=args.replays)
    print(bench.render_text(), end="")
    if args.json:
        print(f"JSON written to {bench.write_json(args.json)}")
    failures = check_max_overhead(bench, args.max_overhead)
    for failure in failures:
        print(f"threshold crossed: {failure}", file=sys.stderr)
    return EXIT_THRESHOLDS_FAILED if failures else EXIT_OK


def _live_printer(stream=sys.stderr):
    """Return a callback that shows a load test's live stats on one line (a TTY) or as periodic lines."""
    tty = stream.isatty()

    def show(live) -> None:
        def seconds(value: float) -> str:
            return "-" if value != value else f"{value:.2f}s"  # NaN until a task completes

        line = (f"[{live.elapsed_s:6.1f}s] {live.released}/{live.planned} released, {live.completed} done, "
                f"{live.failed} failed, {live.in_flight} in flight, {live.throughput_per_s:.2f} tasks/s, "
                f"p50 {seconds(live.p50_s)} p95 {seconds(live.p95_s)} p99 {seconds(live.p99_s)}")
        stream.write(("\r" + line.ljust(110)) if tty else line + "\n")
        stream.flush()

    return show


def _cmd_load(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from cipherquorum.reports.load import build_load_report, write_load_report
    from cipherquorum.settings.load import load_load_scenario, load_plan, parse_threshold
    from cipherquorum.settings.scenario import check_plan

    scenario, config = load_load_scenario(args.scenario)
    try:
        overrides: dict = {}
        if args.tasks is not None:
            overrides["tasks"] = args.tasks
        if args.concurrency is not None:
            overrides.update(concurrency=args.concurrency, arrival_rate_per_s=0.0)
        if args.rate is not None:
            overrides.update(arrival_rate_per_s=args.rate, concurrency=0)
        if args.ramp is not None:
            overrides["ramp_s"] = args.ramp
        if args.no_replay:
            overrides["replay"] = False
        if args.threshold:
            overrides["thresholds"] = tuple(parse_threshold(text) for text in args.threshold)
        config = replace(config, **overrides)
        check_plan(scenario, load_plan(scenario, config))  # what the overrides ask for must be payable too
    except ValidationError as exc:
        print(f"cipherquorum: invalid load option: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    from cipherquorum.nodes.driver.loadgen import LoadRun

    mode = (f"{config.arrival_rate_per_s:g} tasks/s" if config.open_model else f"concurrency {config.concurrency}")
    print(f"load {args.scenario}: {config.tasks} tasks at {mode}, ramp {config.ramp_s:g} s, {config.clients} clients, "
          f"{config.inputs_per_task} inputs per task", file=sys.stderr)
    measured = LoadRun(scenario, config, ray_address=args.address or "", data_dir=args.data_dir,
                       on_live=None if args.quiet else _live_printer()).run()
    if not args.quiet:
        sys.stderr.write("\n")
    report = build_load_report(measured)
    print(report.render_text(), end="")
    for path in write_load_report(report, measured, args.out):
        print(f"wrote {path}")
    if measured.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if report.passed else EXIT_THRESHOLDS_FAILED


def _cmd_validate(args: argparse.Namespace) -> int:
    from cipherquorum.nodes.driver.stack import check_chain

    scenario = load_scenario(args.scenario)
    check_chain(scenario, len(scenario.studies), clustered=False)  # what run checks before any role starts
    print(f"{args.scenario}: valid ({scenario.node_count} nodes, {len(scenario.studies)} studies)")
    return EXIT_OK


def _cmd_programs(args: argparse.Namespace) -> int:
    from cipherquorum.fhe import PRESETS, get_program, list_programs

    for ref in list_programs():
        program = get_program(ref)
        presets = ", ".join(name for name, preset in PRESETS.items() if preset.supports(ref))
        print(f"{ref:20} {program.scheme:5} [{presets}]\n{'':20} {program.summary}")
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    from cipherquorum.chain import TaskMarket
    from cipherquorum.protocol import checked_address, checked_uint, failed_checks, flagged_checks
    from cipherquorum.verify import open_run_store, verify_task

    try:
        task_id = checked_uint("--task", _positive_int(args.task), 256)
        market_address = checked_address("--market", args.market)
        store = open_run_store(args.data_dir)
        market = TaskMarket(args.rpc_url, market_address)
    except argparse.ArgumentTypeError as exc:
        print(f"cipherquorum: cannot verify: --task {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except CipherQuorumError as exc:  # a bad address, URL or data dir; no chain or no contract there
        print(f"cipherquorum: cannot verify: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    checks = verify_task(market, store, task_id, args.from_block)
    width = max(len(check.name) for check in checks)
    for check in checks:
        verdict = "PASS" if check.ok else "FLAG" if check.advisory else "FAIL"
        print(f"{check.name:{width}}  {verdict}  {check.detail}")
    failed, flagged = failed_checks(checks), flagged_checks(checks)
    if failed:
        print(f"task {task_id}: NOT verified ({', '.join(failed)} failed)")
        return EXIT_FAILED
    print(f"task {task_id}: verified ({len(checks) - len(flagged)} checks pass)"
          + (f", flagged: {', '.join(flagged)}" if flagged else ""))
    return EXIT_FLAGGED if flagged else EXIT_OK


def _cmd_sweep(args: argparse.Namespace) -> int:
    from cipherquorum.reports.sweep import render_text, write_sweep_report
    from cipherquorum.study import load_sweep, parse_override, run_sweep

    overrides = [parse_override(text) for text in args.set or ()]
    if args.trials is not None:
        overrides.append(("trials", args.trials))
    if args.seed:
        overrides.append(("seeds", list(args.seed)))
    if args.mode is not None:
        overrides.append(("mode", args.mode))
    config = load_sweep(args.sweep, overrides)
    if args.line:
        config = config.only(args.line)
    print(f"sweep {args.sweep}: {config.size} grid points in {len(config.lines)} lines, {config.mode} mode",
          file=sys.stderr)

    def show(result, done: int, total: int) -> None:
        if not args.quiet:
            print(f"[{done}/{total}] {result.point.label}: {result.trials} trials, "
                  f"{result.trials_per_s:.3g} trials/s", file=sys.stderr, flush=True)

    run_trials = None
    if config.mode == "real":  # each point on a full market: Ray is imported only then
        from cipherquorum.nodes.driver.sweep_real import real_trials_in

        run_trials = real_trials_in(Path(args.out) / "data")
    try:
        sweep = run_sweep(config, on_point=show, run_trials=run_trials)
    except ValidationError as exc:
        print(f"cipherquorum: cannot sweep: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(render_text(sweep), end="")
    for path in write_sweep_report(sweep, args.out):
        print(f"wrote {path}")
    return EXIT_OK


def _bounded(convert: Callable[[str], Number], low: Number, *, low_allowed: bool,
             what: str) -> Callable[[str], Number]:
    """An argparse type: ``convert(text)`` if finite and above ``low`` (or equal to it when ``low_allowed``),
    or a usage error naming the value."""

    def parse(text: str) -> Number:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what} (got {text!r})") from None
        if not math.isfinite(value) or value < low or (value == low and not low_allowed):
            raise argparse.ArgumentTypeError(f"must be {what} (got {text!r})")
        return value

    return parse


_positive_float = _bounded(float, 0.0, low_allowed=False, what="a number > 0")
_non_negative_float = _bounded(float, 0.0, low_allowed=True, what="a number >= 0")
_positive_int = _bounded(int, 1, low_allowed=True, what="an integer >= 1")
_block_number = _bounded(int, 0, low_allowed=True, what="a block number >= 0")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cipherquorum",
        description="Simulate a market for confidential FHE computation with consensus-based proof of execution.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the roles do")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run a scenario file and print its report")
    run.add_argument("scenario", help="scenario TOML file, e.g. scenarios/quickstart.toml")
    run.add_argument("--report-json", metavar="PATH", help="also write the JSON report to PATH")
    run.add_argument("--html", metavar="PATH", help="also write the run page to PATH: each task's timeline, votes, "
                     "slashes and its proof as a third party checks it")
    run.add_argument("--address", metavar="ADDR", help="join the Ray cluster at ADDR ('auto' on a cluster node)")
    run.add_argument("--data-dir", metavar="DIR", help="storage directory (default cq-data/<scenario name>)")
    run.add_argument("--quiet", action="store_true", help="do not show progress")
    run.set_defaults(handler=_cmd_run)

    validate = commands.add_parser("validate", help="check a scenario file without running it")
    validate.add_argument("scenario")
    validate.set_defaults(handler=_cmd_validate)

    bench = commands.add_parser(
        "bench", help="measure a scenario's end-to-end time against its pure FHE cost and raw chain ceiling")
    bench.add_argument("scenario", help="scenario TOML file, e.g. scenarios/quickstart.toml")
    bench.add_argument("--json", metavar="PATH", help="write the benchmark's JSON to PATH")
    bench.add_argument("--data-dir", metavar="DIR",
                       help="storage directory of the run, kept (default: a new temporary one, removed after)")
    bench.add_argument("--address", metavar="ADDR", help="join the Ray cluster at ADDR (storage must be local)")
    bench.add_argument("--max-overhead", type=_positive_float, metavar="RATIO",
                       help=f"exit with code {EXIT_THRESHOLDS_FAILED} if e2e / ideal exceeds RATIO")
    bench.add_argument("--replays", type=_positive_int, default=3, metavar="N",
                       help="replay the run's transactions N times, each on a fresh devnet, and take the median "
                            "chain time (default 3)")
    bench.add_argument("--quiet", action="store_true", help="do not show the stages")
    bench.set_defaults(handler=_cmd_bench)

    load = commands.add_parser("load", help="load-test the market: many tasks at a concurrency or arrival rate")
    load.add_argument("scenario", help="scenario TOML file with a [load] table, e.g. scenarios/load.toml")
    load.add_argument("--out", metavar="DIR", default="reports/load",
                      help="folder for load.json, tasks.csv, phases.csv, timeline.csv and report.html")
    load.add_argument("--tasks", type=_positive_int, metavar="N", help="tasks to run (overrides load.tasks)")
    mode = load.add_mutually_exclusive_group()
    mode.add_argument("--concurrency", type=_positive_int, metavar="N", help="keep at most N tasks in flight")
    mode.add_argument("--rate", type=_positive_float, metavar="PER_S", help="start PER_S tasks a second")
    load.add_argument("--ramp", type=_non_negative_float, metavar="S", help="ramp up over S seconds")
    load.add_argument("--threshold", action="append", metavar="NAME=LIMIT",
                      help="fail (exit 99) past LIMIT: p50_latency_s, p95_latency_s, p99_latency_s, "
                           "failure_rate, min_throughput_per_s; repeatable, replaces the file's")
    load.add_argument("--address", metavar="ADDR", help="join the Ray cluster at ADDR")
    load.add_argument("--data-dir", metavar="DIR",
                      help="storage directory, kept (default: a new temporary one, removed after)")
    load.add_argument("--quiet", action="store_true", help="do not show live stats")
    load.add_argument("--no-replay", action="store_true",
                      help="skip the replay of the tasks on a fresh chain that measures the chain's ceiling")
    load.set_defaults(handler=_cmd_load)

    verify = commands.add_parser(
        "verify", help="check a finished task's proof of execution from the chain and storage alone")
    verify.add_argument("--rpc-url", required=True, metavar="URL", help="JSON-RPC URL of the chain")
    verify.add_argument("--market", required=True, metavar="ADDRESS", help="the TaskMarket contract's address")
    verify.add_argument("--task", required=True, metavar="ID", help="the task id (an integer >= 1)")
    verify.add_argument("--data-dir", required=True, metavar="DIR",
                        help="the run's data directory (its blobs are in DIR/store)")
    verify.add_argument("--from-block", type=_block_number, default=0, metavar="N",
                        help="read the task's votes from block N on (the market's deployment block, "
                             "chain.deploy_block in a run's JSON report; default 0: the whole chain)")
    verify.set_defaults(handler=_cmd_verify)

    sweep = commands.add_parser(
        "sweep", help="sweep replication, quorum and byzantine share: P(wrong accepted), cost and cheater profit")
    sweep.add_argument("sweep", help="sweep TOML file with a [sweep] table, e.g. scenarios/poe_sweep.toml")
    sweep.add_argument("--out", metavar="DIR", default="reports/sweep",
                       help="folder for sweep.json, points.csv and sweep.html")
    sweep.add_argument("--trials", type=_positive_int, metavar="N", help="trials per grid point (overrides trials)")
    sweep.add_argument("--seed", action="append", metavar="SEED", help="a seed to run (repeatable; replaces seeds)")
    sweep.add_argument("--mode", choices=("contract", "real"), help="overrides mode")
    sweep.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="override a [sweep] key in every grid line, VALUE in TOML ('byzantine_share=[0.2]')")
    sweep.add_argument("--line", action="append", metavar="NAME",
                       help="run only the [[sweep.grid]] line of that name (repeatable)")
    sweep.add_argument("--quiet", action="store_true", help="do not show each point as it finishes")
    sweep.set_defaults(handler=_cmd_sweep)

    programs = commands.add_parser("programs", help="list the registered FHE programs")
    programs.set_defaults(handler=_cmd_programs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cipherquorum`` console script; returns the process exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.handler(args)
    except ScenarioError as exc:
        print(f"cipherquorum: invalid scenario: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT

    except KeyboardInterrupt:
        print("\ncipherquorum: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except RoleDied as exc:  # a load test or benchmark whose role died: no report to print
        print(f"cipherquorum: {exc.cause} ({exc.call})", file=sys.stderr)
        return EXIT_ROLE_DIED
    except CipherQuorumError as exc:
        print(f"cipherquorum: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
