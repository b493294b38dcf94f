"""The chat room role (seed 000, Figs. 7 to 9): a survey's room hosted in its own process. It reads public
profiles and published key bundles from storage, keeps its masks to itself, and builds the pin_mask tasks."""
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cipherquorum.exceptions import MarketStudyRefusal
from cipherquorum.fhe import Encryptor, KeyBundle
from cipherquorum.marketstudy.catalogue import SurveyBlob, catalogue_rows
from cipherquorum.marketstudy.keys import BUNDLE_KIND
from cipherquorum.marketstudy.matching import Audience
from cipherquorum.marketstudy.profiles import PROFILE_KIND, public_of
from cipherquorum.marketstudy.room import PinRules, Room, RoomState, RoomTally
from cipherquorum.marketstudy.settings import RESPONDENT_PRESET
from cipherquorum.marketstudy.survey import SurveyState
from cipherquorum.nodes.client import TaskSpec
from cipherquorum.storage import IndexedStore
from cipherquorum.types import BlobId

ROOM_KIND = "room_state"


@dataclass(frozen=True)
class Verdict:
    """How the room answered one request: accepted ("" reason) or refused with a reason and a message."""

    user: str
    reason: str = ""
    message: str = ""

    @property
    def accepted(self) -> bool:
        """Whether the request was accepted."""
        return not self.reason


def _verdict(user: str, exc: MarketStudyRefusal) -> Verdict:
    return Verdict(user, exc.reason, str(exc))


class RoomRole:
    """One room: the domain ``Room`` plus its storage (state versions, masks) and its market tasks."""

    def __init__(self, room_id: str, survey_id: str, audience: Mapping[str, Sequence[int]], rules: PinRules,
                 store: IndexedStore) -> None:
        self._room = Room(room_id, survey_id, Audience.of(audience), rules, time.monotonic)
        self._survey_id = survey_id
        self._store = store
        self._masks: dict[str, BlobId] = {}
        self._bundles: dict[str, BlobId] = {}

    def follow(self, survey: SurveyState) -> RoomState:
        """Follow the survey's state; the room's state is stored and indexed as a new version."""
        state = self._room.follow(survey)
        ref = self._store.put(f"{self._room.room_id}:{state.value}".encode())
        self._store.publish_many([(self._room.room_id, ROOM_KIND, ROOM_KIND, ref),
                                  *catalogue_rows(self._survey_id, None, SurveyBlob.ROOM, ref)])
        return state

    def join_many(self, requests: Sequence[tuple[str, str]]) -> list[Verdict]:
        """Connect each (user, instance); the user's public profile is read from its current version."""
        verdicts = []
        for user, instance in requests:
            public = public_of(self._store.get(self._store.current(user, PROFILE_KIND, PROFILE_KIND).blob_id))
            try:
                self._room.join(user, instance, public)
                verdicts.append(Verdict(user))
            except MarketStudyRefusal as exc:
                verdicts.append(_verdict(user, exc))
        return verdicts

    def challenge_many(self, requests: Sequence[tuple[str, BlobId]]) -> tuple[list[tuple[str, str, int]],
                                                                               list[Verdict]]:
        """Start the game for each (user, presented bundle): a bundle other than the user's published one is
        refused; the others get a PIN, and a mask encrypted under their published key, which the room stores.
        Returns the challenges (user, id, PIN) and the verdicts."""
        challenges, verdicts, masks = [], [], []
        for user, presented in requests:
            published = self._store.current(user, BUNDLE_KIND, RESPONDENT_PRESET).blob_id
            try:
                self._room.check_bundle(user, presented, published)
                encryptor = Encryptor.from_bundle(KeyBundle.from_bytes(self._store.get(published)))
                challenge = self._room.challenge(user, encryptor)
            except MarketStudyRefusal as exc:
                verdicts.append(_verdict(user, exc))
                continue
            verdicts.append(Verdict(user))
            challenges.append((user, challenge.challenge_id, challenge.pin))
            masks.append((challenge.challenge_id, user, challenge.mask))
            self._bundles[challenge.challenge_id] = published
        refs = self._store.put_many([mask for _, _, mask in masks])
        self._store.publish_many([row for (_, user, _), ref in zip(masks, refs)
                                  for row in catalogue_rows(self._survey_id, user, SurveyBlob.MASK, ref)])
        self._masks.update({challenge_id: ref for (challenge_id, _, _), ref in zip(masks, refs)})
        return challenges, verdicts

    def task_specs(self, pins: Sequence[tuple[str, str, BlobId]], batch: int) -> list[TaskSpec]:
        """The pin_mask@1 tasks for the stored PINs, ``batch`` users per task: inputs in (PIN, mask) pairs, run
        under the first user's bundle (additions need only the shared parameters)."""
        specs = []
        for start in range(0, len(pins), batch):
            part = pins[start:start + batch]
            inputs = tuple(ref for _, challenge_id, pin in part for ref in (pin, self._masks[challenge_id]))
            specs.append(TaskSpec(label=f"{self._room.room_id}/auth-{start // batch}", program="pin_mask@1",
                                  input_refs=inputs, key_bundle_ref=self._bundles[part[0][1]],
                                  preset=RESPONDENT_PRESET, result_slots=self._room.rules.mask_slots))
        return specs

    def deliver(self, challenge_ids: Sequence[str]) -> None:
        """The agreed responses reached their users: their answer windows start."""
        for challenge_id in challenge_ids:
            self._room.deliver(challenge_id)

    def answer_many(self, answers: Sequence[tuple[str, str, Sequence[int]]]) -> list[Verdict]:
        """Judge each (user, challenge id, answer)."""
        verdicts = []
        for user, challenge_id, answer in answers:
            try:
                self._room.answer(user, challenge_id, answer)
                verdicts.append(Verdict(user))
            except MarketStudyRefusal as exc:
                verdicts.append(_verdict(user, exc))
        return verdicts

    def authenticated(self) -> list[str]:
        """The authenticated users, sorted."""
        return sorted(self._room.authenticated)

    def tally(self) -> RoomTally:
        """The room's counts."""
        return self._room.tally()
