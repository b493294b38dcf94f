"""The market-study workflow (seed 000): keys, profiles, surveys, rooms, the PIN game and the profile match as
market tasks, answers aggregated on the market, every count checked against what the scenario implies."""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from cipherquorum.fhe import SecretKeyOwner, get_program
from cipherquorum.marketstudy.catalogue import everything_of_survey
from cipherquorum.marketstudy.client import SurveyClient, match_params
from cipherquorum.marketstudy.impostor import STRATEGIES, Impostor
from cipherquorum.marketstudy.keys import BUNDLE_KIND, KeyOutcome, KeyReport
from cipherquorum.marketstudy.matching import Audience, TargetGroup
from cipherquorum.marketstudy.plan import RespondentPlan, expect_room, final_profile, plan_respondents
from cipherquorum.marketstudy.settings import (
    MATCH_BLOCKS,
    MATCH_PRESET,
    RESPONDENT_PRESET,
    MarketStudySettings,
    SurveySettings,
)
from cipherquorum.marketstudy.survey import SurveyState
from cipherquorum.nodes.client import TaskOutcome, TaskSpec
from cipherquorum.nodes.hosting import ActorHost
from cipherquorum.nodes.respondent_pool import PinResponse, RespondentPoolShard, SurveyAnswers
from cipherquorum.nodes.room import RoomRole, Verdict
from cipherquorum.nodes.workflows.context import WorkflowContext
from cipherquorum.reports.run import WorkflowSection, text_table
from cipherquorum.storage import IndexedStore
from cipherquorum.types import BlobId, ExecStatus

STAGES = ("keys", "profiles", "surveys", "rooms", "authentication", "attack", "matching", "answers")
"""The timed stages; "attack" is the impostors' extra challenges, not part of the per-respondent flow."""


@dataclass
class StageCost:
    """What one stage took: wall time, chain transactions and market tasks."""

    stage: str
    wall_s: float = 0.0
    transactions: int = 0
    tasks: int = 0


class _Meter:
    """Times the stages and counts the chain transactions mined during each (blocks read back from the chain)."""

    def __init__(self, context: WorkflowContext) -> None:
        self._market = context.stack.market
        self.costs = {name: StageCost(name) for name in STAGES}

    @contextmanager
    def stage(self, name: str) -> Iterator[StageCost]:
        cost = self.costs[name]
        first_block = self._market.block_number() + 1
        start_s = time.monotonic()
        try:
            yield cost
        finally:
            cost.wall_s += time.monotonic() - start_s
            last_block = self._market.block_number()
            if last_block >= first_block:
                cost.transactions += len(self._market.transactions(first_block, last_block))


@dataclass
class Check:
    """One count the run must reach: what it is, what the scenario implies, what the run found."""

    what: str
    expected: Any
    found: Any

    @property
    def ok(self) -> bool:
        """Whether the run found what the scenario implies."""
        return bool(self.expected == self.found)


@dataclass
class _Run:
    settings: MarketStudySettings
    context: WorkflowContext
    plan: RespondentPlan
    shards: list[ActorHost[RespondentPoolShard]]
    owner_of: dict[str, int]
    meter: _Meter
    checks: list[Check] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    text: list[str] = field(default_factory=list)

    @property
    def store(self) -> IndexedStore:
        return self.context.stack.store

    def check(self, what: str, expected: Any, found: Any) -> None:
        self.checks.append(Check(what, expected, found))

    def on_shards(self, method: str, per_shard: Callable[[int], tuple] | None = None) -> list[Any]:
        """Call ``method`` on every shard at once (``per_shard(i)`` gives shard i's arguments); results in order."""
        calls = [host.submit(method, *(per_shard(i) if per_shard else ())) for i, host in enumerate(self.shards)]
        return [call.result() for call in calls]

    def split(self, users: Sequence[Any], key: Callable[[Any], str] = lambda item: item) -> list[list[Any]]:
        """``users`` (or items naming one) grouped by the shard that hosts each."""
        parts: list[list[Any]] = [[] for _ in self.shards]
        for item in users:
            parts[self.owner_of[key(item)]].append(item)
        return parts


def _successful(outcomes: Sequence[TaskOutcome]) -> bool:
    return all(o.proof_verified and o.status is ExecStatus.SUCCESS for o in outcomes)


# --- stages ----------------------------------------------------------------------------------


def _keys(run: _Run, clients: list[ActorHost[SurveyClient]]) -> list[KeyReport]:
    with run.meter.stage("keys"):
        client_reports = [report for host in clients for report in host.call("provide_keys")]
        first = [report for part in run.on_shards("provide_keys") for report in part]
        replaced = sorted(run.plan.with_behaviour("replaced_bundles"))
        if replaced:  # someone publishes a foreign bundle under these respondents' names
            stranger = run.store.put(SecretKeyOwner.generate(RESPONDENT_PRESET).bundle.to_bytes())
            run.store.publish_many([(name, BUNDLE_KIND, RESPONDENT_PRESET, stranger) for name in replaced])
        second = [report for part in run.on_shards("provide_keys") for report in part]
    outcomes = Counter(r.outcome.value for r in second)
    regenerated = sorted(r.user for r in second if r.outcome is KeyOutcome.REGENERATED)
    run.check("respondent keys generated", len(run.plan.names), sum(r.outcome is KeyOutcome.GENERATED for r in first))
    run.check("client key sets generated", 2 * len(clients),
              sum(r.outcome is KeyOutcome.GENERATED for r in client_reports))
    run.check("replaced bundles found and regenerated", replaced, regenerated)
    run.check("respondent keys at version 3 (own, foreign, new)", len(replaced), sum(r.version == 3 for r in second))
    run.data["keys"] = {"respondents": len(second), "client_key_sets": len(client_reports),
                        "check": dict(outcomes), "refused": {"foreign key bundle": len(regenerated)},
                        "versions": dict(Counter(str(r.version) for r in second))}
    run.text += text_table("Market study: keys", ["users", "generated", "checked", "regenerated", "refusal"],
                           [[str(len(second)), str(len(first)), str(outcomes.get("checked", 0)),
                             str(outcomes.get("regenerated", 0)), "foreign key bundle"]])
    return second


def _profiles(run: _Run) -> None:
    updaters, stale = sorted(run.plan.updaters), sorted(run.plan.stale)
    with run.meter.stage("profiles"):
        first = [v for part in run.on_shards("publish_profiles") for v in part]
        stale_parts = run.split(stale)
        updated = run.on_shards("update_profiles", lambda i: (run.split(updaters)[i], stale_parts[i]))
        read = [row for part in run.on_shards("read_profiles") for row in part]
    refusals = [message for _, part in updated for message in part]
    versions = Counter(str(version) for _, version, _ in read)
    run.check("first profile versions", [1] * len(run.plan.names), first)
    run.check("profiles at version 2", len(updaters), versions.get("2", 0))
    run.check("stale profile changes refused", len(stale), len(refusals))
    run.check("profiles read back and decrypted", len(read), sum(ok for *_, ok in read))
    run.data["profiles"] = {"published": len(first), "updated": len(updaters), "versions": dict(versions),
                            "read_back_equal": sum(ok for *_, ok in read),
                            "refused": {"stale profile version": len(refusals)}, "refusal_example": refusals[:1]}
    run.text += text_table("Market study: profiles (versions)",
                           ["respondents", "v1", "v2", "read back ok", "stale refused"],
                           [[str(len(read)), str(versions.get("1", 0)), str(versions.get("2", 0)),
                             str(sum(ok for *_, ok in read)), str(len(refusals))]])


@dataclass
class _SurveyResult:
    survey: SurveySettings
    joins: Counter[str]
    auth: dict[str, int]
    authenticated: list[str]
    matched: list[str]
    states: list[str]
    aggregates: list[dict[str, Any]]
    catalogue: int
    change_refusal: str
    locked_refusals: int
    attack: dict[str, Any]


def _survey(run: _Run, index: int, survey: SurveySettings, client: ActorHost[SurveyClient],
            bundles: dict[str, BlobId]) -> _SurveyResult:
    settings, context, plan = run.settings, run.context, run.plan
    client_account, room_account = context.clients[2 * index], context.clients[2 * index + 1]
    states = []
    with run.meter.stage("surveys"):
        client.call("start")
        states.append(client.call("survey_state").value)
        change_refusal = client.call("try_change")
        room = context.host(RoomRole, f"room-{survey.survey_id}", survey.survey_id, survey.audience,
                            settings.pin_rules, run.store, name=f"market-room-{index}", title=f"room {index}")
        room.call("follow", SurveyState.STARTED)

    expectation = expect_room(plan, [final_profile(i, n in plan.updaters) for i, n in enumerate(plan.names)],
                              Audience.of(survey.audience), TargetGroup.of(survey.target_group))
    with run.meter.stage("rooms"):
        join_verdicts: list[Verdict] = room.call("join_many", [(name, f"{name}/browser-1") for name in plan.names])
        second = plan.with_behaviour("second_connections")  # a second instance while the first one is live
        join_verdicts += room.call("join_many", [(v.user, f"{v.user}/browser-2") for v in join_verdicts
                                                 if v.accepted and v.user in second])
    joins = Counter(v.reason or "joined" for v in join_verdicts)
    joined = sorted({v.user for v in join_verdicts if v.accepted})

    with run.meter.stage("authentication") as cost:
        foreign = plan.with_behaviour("bad_keys")
        presented = [(name, bundles[plan.names[(plan.names.index(name) + 1) % len(plan.names)]]
                      if name in foreign else bundles[name]) for name in joined]
        challenges, verdicts = room.call("challenge_many", presented)
        parts = run.split(challenges, key=lambda c: c[0])
        pins = [pin for part in run.on_shards("encrypt_pins", lambda i: (parts[i], settings.pin_rules.mask_slots,
                                                                         survey.survey_id)) for pin in part]
        specs: list[TaskSpec] = room.call("task_specs", pins, settings.auth_batch)
        outcomes = context.run_tasks(room_account, specs)
        cost.tasks += len(specs)
        delivered = _successful(outcomes) and len(specs) > 0
        responses = [(user, challenge_id, data) for outcome, start in zip(outcomes, range(0, len(pins),
                                                                                           settings.auth_batch))
                     for (user, challenge_id, _), data in zip(pins[start:start + settings.auth_batch],
                                                              outcome.outputs)]
        room.call("deliver", [challenge_id for _, challenge_id, _ in responses])
        wrong = sorted(plan.with_behaviour("wrong_pins"))
        response_parts = run.split(responses, key=lambda r: r[0])
        answers: list[PinResponse] = [a for part in run.on_shards(
            "answer_pins", lambda i: (response_parts[i], settings.pin_rules.mask_slots, run.split(wrong)[i]))
            for a in part]
        late = plan.with_behaviour("late_answers")
        auth_verdicts: list[Verdict] = room.call("answer_many", [(a.user, a.challenge_id, a.answer)
                                                                 for a in answers if a.user not in late])
        if any(a.user in late for a in answers):
            time.sleep(settings.answer_window_s + 0.5)
            auth_verdicts += room.call("answer_many", [(a.user, a.challenge_id, a.answer)
                                                       for a in answers if a.user in late])
        accepted = {v.user for v in auth_verdicts if v.accepted}
        replays = [(a.user, a.challenge_id, a.answer) for a in answers
                   if a.user in accepted and plan.behaviour.get(a.user) == "replays"]
        auth_verdicts += room.call("answer_many", replays)
        authenticated: list[str] = room.call("authenticated")
    refusals = Counter(v.reason for v in [*verdicts, *auth_verdicts] if not v.accepted)
    tally = room.call("tally")
    with run.meter.stage("attack") as cost:
        attack = _impostors(run, room, room_account, authenticated[:settings.impostors], bundles)
        cost.tasks += attack["tasks"]

    with run.meter.stage("matching") as cost:
        blocks = min(MATCH_BLOCKS, settings.match_batch)
        criteria = client.call("criteria")
        match_bundle = client.call("bundle_ref", MATCH_PRESET)
        bundle_bytes = run.store.get(match_bundle)
        batches = [authenticated[start:start + settings.match_batch]
                   for start in range(0, len(authenticated), settings.match_batch)]
        specs = []
        for number, batch in enumerate(batches):
            placements = [(user, k % blocks) for k, user in enumerate(batch)]
            placement_parts = run.split(placements, key=lambda p: p[0])
            shared = run.on_shards("share_profiles", lambda i: (bundle_bytes, placement_parts[i], survey.survey_id))
            by_user = {user: ref for part, refs in zip(placement_parts, shared) for (user, _), ref in zip(part, refs)}
            specs.append(TaskSpec(label=f"{survey.survey_id}/match-{number}", program="profile_match@1",
                                  input_refs=(criteria, *(by_user[user] for user in batch)),
                                  params=match_params(blocks), key_bundle_ref=match_bundle, preset=MATCH_PRESET))
        outcomes_match = context.run_tasks(client_account, specs)
        cost.tasks += len(specs)
        delivered = delivered and _successful(outcomes_match)
        matched = [user for batch, outcome in zip(batches, outcomes_match)
                   for user, hit in zip(batch, client.call("matches", outcome.outputs, len(batch))) if hit]

    with run.meter.stage("answers") as cost:
        answer_bundle = run.store.get(client.call("bundle_ref", RESPONDENT_PRESET))
        matched_parts = run.split(matched)
        copies: list[SurveyAnswers] = [c for part in run.on_shards(
            "answer_survey", lambda i: (survey.survey_id, survey.questions, answer_bundle, matched_parts[i]))
            for c in part]
        client.call("receive", [(c.respondent, c.refs) for c in copies])
        states.append(client.call("advance", SurveyState.COMPLETED).value)
        room.call("follow", SurveyState.COMPLETED)
        late_copies = [c for c in copies if c.respondent in plan.locked]
        specs, questions = [], []
        for q, question in enumerate(survey.questions):
            refs = tuple(client.call("answer_refs", q))
            for program in question.programs:
                questions.append(q)
                specs.append(TaskSpec(label=f"{survey.survey_id}/q{q} {program}", program=program, input_refs=refs,
                                      params=question.program_params(program),
                                      key_bundle_ref=client.call("bundle_ref", RESPONDENT_PRESET),
                                      preset=RESPONDENT_PRESET))
        outcomes_agg = context.run_tasks(client_account, specs) if copies else []
        cost.tasks += len(specs) if copies else 0
        aggregates = []
        plain_by_user = {c.respondent: c.plain for c in copies}
        received = [c.respondent for c in copies]
        for q, spec, outcome in zip(questions, specs, outcomes_agg):
            plain = [plain_by_user[user][q] for user in received]
            reference = get_program(spec.program).plain_result(plain, spec.params)
            result = client.call("decrypt", outcome.outputs, spec.program, spec.params) \
                if outcome.proof_verified and outcome.status is ExecStatus.SUCCESS else None
            aggregates.append({"question": survey.questions[q].text, "program": spec.program,
                               "result": _plain(result), "reference": _plain(reference),
                               "equal": result == reference, "winners": len(outcome.winners),
                               "proof_block": outcome.proof_block})
        states.append(client.call("advance", SurveyState.LOCKED).value)
        room.call("follow", SurveyState.LOCKED)
        locked_verdicts = client.call("receive", [(c.respondent, c.refs) for c in late_copies])
    catalogue = len(everything_of_survey(run.store, survey.survey_id))

    expected_refused = Counter({"not a candidate": expectation.refused_joins,
                                "second connection": expectation.second_connections})
    run.check(f"{survey.survey_id}: refused joins", dict(+expected_refused), dict(+Counter(
        {k: v for k, v in joins.items() if k != "joined"})))
    run.check(f"{survey.survey_id}: joined", expectation.candidates, len(joined))
    run.check(f"{survey.survey_id}: auth refusals", dict(+Counter({
        "foreign key bundle": expectation.foreign_bundles, "wrong pin": expectation.wrong,
        "expired pin": expectation.expired, "replayed pin": expectation.replayed})), dict(+refusals))
    run.check(f"{survey.survey_id}: authenticated", list(expectation.authenticated), authenticated)
    run.check(f"{survey.survey_id}: matched", list(expectation.matched), matched)
    run.check(f"{survey.survey_id}: tasks agreed and delivered", True, delivered)
    run.check(f"{survey.survey_id}: aggregates equal references", [True] * len(specs) if copies else [],
              [a["equal"] for a in aggregates])
    run.check(f"{survey.survey_id}: states", ["started", "completed", "locked"], states)
    run.check(f"{survey.survey_id}: change refused", True, bool(change_refusal))
    run.check(f"{survey.survey_id}: locked answers refused", len(late_copies),
              sum(1 for v in locked_verdicts if v))
    run.check(f"{survey.survey_id}: impostor answers refused as wrong", attack["answers"], attack["refused"])
    return _SurveyResult(survey, joins, {"attempts": tally.attempts, "accepted": tally.accepted,
                                         "challenged": len(challenges), **dict(refusals)},
                         authenticated, matched, states, aggregates, catalogue, change_refusal,
                         sum(1 for v in locked_verdicts if v), attack)


def _impostors(run: _Run, room: ActorHost[RoomRole], room_account: int, victims: Sequence[str],
               bundles: dict[str, BlobId]) -> dict[str, Any]:
    """Impostors hold each victim's connection and know its PIN; they play the game once per strategy, read every
    blob in storage and every event and transaction on chain, and answer. Every answer must be refused."""
    if not victims:
        return {"victims": 0, "answers": 0, "refused": 0, "tasks": 0}
    slots = run.settings.pin_rules.mask_slots
    impostor = Impostor(RESPONDENT_PRESET)
    challenges, _ = room.call("challenge_many", [(v, bundles[v]) for v in victims for _ in STRATEGIES])
    victim_bundles = dict(zip(victims, run.store.get_many([bundles[v] for v in victims])))
    pin_refs = run.store.put_many([impostor.encrypt_pin(victim_bundles[user], pin, slots)
                                   for user, _, pin in challenges])
    pins = [(user, challenge_id, ref) for (user, challenge_id, _), ref in zip(challenges, pin_refs)]
    specs: list[TaskSpec] = room.call("task_specs", pins, run.settings.auth_batch)
    outcomes = run.context.run_tasks(room_account, specs)
    room.call("deliver", [challenge_id for _, challenge_id, _ in challenges])
    responses = [data for outcome in outcomes for data in outcome.outputs]
    ids = list(run.store.ids())
    for start in range(0, len(ids), 64):
        impostor.read_storage(run.store.get_many(ids[start:start + 64]))
    market = run.context.stack.market
    latest = market.block_number()
    impostor.read_chain(market.events(run.context.stack.start_block, latest),
                        len(market.transactions(run.context.stack.start_block, latest)))
    answers = [(user, challenge_id, impostor.guess(STRATEGIES[k % len(STRATEGIES)], pin, pin_ref, response,
                                                   run.store.get, slots))
               for k, ((user, challenge_id, pin), (_, _, pin_ref), response)
               in enumerate(zip(challenges, pins, responses))]
    verdicts: list[Verdict] = room.call("answer_many", answers)
    sightings = impostor.sightings()
    return {"victims": len(victims), "answers": len(answers), "tasks": len(specs),
            "refused": sum(v.reason == "wrong pin" for v in verdicts), "strategies": list(STRATEGIES),
            "read": asdict(sightings)}


def _plain(value: object) -> object:
    """A result as JSON can hold it."""
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)  # type: ignore[call-overload]
    return value


def _surveys_report(run: _Run, results: list[_SurveyResult]) -> None:
    rows_rooms, rows_auth, rows_match, rows_agg, rows_state = [], [], [], [], []
    for r in results:
        sid = r.survey.survey_id
        rows_state.append([sid, " -> ".join(r.states), str(len(r.matched)), str(r.catalogue),
                           "1" if r.change_refusal else "0", str(r.locked_refusals)])
        rows_rooms.append([sid, str(r.joins.get("joined", 0)), str(r.joins.get("not a candidate", 0)),
                           str(r.joins.get("second connection", 0))])
        rows_auth.append([sid, str(r.auth["challenged"]), str(r.auth["attempts"]), str(r.auth["accepted"]),
                          str(r.auth.get("foreign key bundle", 0)), str(r.auth.get("wrong pin", 0)),
                          str(r.auth.get("replayed pin", 0)), str(r.auth.get("expired pin", 0))])
        rows_match.append([sid, str(len(r.authenticated)), str(len(r.matched)),
                           f"{len(r.matched) / max(1, len(r.authenticated)):.1%}"])
        rows_agg += [[sid, a["question"][:32], a["program"], str(a["result"])[:48], str(a["reference"])[:48],
                      "yes" if a["equal"] else "NO"] for a in r.aggregates]
    run.text += text_table("Market study: surveys (states and counts)",
                           ["survey", "states", "copies", "indexed blobs", "changes refused", "locked refused"],
                           rows_state)
    run.text += text_table("Market study: rooms", ["survey", "joined", "refused: not a candidate",
                                                   "refused: second connection"], rows_rooms)
    run.text += text_table("Market study: authentication",
                           ["survey", "challenged", "attempts", "accepted", "foreign bundle", "wrong", "replayed",
                            "expired"], rows_auth)
    run.text += text_table("Market study: impostors (no secret key; every blob in storage and the chain read)",
                           ["survey", "victims", "answers", "refused", "blobs read", "MB read", "events read",
                            "transactions read"],
                           [[r.survey.survey_id, str(r.attack["victims"]), str(r.attack["answers"]),
                             str(r.attack["refused"]), str(r.attack.get("read", {}).get("blobs", 0)),
                             f'{r.attack.get("read", {}).get("blob_bytes", 0) / 1e6:.1f}',
                             str(r.attack.get("read", {}).get("events", 0)),
                             str(r.attack.get("read", {}).get("transactions", 0))]
                            for r in results if r.attack["victims"]])
    run.text += text_table("Market study: matches", ["survey", "authenticated", "matched", "share"], rows_match)
    run.text += text_table("Market study: aggregates", ["survey", "question", "program", "decrypted", "reference",
                                                        "equal"], rows_agg)
    run.data["surveys"] = [{"survey": r.survey.survey_id, "states": r.states, "copies": len(r.matched),
                            "indexed_blobs": r.catalogue, "changes_refused": int(bool(r.change_refusal)),
                            "locked_refused": r.locked_refusals} for r in results]
    run.data["rooms"] = [{"survey": r.survey.survey_id, "joined": r.joins.get("joined", 0),
                          "refused": {k: v for k, v in r.joins.items() if k != "joined"}} for r in results]
    run.data["authentication"] = [{"survey": r.survey.survey_id, **r.auth, "impostors": r.attack} for r in results]
    run.data["matches"] = [{"survey": r.survey.survey_id, "authenticated": len(r.authenticated),
                            "matched": len(r.matched)} for r in results]
    run.data["aggregates"] = [{"survey": r.survey.survey_id, **a} for r in results for a in r.aggregates]


def _cost_report(run: _Run) -> None:
    respondents = len(run.plan.names)
    rows, costs = [], []
    for cost in run.meter.costs.values():
        ms, tx = 1e3 * cost.wall_s / respondents, cost.transactions / respondents
        rows.append([cost.stage, f"{cost.wall_s:.2f}", str(cost.tasks), str(cost.transactions), f"{ms:.2f}",
                     f"{tx:.4f}"])
        costs.append({**asdict(cost), "ms_per_respondent": ms, "transactions_per_respondent": tx})
    auth_match = sum(run.meter.costs[s].transactions for s in ("authentication", "matching")) / respondents
    run.data["cost"] = {"stages": costs, "auth_and_match_transactions_per_respondent": auth_match}
    run.text += text_table(f"Market study: cost per respondent ({respondents} respondents; authentication and "
                           f"matching: {auth_match:.4f} transactions per respondent)",
                           ["stage", "wall_s", "tasks", "transactions", "ms/respondent", "tx/respondent"], rows)


def drive(settings: MarketStudySettings, context: WorkflowContext) -> WorkflowSection:
    """Run every flow of seed 000 on the market and check each count against the scenario's implication."""
    plan = plan_respondents(settings, context.seed)
    store = context.stack.store
    count = len(plan.names)
    per_shard = -(-count // settings.shards)
    indexes = [list(range(start, min(count, start + per_shard))) for start in range(0, count, per_shard)]
    shards = [context.host(RespondentPoolShard, context.seed, i, part, store, name=f"market-respondents-{i}",
                           title=f"market-study respondent shard {i}") for i, part in enumerate(indexes)]
    owner_of = {plan.names[i]: shard for shard, part in enumerate(indexes) for i in part}
    run = _Run(settings, context, plan, shards, owner_of, _Meter(context))
    blocks = min(MATCH_BLOCKS, settings.match_batch)
    clients = [context.host(SurveyClient, f"client-{survey.survey_id}", survey, context.seed, blocks, store,
                            name=f"market-client-{i}", title=f"market-study client {i}")
               for i, survey in enumerate(settings.surveys)]
    run.on_shards("respondent_names")  # the processes are up before the first stage is timed
    for client in clients:
        client.call("survey_state")
    reports = _keys(run, clients)
    bundles = {report.user: report.bundle_ref for report in reports}
    _profiles(run)
    results = [_survey(run, i, survey, client, bundles)
               for i, (survey, client) in enumerate(zip(settings.surveys, clients))]
    _surveys_report(run, results)
    _cost_report(run)
    ok = all(check.ok for check in run.checks)
    failed = [check for check in run.checks if not check.ok]
    run.data["checks"] = [{"what": c.what, "expected": c.expected, "found": c.found, "ok": c.ok}
                          for c in run.checks]
    run.text += text_table("Market study: checks against the scenario", ["check", "expected", "found", "ok"],
                           [[c.what, str(c.expected)[:40], str(c.found)[:40], "yes" if c.ok else "NO"]
                            for c in run.checks])
    if failed:
        run.text.append(f"{len(failed)} market-study check(s) failed: {', '.join(c.what for c in failed)}")
    return WorkflowSection("market_study", ok, run.data, "\n".join(run.text))
