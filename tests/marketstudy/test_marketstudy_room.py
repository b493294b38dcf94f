"""Chat rooms (Figs. 8, 9): audience, one connection per user, and the PIN game, attacked from storage."""
from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from cipherquorum.exceptions import (
    ExpiredPin,
    KeyCheckFailed,
    MarketStudyRefusal,
    NotACandidate,
    ReplayedPin,
    SecondConnection,
    WrongPin,
)
from cipherquorum.fhe import Ciphertext, Encryptor, KeyBundle, SecretKeyOwner, execute
from cipherquorum.marketstudy.matching import Audience
from cipherquorum.marketstudy.room import Challenge, PinRules, Room, RoomState
from cipherquorum.marketstudy.survey import SurveyState
from cipherquorum.storage import LocalIndexedStore
from cipherquorum.types import ExecStatus
from cipherquorum.wire import TaskManifest, encode

RULES = PinRules(answer_window_s=10.0)


class FakeClock:
    """A clock the test moves by hand (the room's one source of time)."""

    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


@dataclass
class Game:
    """A room after one pin_mask task served several users: their challenges and decryptable responses."""

    room: Room
    clock: FakeClock
    users: dict[str, SecretKeyOwner]
    challenges: dict[str, Challenge]
    responses: dict[str, Ciphertext]


def _room(clock: FakeClock) -> Room:
    room = Room("room-1", "s1", Audience.of({"sex": [1]}), RULES, clock)
    room.follow(SurveyState.STARTED)
    return room


def _play(store: LocalIndexedStore, names: list[str]) -> Game:
    """Run the game the way the market does: users encrypt PINs, the room masks, one task adds them all."""
    clock = FakeClock()
    room = _room(clock)
    users = {name: SecretKeyOwner.generate("bfv-2048") for name in names}
    bundle_refs = {name: store.put(owner.bundle.to_bytes()) for name, owner in users.items()}
    challenges, inputs = {}, []
    for name, owner in users.items():
        room.join(name, f"{name}/browser", {"sex": 1})
        challenge = room.challenge(name, Encryptor.from_bundle(KeyBundle.from_bytes(store.get(bundle_refs[name]))))
        pin_ct = owner.encrypt(challenge.pin_vector(RULES.mask_slots)).to_bytes()
        inputs += [store.put(pin_ct), store.put(challenge.mask)]
        challenges[name] = challenge
    manifest = TaskManifest(program="pin_mask@1", preset="bfv-2048", key_bundle_ref=bundle_refs[names[0]],
                            input_refs=tuple(inputs), params={}, time_limit_s=30.0, client="room-1", label="auth")
    store.put(encode(manifest))
    outcome = execute(manifest.program, KeyBundle.from_bytes(store.get(manifest.key_bundle_ref)),
                      store.get_many(inputs), manifest.params, manifest.time_limit_s)
    assert outcome.status is ExecStatus.SUCCESS
    for data in outcome.output_bytes():
        store.put(data)
    for challenge in challenges.values():
        room.deliver(challenge.challenge_id)
    return Game(room, clock, users, challenges, dict(zip(names, outcome.outputs)))


def _decrypted(game: Game, name: str) -> list[int]:
    return [int(v) for v in game.users[name].decrypt(game.responses[name], RULES.mask_slots)]


def test_one_task_serves_many_users_each_under_its_own_key(store: LocalIndexedStore) -> None:
    """Three users' PINs are masked in one task; each decrypts its own response and is accepted."""
    game = _play(store, ["u1", "u2", "u3"])
    for name in game.users:
        game.room.answer(name, game.challenges[name].challenge_id, _decrypted(game, name))
    assert game.room.authenticated == {"u1", "u2", "u3"}
    tally = game.room.tally()
    assert (tally.joined, tally.attempts, tally.accepted, tally.refused) == (3, 3, 3, {})


def test_wrong_replayed_and_expired_answers_are_refused_and_counted(store: LocalIndexedStore) -> None:
    """A wrong answer, a replay of an accepted one and an answer past the window are refused under their reasons."""
    game = _play(store, ["u1", "u2", "u3"])
    room, ids = game.room, {name: c.challenge_id for name, c in game.challenges.items()}
    with pytest.raises(WrongPin, match="user u1"):
        room.answer("u1", ids["u1"], [v + 1 for v in _decrypted(game, "u1")])
    room.answer("u2", ids["u2"], _decrypted(game, "u2"))
    with pytest.raises(ReplayedPin, match="user u2"):
        room.answer("u2", ids["u2"], _decrypted(game, "u2"))
    game.clock.now_s += RULES.answer_window_s + 1
    with pytest.raises(ExpiredPin, match="user u3"):
        room.answer("u3", ids["u3"], _decrypted(game, "u3"))
    tally = room.tally()
    assert room.authenticated == {"u2"}
    assert tally.attempts == 4
    assert tally.refused == {"wrong pin": 1, "replayed pin": 1, "expired pin": 1}


def test_without_the_secret_key_nothing_in_storage_passes_the_game(store: LocalIndexedStore) -> None:
    """An attacker who reads every blob in storage (bundles, PIN and mask ciphertexts, the manifest, the result)
    and even knows the PIN cannot answer for the victim: each strategy it has is refused."""
    game = _play(store, ["victim", "attacker"])
    room, victim = game.room, game.challenges["victim"]
    everything = [store.get(blob_id) for blob_id in store.ids()]
    expected = _decrypted(game, "victim")
    for value in expected:  # the answer is in no blob, as msgpack or as SEAL's little-endian words
        assert not any(value.to_bytes(8, "little", signed=True) in blob for blob in everything)
    attacker = game.users["attacker"]
    garbage = [int(v) for v in _decrypt_with(attacker, game.responses["victim"])]
    guesses = {
        "the PIN itself": victim.pin_vector(RULES.mask_slots),
        "decrypted with its own secret key": garbage,
        "a random guess": [random.Random(7).randint(-3_670_016, 3_670_016) for _ in range(RULES.mask_slots)],
        "its own response": _decrypted(game, "attacker"),
    }
    for guess in guesses.values():
        attempt = room.challenge("victim", Encryptor.from_bundle(game.users["victim"].bundle))
        room.deliver(attempt.challenge_id)
        with pytest.raises(WrongPin):
            room.answer("victim", attempt.challenge_id, guess)
    room.answer("victim", victim.challenge_id, expected)  # the key holder still passes
    assert room.tally().refused == {"wrong pin": len(guesses)}


def _decrypt_with(owner: SecretKeyOwner, ct: Ciphertext) -> list[int]:
    """Decrypt a ciphertext of another key of the same preset: SEAL accepts it and returns noise."""
    return [int(v) for v in owner.decrypt(ct, RULES.mask_slots)]


def test_the_mask_carries_more_than_80_bits_of_unpredictability() -> None:
    """The rules' mask slots times log2(t) of bfv-2048 exceed 80 bits, so guessing is hopeless."""
    import math

    assert RULES.mask_slots * math.log2(7340033) > 80


def test_the_audience_and_one_connection_per_user_are_enforced() -> None:
    """A non-candidate is refused; a second instance is refused while the first is live, accepted after it left."""
    room = _room(FakeClock())
    with pytest.raises(NotACandidate, match="user u1"):
        room.join("u1", "b1", {"sex": 0})
    room.join("u2", "b1", {"sex": 1})
    room.join("u2", "b1", {"sex": 1})  # the same instance reconnecting
    with pytest.raises(SecondConnection, match="user u2: instance 'b2' refused"):
        room.join("u2", "b2", {"sex": 1})
    room.leave("u2", "b1")
    room.join("u2", "b2", {"sex": 1})
    assert room.tally().refused == {"not a candidate": 1, "second connection": 1}


def test_a_room_follows_its_survey_and_refuses_joins_when_closed() -> None:
    """The room opens with its survey and closes when the survey completes; a join then is refused."""
    room = Room("room-1", "s1", Audience.of({}), RULES, FakeClock())
    assert room.state is RoomState.WAITING
    assert room.follow(SurveyState.STARTED) is RoomState.OPEN
    assert room.follow(SurveyState.COMPLETED) is RoomState.CLOSED
    with pytest.raises(MarketStudyRefusal, match="room room-1 is closed"):
        room.join("u1", "b1", {})


def test_a_presented_bundle_other_than_the_published_one_is_refused() -> None:
    """A user presenting a foreign key bundle gets KeyCheckFailed, counted as a foreign key bundle."""
    room = _room(FakeClock())
    with pytest.raises(KeyCheckFailed, match="user u1"):
        room.check_bundle("u1", "b" * 64, "a" * 64)  # type: ignore[arg-type]
    assert room.tally().refused == {"foreign key bundle": 1}


def test_an_input_of_other_parameters_is_input_invalid() -> None:
    """A pin_mask task given a ciphertext of another preset fails as INPUT_INVALID on every replica."""
    user, other = SecretKeyOwner.generate("bfv-2048"), SecretKeyOwner.generate("bfv-8192")
    inputs = [user.encrypt([1]).to_bytes(), other.encrypt([2]).to_bytes()]
    outcome = execute("pin_mask@1", user.bundle, inputs, {}, 10.0)
    assert outcome.status is ExecStatus.INPUT_INVALID


def test_an_impostor_who_reads_all_of_storage_fails_with_every_strategy(store: LocalIndexedStore) -> None:
    """The impostor holds the victim's connection, encrypts the PIN under the victim's public key, reads every
    blob (manifests included) and answers with each of its strategies: every answer is a WrongPin."""
    from cipherquorum.marketstudy.impostor import STRATEGIES, Impostor

    game = _play(store, ["victim"])
    victim = game.users["victim"]
    impostor = Impostor("bfv-2048")
    refused = 0
    for strategy in STRATEGIES:
        challenge = game.room.challenge("victim", Encryptor.from_bundle(victim.bundle))
        pin_ref = store.put(impostor.encrypt_pin(victim.bundle.to_bytes(), challenge.pin, RULES.mask_slots))
        mask_ref = store.put(challenge.mask)
        manifest = TaskManifest(program="pin_mask@1", preset="bfv-2048", key_bundle_ref=store.put(
            victim.bundle.to_bytes()), input_refs=(pin_ref, mask_ref), params={}, time_limit_s=30.0,
            client="room-1", label="impostor")
        store.put(encode(manifest))
        outcome = execute("pin_mask@1", victim.bundle, [store.get(pin_ref), store.get(mask_ref)], {}, 30.0)
        store.put(outcome.output_bytes()[0])
        impostor.read_storage(store.get(blob_id) for blob_id in store.ids())
        game.room.deliver(challenge.challenge_id)
        guess = impostor.guess(strategy, challenge.pin, pin_ref, outcome.output_bytes()[0], store.get,
                               RULES.mask_slots)
        with pytest.raises(WrongPin):
            game.room.answer("victim", challenge.challenge_id, guess)
        refused += 1
    assert refused == len(STRATEGIES) and impostor.sightings().blobs > 10
    assert "victim" not in game.room.authenticated
