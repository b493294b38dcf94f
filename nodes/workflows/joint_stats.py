"""The joint statistics workflow (seed 004): owners' rows under an analyst's key, moments on the market."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import numpy as np

from cipherquorum.fhe import SecretKeyOwner, get_preset, get_program
from cipherquorum.fhe.programs.joint import MomentSums
from cipherquorum.joint.contribution import Contribution
from cipherquorum.joint.data import OwnerShare, ShareSpec, load_dataset, pooled, seed_of, split_shares, stats_schema
from cipherquorum.joint.moments import (
    JointStatistics,
    Regression,
    largest_difference,
    lstsq_regression,
    plain_sums,
    reference_statistics,
    solve_regression,
    statistics_from_sums,
)
from cipherquorum.joint.schema import JointSchema
from cipherquorum.joint.settings import JointStatsSettings
from cipherquorum.joint.sufficient import moment_width
from cipherquorum.nodes.analyst import Analyst
from cipherquorum.nodes.client import TaskOutcome, TaskSpec
from cipherquorum.nodes.data_owner import DataOwner
from cipherquorum.nodes.hosting import ActorHost, PendingCall
from cipherquorum.nodes.workflows.context import WorkflowContext
from cipherquorum.nodes.workflows.joint_roles import start_analyst, start_owners
from cipherquorum.reports.probes import Probe, probe_rows, run_probes
from cipherquorum.reports.run import WorkflowSection, text_table
from cipherquorum.types import BlobId, ExecStatus

PROGRAMS = {"masked": "sum@1", "encrypted_rows": "joint_moments@1"}
"""The program each mode runs: the sum of masked moment vectors, or the products of encrypted rows."""
STATS_TOLERANCE = 1e-9
"""Largest |difference| allowed between the statistics from the decrypted sums and numpy's on the same rows."""
EXACT_FIT_TOLERANCE = 1e-6
"""Regression against np.linalg.lstsq on the same fixed-point rows: at most this times the largest |coefficient|."""
RAW_FIT_TOLERANCE = 5e-3
"""Regression against np.linalg.lstsq on the raw float rows: at most this times the largest |coefficient| (the
fixed point rounds each feature at 1/feature_scale)."""
OWNER_TIMEOUT_S = 600.0


def drive(settings: JointStatsSettings, context: WorkflowContext) -> WorkflowSection:
    """Split the data set over the owners; in "masked" mode each masks its exact local sums with the pairwise
    masks of every owner and encrypts them under the analyst's key, and sum@1 adds them on the market (the
    masks cancel); in "encrypted_rows" mode each encrypts its rows and joint_moments@1 multiplies them. The
    analyst decrypts the pooled sums; compare with numpy on the pooled rows."""
    seed = seed_of(context.seed, settings.section)
    dataset = load_dataset(settings.dataset)
    schema = stats_schema(dataset, settings.feature_scale, settings.target_scale)
    preset = get_preset(settings.preset)
    masked = settings.mode == "masked"
    program_ref = PROGRAMS[settings.mode]
    program = get_program(program_ref)
    params: dict[str, Any] = {"width": moment_width(len(schema.columns))} if masked else {
        "columns": len(schema.columns) + 1, "bounds": schema.bounds, "row_slots": preset.row_slots}
    job = f"{context.seed}/{settings.section}"
    max_rows = settings.rows or dataset.rows

    start_s = time.monotonic()
    analyst = start_analyst(context, settings.preset, program.key_needs(params), "analyst", "the analyst")
    bundle_ref = analyst.call("key_bundle_ref", timeout_s=OWNER_TIMEOUT_S)
    keys_s = time.monotonic() - start_s
    specs = [ShareSpec(settings.dataset, settings.owners, k, seed, settings.rows) for k in range(settings.owners)]
    owners = start_owners(context, specs, "joint")
    for call in [owner.submit("fetch_key", bundle_ref) for owner in owners]:  # started, with the key, untimed
        call.result(OWNER_TIMEOUT_S)
    roster: list[str] = [call.result(OWNER_TIMEOUT_S) for call in
                         [owner.submit("publish_masking_key") for owner in owners]] if masked else []
    start_s = time.monotonic()
    pending = [_contribute(owner, settings, job, schema, bundle_ref, max_rows, roster) for owner in owners]
    contributions: list[Contribution] = [call.result(OWNER_TIMEOUT_S) for call in pending]
    encrypt_s = time.monotonic() - start_s
    names = [c.owner for c in contributions]
    input_refs = analyst.call("inputs_of", job, names, schema.digest())

    spec = TaskSpec(label=f"{settings.section}/moments", program=program_ref, input_refs=tuple(input_refs),
                    params=params, key_bundle_ref=bundle_ref, preset=settings.preset)
    start_s = time.monotonic()
    (outcome,) = context.run_tasks(context.clients[0], [spec])
    market_s = time.monotonic() - start_s
    succeeded = outcome.proof_verified and outcome.status is ExecStatus.SUCCESS
    start_s = time.monotonic()
    sums: MomentSums | None = None
    if succeeded:
        sums = analyst.call("decrypt_moments", outcome, job, names, schema, max_rows) if masked else \
            analyst.call("decrypt_aggregate", outcome, job, names, schema.digest())
    decrypt_s = time.monotonic() - start_s

    # The plaintext reference: the checker pools the same shares (no role ever does).
    shares, _ = split_shares(dataset, settings.owners, seed, settings.rows)
    encoded = schema.encode(pooled(shares).table(), "pooled")
    expected = plain_sums(encoded)
    real_rows = schema.decode(encoded)
    reference = reference_statistics(real_rows)
    exact_fit = lstsq_regression(real_rows[:, :-1], real_rows[:, -1])
    everyone = pooled(shares)
    raw_fit = lstsq_regression(everyone.features, everyone.target)
    sizes = {
        "bundle_bytes": context.stack.store.size(bundle_ref),
        "input_bytes": sum(context.stack.store.size(ref) for ref in input_refs),
        "result_bytes": sum(len(blob) for blob in outcome.outputs),
    }
    timings = {"keys_s": keys_s, "encrypt_s": encrypt_s, "market_s": market_s, "decrypt_s": decrypt_s}
    probes = _probe_bad_inputs(context, settings, schema, seed, analyst, owners, bundle_ref, max_rows, roster,
                               params) if settings.bad_inputs else []
    return _section(settings, schema, outcome, contributions, sums, expected, reference, exact_fit, raw_fit,
                    sizes, timings, probes)


def _contribute(owner: ActorHost[DataOwner], settings: JointStatsSettings, job: str, schema: JointSchema,
                bundle_ref: BlobId, max_rows: int, roster: list[str]) -> PendingCall[Contribution]:
    """Start one owner's contribution in the settings' mode."""
    if settings.mode == "masked":
        return owner.submit("contribute_moments", job, schema, bundle_ref, max_rows, roster)
    return owner.submit("contribute_rows", job, schema, bundle_ref, max_rows)


def _probe_bad_inputs(context: WorkflowContext, settings: JointStatsSettings, schema: JointSchema, seed: int,
                      analyst: ActorHost[Analyst], owners: list[ActorHost[DataOwner]], bundle_ref: BlobId,
                      max_rows: int, roster: list[str], params: dict[str, Any]) -> list[Probe]:
    """The bad inputs of issue 11, tried against the market's storage and the running roles: a misbehaving
    owner's rows (here, in the driver's process), a job too large for the plain modulus, an owner under another
    analyst's key, and (masked mode) an owner that masked for another set of owners, its sum run on the market.
    Each must give its typed error, naming the value."""
    store = context.stack.store
    share = ShareSpec(settings.dataset, settings.owners, 0, seed, settings.rows).load()
    narrow = OwnerShare("owner-narrow", share.features[:, :-1], share.target)
    column = schema.columns[2]
    bad_value = round(column.high + 0.7, 6)
    shifted = share.features.copy()
    shifted[0, 2] = bad_value
    outside = OwnerShare("owner-outside", shifted, share.target)
    foreign = SecretKeyOwner.generate(settings.preset)  # another analyst's key pair (only its public key is used)
    foreign_ref = store.put(foreign.bundle.to_bytes())
    job = f"{context.seed}/{settings.section}/probe"
    last = len(owners) - 1

    method = "contribute_moments" if settings.mode == "masked" else "contribute_rows"
    extra: tuple[list[str], ...] = (roster,) if settings.mode == "masked" else ()

    def mismatched_keys() -> object:
        names = [owner.call(method, f"{job}-keys", schema, foreign_ref if k == last else bundle_ref,
                            max_rows, *extra).owner for k, owner in enumerate(owners)]
        return analyst.call("inputs_of", f"{job}-keys", names, schema.digest())

    def foreign_roster() -> object:
        """owner-last masks for the roster without owner-1: its masks do not cancel the others'."""
        names = [owner.call(method, f"{job}-roster", schema, bundle_ref, max_rows,
                            [name for name in roster if name != roster[1]] if k == last else roster).owner
                 for k, owner in enumerate(owners)]
        refs = analyst.call("inputs_of", f"{job}-roster", names, schema.digest())
        spec = TaskSpec(label=f"{settings.section}/probe-roster", program=PROGRAMS["masked"],
                        input_refs=tuple(refs), params=params, key_bundle_ref=bundle_ref, preset=settings.preset)
        (outcome,) = context.run_tasks(context.clients[0], [spec])
        return analyst.call("decrypt_moments", outcome, f"{job}-roster", names, schema, max_rows)

    def own(share: OwnerShare, suffix: str) -> Callable[[], object]:
        return lambda: getattr(DataOwner(store, share), method)(f"{job}-{suffix}", schema, bundle_ref, max_rows,
                                                                *extra)

    cases: list[tuple[str, str, Callable[[], object]]] = [
        (f"rows of {len(schema.columns) - 1} columns, not {len(schema.columns)}", "OwnerDataError",
         own(narrow, "narrow")),
        (f"{column.name} = {bad_value:g}, outside [{column.low:g}, {column.high:g}]", "OwnerDataError",
         own(outside, "outside")),
        ("a job of 10,000,000 rows (its sums could wrap)", "PlainCapacityExceeded",
         lambda: owners[0].call(method, f"{job}-big", schema, bundle_ref, 10_000_000, *extra)),
        (f"owner-{last} encrypts under another analyst's key", "OwnerKeyMismatch", mismatched_keys),
    ]
    if settings.mode == "masked":
        cases.append((f"owner-{last} masks for the owners without {roster[1]}", "MaskedTotalInvalid",
                      foreign_roster))
    return run_probes(cases)


def _section(settings: JointStatsSettings, schema: JointSchema, outcome: TaskOutcome,
             contributions: list[Contribution], sums: MomentSums | None, expected: MomentSums,
             reference: JointStatistics, exact_fit: Regression, raw_fit: Regression, sizes: dict[str, int],
             timings: dict[str, float], probes: list[Probe]) -> WorkflowSection:
    names = schema.names
    rows = expected.count
    data: dict[str, Any] = {
        "dataset": settings.dataset, "owners": settings.owners, "rows": rows, "preset": settings.preset,
        "mode": settings.mode, "program": PROGRAMS[settings.mode],
        "feature_scale": settings.feature_scale, "target_scale": settings.target_scale, "columns": list(names),
        "task": outcome.task_id, "status": outcome.status.name if outcome.status is not None else None,
        "proof_verified": outcome.proof_verified, "winners": list(outcome.winners), "proof_block": outcome.proof_block,
        "chunks": {c.owner: len(c.input_refs) for c in contributions},
        "reference": {"sums": asdict(expected), "statistics": asdict(reference),
                      "regression_fixed_point": asdict(exact_fit), "regression_raw": asdict(raw_fit)},
        "tolerances": {"statistics_abs": STATS_TOLERANCE, "regression_vs_fixed_point_rel": EXACT_FIT_TOLERANCE,
                       "regression_vs_raw_rel": RAW_FIT_TOLERANCE},
        **sizes, **{key: round(value, 4) for key, value in timings.items()},
        "market_s_per_row": round(timings["market_s"] / rows, 6),
        "encrypt_s_per_row": round(timings["encrypt_s"] / rows, 6),
        "input_bytes_per_row": round(sizes["input_bytes"] / rows, 1),
        "probes": [{**asdict(probe), "ok": probe.ok} for probe in probes],
    }
    if sums is None:
        data.update(ok=False, sums=None, detail=outcome.detail or "no verified result")
        text = "\n".join(text_table("Joint statistics", ["task", "status", "detail"],
                                    [[str(outcome.task_id), str(data["status"]), data["detail"]]]))
        return WorkflowSection(settings.section, False, data, text)
    stats = statistics_from_sums(sums, schema)
    fit = solve_regression(sums, schema)
    scale = float(np.max(np.abs(raw_fit.as_array())))
    checks = {
        "sums_equal": sums == expected,
        "statistics_equal": largest_difference(stats, reference) <= STATS_TOLERANCE,
        "regression_equals_lstsq": largest_difference(fit, exact_fit) <= EXACT_FIT_TOLERANCE * scale,
        "regression_near_raw_lstsq": largest_difference(fit, raw_fit) <= RAW_FIT_TOLERANCE * scale,
    }
    ok = all(checks.values()) and all(probe.ok for probe in probes)
    data.update(ok=ok, checks=checks, sums=asdict(sums), statistics=asdict(stats), regression=asdict(fit),
                largest_differences={"statistics": largest_difference(stats, reference),
                                     "regression_vs_fixed_point": largest_difference(fit, exact_fit),
                                     "regression_vs_raw": largest_difference(fit, raw_fit)})
    text = _text(data, names, stats, reference, fit, exact_fit, raw_fit)
    if probes:
        text += "\n" + "\n".join(text_table("Bad input (each refused with its typed error)",
                                            ["case", "expected", "got", "ok"], probe_rows(probes)))
    return WorkflowSection(settings.section, ok, data, text)


def _text(data: dict[str, Any], names: tuple[str, ...], stats: JointStatistics, reference: JointStatistics,
          fit: Regression, exact_fit: Regression, raw_fit: Regression) -> str:
    summary = [[data["dataset"], str(data["owners"]), str(data["rows"]), str(data["task"]),
                f"{len(data['winners'])} @ block {data['proof_block']}", f"{data['market_s']:.1f}",
                f"{1000 * data['market_s_per_row']:.2f}", f"{data['input_bytes'] / 1e6:.2f}",
                "yes" if data["checks"]["sums_equal"] else "NO"]]
    lines = text_table(f"Joint statistics ({data['mode']}: {data['program']} on the market)",
                       ["data", "owners", "rows", "task", "proof (winners)", "market s", "ms/row", "input MB",
                        "sums exact"], summary)
    target = len(names) - 1
    columns = [[name, f"{stats.means[j]:.6g}", f"{reference.means[j]:.6g}", f"{stats.variances[j]:.6g}",
                f"{reference.variances[j]:.6g}", f"{stats.correlation[j][target]:+.4f}",
                f"{reference.correlation[j][target]:+.4f}"] for j, name in enumerate(names)]
    lines += text_table("Per column: FHE vs numpy on the pooled rows",
                        ["column", "mean", "numpy", "variance", "numpy", "corr(target)", "numpy"], columns)
    coefficients = [["intercept", f"{fit.intercept:.4f}", f"{exact_fit.intercept:.4f}", f"{raw_fit.intercept:.4f}"]]
    coefficients += [[name, f"{b:.4f}", f"{e:.4f}", f"{r:.4f}"] for name, b, e, r in
                     zip(names[:-1], fit.coefficients, exact_fit.coefficients, raw_fit.coefficients)]
    lines += text_table(f"Regression of {names[-1]} (normal equations from the decrypted sums)",
                        ["term", "FHE", "lstsq fixed point", "lstsq raw"], coefficients)
    diffs = data["largest_differences"]
    lines.append(f"largest differences: statistics {diffs['statistics']:.2e} (<= {STATS_TOLERANCE:g}); regression "
                 f"vs lstsq on the fixed-point rows {diffs['regression_vs_fixed_point']:.2e}, vs lstsq on the raw rows "
                 f"{diffs['regression_vs_raw']:.2e}; verdict {'ok' if data['ok'] else 'MISMATCH'}")
    return "\n".join(lines)
