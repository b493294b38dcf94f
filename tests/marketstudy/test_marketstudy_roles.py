"""The room and respondent roles as plain classes on a real storage directory, the market replaced by what a
node runs (``execute``): joins, the PIN game for many users in one task, profile shares, the survey index."""
from __future__ import annotations

from cipherquorum.fhe import KeyBundle, execute
from cipherquorum.marketstudy.catalogue import SurveyBlob, everything_of_respondent, everything_of_survey
from cipherquorum.marketstudy.room import PinRules
from cipherquorum.marketstudy.survey import SurveyState
from cipherquorum.nodes.client import TaskSpec
from cipherquorum.nodes.respondent_pool import RespondentPoolShard
from cipherquorum.nodes.room import RoomRole
from cipherquorum.storage import LocalIndexedStore
from cipherquorum.types import ExecStatus

RULES = PinRules(answer_window_s=60.0)


def _node_runs(store: LocalIndexedStore, spec: TaskSpec) -> list[bytes]:
    """What each replica does with the task: load the named bundle and inputs, run the program."""
    assert spec.key_bundle_ref is not None
    bundle = KeyBundle.from_bytes(store.get(spec.key_bundle_ref))
    outcome = execute(spec.program, bundle, store.get_many(list(spec.input_refs)), spec.params, 30.0)
    assert outcome.status is ExecStatus.SUCCESS, outcome.detail
    return list(outcome.output_bytes())


def test_a_room_authenticates_a_shard_of_users_with_one_task_and_refuses_the_rest(store: LocalIndexedStore) -> None:
    """Candidates join once (a second instance is refused), a foreign bundle is refused, one pin_mask task serves
    every other candidate, right answers pass and a wrong one fails; every blob is indexed for both sides."""
    shard = RespondentPoolShard("seed-1", 0, range(12), store)
    reports = shard.provide_keys()
    shard.publish_profiles()
    bundles = {r.user: r.bundle_ref for r in reports}
    room = RoomRole("room-s1", "s1", {"sex": [1]}, RULES, store)
    room.follow(SurveyState.STARTED)
    names = shard.respondent_names()
    joins = room.join_many([(name, f"{name}/b1") for name in names])
    joined = [v.user for v in joins if v.accepted]
    assert joined and len(joined) < len(names)
    assert {v.reason for v in joins if not v.accepted} == {"not a candidate"}
    assert [v.reason for v in room.join_many([(joined[0], f"{joined[0]}/b2")])] == ["second connection"]

    cheat, *honest = joined
    presented = [(cheat, bundles[honest[0]]), *((name, bundles[name]) for name in honest)]
    challenges, verdicts = room.challenge_many(presented)
    assert [v.reason for v in verdicts] == ["foreign key bundle"] + [""] * len(honest)
    pins = shard.encrypt_pins(challenges, RULES.mask_slots, "s1")
    (spec,) = room.task_specs(pins, batch=100)
    outputs = _node_runs(store, spec)
    room.deliver([challenge_id for _, challenge_id, _ in pins])
    liar = honest[-1]
    answers = shard.answer_pins([(u, c, out) for (u, c, _), out in zip(pins, outputs)], RULES.mask_slots, [liar])
    results = room.answer_many([(a.user, a.challenge_id, a.answer) for a in answers])
    assert [v.reason for v in results] == [""] * (len(honest) - 1) + ["wrong pin"]
    assert room.authenticated() == sorted(honest[:-1])

    survey_kinds = {entry.kind for entry in everything_of_survey(store, "s1")}
    assert {SurveyBlob.ROOM, SurveyBlob.PIN, SurveyBlob.MASK} <= survey_kinds
    assert {e.kind for e in everything_of_respondent(store, honest[0])} == {SurveyBlob.PIN, SurveyBlob.MASK}
