"""Market-study respondents as logical entities (seed 000, Fig. 1): each with its own keys, profile versions
and survey copies, many of them hosted by one shard; the workflow starts a few shards as actors."""
from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from cipherquorum.exceptions import StaleProfileVersion
from cipherquorum.fhe import Ciphertext, Encryptor, KeyBundle, KeyNeeds
from cipherquorum.marketstudy.catalogue import SurveyBlob, catalogue_rows
from cipherquorum.marketstudy.keys import KeyReport, UserKeys, provide_keys
from cipherquorum.marketstudy.matching import placed
from cipherquorum.marketstudy.plan import UPDATE_ROW_SHIFT, respondent_name
from cipherquorum.marketstudy.profiles import (
    PROFILE_KIND,
    ProfileValues,
    check_base_version,
    profile_blob,
    profile_of_row,
    read_profile,
    updated_profile,
)
from cipherquorum.marketstudy.settings import RESPONDENT_PRESET
from cipherquorum.marketstudy.survey import SurveyCopy
from cipherquorum.measurement.spans import ProcessUsage, process_usage
from cipherquorum.nodes.population import respondent_answer
from cipherquorum.settings.scenario import Question
from cipherquorum.storage import IndexedStore
from cipherquorum.types import BlobId


@dataclass(frozen=True)
class PinResponse:
    """A user's answer to its challenge: the decrypted response (or what it chose to send instead)."""

    user: str
    challenge_id: str
    answer: tuple[int, ...]


@dataclass(frozen=True)
class SurveyAnswers:
    """A respondent's completed copy: its encrypted answers (one blob per question) and, for the run's
    reference only, the plaintext (no role of the market sees it)."""

    respondent: str
    refs: tuple[BlobId, ...]
    plain: tuple[tuple[int, ...], ...]


class _Respondent:
    """One respondent: its keys, its profile as it knows it, and the version it last published."""

    def __init__(self, seed: str, index: int) -> None:
        self.index = index
        self.name = respondent_name(index)
        self.keys = UserKeys(self.name, RESPONDENT_PRESET, KeyNeeds(), random.Random(f"{seed}/{self.name}/keys"))
        self.values: ProfileValues = profile_of_row(index)
        self.profile_version = 0
        self.bundle_ref: BlobId | None = None


class RespondentPoolShard:
    """Hosts respondents ``indexes``; every call works on many of them at once, in one storage call per kind."""

    def __init__(self, seed: str, shard: int, indexes: Sequence[int], store: IndexedStore) -> None:
        self._seed = seed
        self._shard = shard
        self._store = store
        self._respondents = {r.name: r for r in (_Respondent(seed, i) for i in indexes)}

    def respondent_names(self) -> list[str]:
        """The hosted respondents."""
        return list(self._respondents)

    def provide_keys(self) -> list[KeyReport]:
        """Every respondent generates its keys, or checks them and regenerates bad ones (Fig. 3)."""
        respondents = list(self._respondents.values())
        reports = provide_keys(self._store, [r.keys for r in respondents])
        for respondent, report in zip(respondents, reports):
            respondent.bundle_ref = report.bundle_ref
        return reports

    def _publish(self, changes: Sequence[tuple[_Respondent, ProfileValues]]) -> list[int]:
        blobs = [profile_blob(r.name, values, r.keys.owner, r.bundle_ref or BlobId("0" * 64), r.profile_version)
                 for r, values in changes]
        refs = self._store.put_many(blobs)
        versions = self._store.publish_many([(r.name, PROFILE_KIND, PROFILE_KIND, ref)
                                             for (r, _), ref in zip(changes, refs)])
        for (respondent, values), version in zip(changes, versions):
            respondent.values, respondent.profile_version = values, version.number
        return [version.number for version in versions]

    def publish_profiles(self) -> list[int]:
        """Publish every respondent's first profile version; returns the version numbers."""
        return self._publish([(r, r.values) for r in self._respondents.values()])

    def update_profiles(self, updaters: Sequence[str], stale: Sequence[str]) -> tuple[list[int], list[str]]:
        """Each updater changes its private attributes (a new version, checked against the current one); then
        each ``stale`` one sends another change based on the version before. Returns the new version numbers and
        the refusals' messages."""
        changes = []
        for name in updaters:
            respondent = self._respondents[name]
            current = self._store.current(name, PROFILE_KIND, PROFILE_KIND).number
            check_base_version(name, respondent.profile_version, current)
            changes.append((respondent, updated_profile(respondent.values, respondent.index + UPDATE_ROW_SHIFT)))
        versions = self._publish(changes)
        refusals = []
        for name in stale:
            current = self._store.current(name, PROFILE_KIND, PROFILE_KIND).number
            try:
                check_base_version(name, self._respondents[name].profile_version - 1, current)
            except StaleProfileVersion as exc:
                refusals.append(str(exc))
        return versions, refusals

    def read_profiles(self) -> list[tuple[str, int, bool]]:
        """Each respondent reads its current version back and decrypts it; returns (name, version, equal to
        what it last published)."""
        found = []
        for respondent in self._respondents.values():
            current = self._store.current(respondent.name, PROFILE_KIND, PROFILE_KIND)
            values = read_profile(self._store.get(current.blob_id), respondent.keys.owner)
            found.append((respondent.name, current.number, values == respondent.values))
        return found

    def encrypt_pins(self, challenges: Sequence[tuple[str, str, int]], slots: int,
                     survey_id: str) -> list[tuple[str, str, BlobId]]:
        """Each user encrypts its PIN under its own key and stores it (Fig. 9); returns (user, challenge, blob)."""
        blobs = [self._respondents[user].keys.owner.encrypt([pin] * slots).to_bytes() for user, _, pin in challenges]
        refs = self._store.put_many(blobs)
        self._store.publish_many([row for (user, _, _), ref in zip(challenges, refs)
                                  for row in catalogue_rows(survey_id, user, SurveyBlob.PIN, ref)])
        return [(user, challenge_id, ref) for (user, challenge_id, _), ref in zip(challenges, refs)]

    def answer_pins(self, responses: Sequence[tuple[str, str, bytes]], slots: int,
                    wrong: Sequence[str]) -> list[PinResponse]:
        """Each user decrypts its agreed response and answers with it; ``wrong`` users answer something else."""
        liars = set(wrong)
        answers = []
        for user, challenge_id, data in responses:
            decrypted = [int(v) for v in self._respondents[user].keys.owner.decrypt(Ciphertext.from_bytes(data), slots)]
            if user in liars:
                decrypted[0] += 1
            answers.append(PinResponse(user, challenge_id, tuple(decrypted)))
        return answers

    def share_profiles(self, client_bundle: bytes, placements: Sequence[tuple[str, int]],
                       survey_id: str) -> list[BlobId]:
        """Each user reads its current profile, decrypts it and sends it one-hot in its block, encrypted under the
        client's key (Fig. 10); returns the blobs in ``placements`` order."""
        encryptor = Encryptor.from_bundle(KeyBundle.from_bytes(client_bundle))
        blobs = []
        for user, block in placements:
            respondent = self._respondents[user]
            current = self._store.current(user, PROFILE_KIND, PROFILE_KIND)
            values = read_profile(self._store.get(current.blob_id), respondent.keys.owner)
            blobs.append(encryptor.encrypt(placed(values, block)).to_bytes())
        refs = self._store.put_many(blobs)
        self._store.publish_many([row for (user, _), ref in zip(placements, refs)
                                  for row in catalogue_rows(survey_id, user, SurveyBlob.PROFILE_SHARE, ref)])
        return refs

    def answer_survey(self, survey_id: str, questions: Sequence[Question], answer_bundle: bytes,
                      users: Sequence[str]) -> list[SurveyAnswers]:
        """Each user answers its own copy, encrypts every answer under the client's answer key and completes the
        copy (Fig. 11); returns the completed copies."""
        encryptor = Encryptor.from_bundle(KeyBundle.from_bytes(answer_bundle))
        copies: list[tuple[str, tuple[tuple[int, ...], ...]]] = []
        for user in users:
            copy = SurveyCopy(survey_id, user, len(questions))
            for index, question in enumerate(questions):
                copy.answer(index, respondent_answer(self._seed, survey_id, user, question))
            copies.append((user, copy.complete()))
        refs = self._store.put_many([encryptor.encrypt(list(answer)).to_bytes()
                                     for _, answers in copies for answer in answers])
        self._store.publish_many([row for index, (user, answers) in enumerate(copies)
                                  for ref in refs[index * len(questions):(index + 1) * len(questions)]
                                  for row in catalogue_rows(survey_id, user, SurveyBlob.ANSWER, ref)])
        return [SurveyAnswers(user, tuple(refs[i * len(questions):(i + 1) * len(questions)]), answers)
                for i, (user, answers) in enumerate(copies)]

    def usage(self) -> ProcessUsage:
        """The CPU and memory of the shard's process."""
        return process_usage(f"market-respondents-{self._shard}")
