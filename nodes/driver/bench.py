"""``cipherquorum bench``: run a scenario end to end, then measure its pure FHE cost and its raw chain ceiling."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cipherquorum.devnet import RpcMethodStats
from cipherquorum.exceptions import RunInterrupted, ValidationError
from cipherquorum.measurement.phases import phase_summaries, summaries_as_dict
from cipherquorum.nodes.driver.fhe_pass import load_jobs, measure_fhe
from cipherquorum.nodes.driver.replay import ReplayTask, ReplicaVote, replay_chain
from cipherquorum.nodes.driver.runner import MarketRun
from cipherquorum.nodes.driver.stack import MAX_BLOB_BYTES, data_folder
from cipherquorum.nodes.storage_host import open_blob_store
from cipherquorum.reports.bench import BenchReport, phase_table, usable_cores
from cipherquorum.reports.run import RunReport, TaskReport
from cipherquorum.settings.scenario import Scenario
from cipherquorum.types import BlobId, TaskEnd

DEFAULT_REPLAYS = 3
"""Chain replays a bench takes the median of: one replay's time varied 0.51-0.92 s on a shared 2-core machine."""


def run_bench(scenario: Scenario, *, data_dir: str | Path | None = None, ray_address: str = "",
              on_stage: Callable[[str], None] | None = None,
              replays: int = DEFAULT_REPLAYS) -> tuple[BenchReport, RunReport]:
    """Measure ``scenario`` three ways, one after another on this machine, and return the bench and run reports.

    (c) the end-to-end run on Ray; (a) every replica's program on the run's own ciphertexts, in this process;
    (b) the run's transactions replayed ``replays`` times, each on a fresh devnet (the chain time is their
    median). The run's blobs are read from ``data_dir``, so the storage must be local; by default a new
    temporary folder, removed when the bench ends. Raises ValidationError for fewer than one replay,
    RunInterrupted if the run did not finish every task, and the errors of MarketRun, the FHE pass and the replay.
    """
    if isinstance(replays, bool) or not isinstance(replays, int) or replays < 1:
        raise ValidationError(f'"replays" must be an integer >= 1 (got {replays!r})')
    with data_folder(data_dir, "cq-bench-") as folder:
        return _bench(scenario, folder, ray_address, on_stage or (lambda _: None), replays)


def _bench(scenario: Scenario, folder: Path, ray_address: str, stage: Callable[[str], None],
           replays: int) -> tuple[BenchReport, RunReport]:
    stage("(c) end-to-end run")
    run = MarketRun(scenario, ray_address=ray_address, data_dir=folder)
    report = run.run()
    metrics = run.metrics
    if report.interrupted or metrics is None or any(t.status is TaskEnd.UNFINISHED for t in report.tasks):
        raise RunInterrupted("the end-to-end run did not finish every task; nothing to compare it with")
    clients = {task.task_id: task for task in metrics.tasks}

    stage("(a) FHE programs back to back, in this process")
    store = open_blob_store(folder, MAX_BLOB_BYTES)
    jobs = load_jobs(store, [(BlobId(clients[t.id].manifest_ref), len(t.votes)) for t in report.tasks])
    fhe = measure_fhe(store, jobs)

    stage("(b) the same transactions sent straight to a fresh devnet" + (f", {replays} times" if replays > 1 else ""))
    replay_tasks = [ReplayTask(clients[t.id].client, t.program, _votes(t)) for t in report.tasks]
    costs = sorted((replay_chain(scenario, replay_tasks) for _ in range(replays)), key=lambda cost: cost.chain_s)
    chain = costs[len(costs) // 2]  # the median (the upper one of an even count), whose RPC work is reported

    startup = {name: round(seconds, 3) for name, seconds in report.timings_s.items() if name != "tasks"}
    bench = BenchReport(
        scenario=scenario.run.name, tasks=len(report.tasks), verified=report.all_verified, cores=usable_cores(),
        e2e_s=metrics.tasks_s, fhe_cpu_s=fhe.cpu_s, fhe_wall_s=fhe.wall_s, fhe_runs=fhe.runs,
        fhe_key_load_s=fhe.key_load_s, chain_s=chain.chain_s, chain_transactions=chain.transactions,
        chain_replays_s=tuple(cost.chain_s for cost in costs),
        e2e_transactions=len(metrics.transactions), transactions_by_function=metrics.transactions_by_function(),
        gas_per_task=metrics.gas_used / len(report.tasks), startup_s=startup,
        e2e_chain_rpc=_rpc_table(metrics.chain_rpc), replay_chain_rpc=_rpc_table(chain.rpc),
        respondents=max((s.respondents for s in report.studies), default=0),
        roles_peak_rss_bytes={usage.role: usage.max_rss_bytes for usage in metrics.usage},
        phases=phase_table(summaries_as_dict(phase_summaries(metrics.spans))))
    return bench, report


def _rpc_table(rpc: dict[str, RpcMethodStats]) -> dict[str, dict[str, float]]:
    return {method: {"calls": stats.calls, "busy_s": round(stats.busy_s, 4), "cpu_s": round(stats.cpu_s, 4)}
            for method, stats in rpc.items()}


def _votes(task: TaskReport) -> tuple[ReplicaVote, ...]:
    """The task's votes in assignment order; replicas that revealed the same hash share a result class."""
    classes: dict[str, int] = {}
    votes = []
    for vote in task.votes:
        result_class = classes.setdefault(vote.result_hash, len(classes)) if vote.revealed else 0
        votes.append(ReplicaVote(commits=vote.committed, reveals=vote.revealed, result_class=result_class))
    return tuple(votes)


__all__ = ["run_bench"]
