"""A market-study client (seed 000, Fig. 2): its keys, its survey and target group, the encrypted criteria,
the match scores and the aggregates it decrypts. A plain class; the workflow hosts it in its own process."""
from __future__ import annotations

import random
from collections.abc import Sequence

from cipherquorum.exceptions import SurveyChangeRefused, SurveyLocked
from cipherquorum.fhe import Ciphertext, KeyNeeds, get_program
from cipherquorum.fhe.programs.auth import match_score
from cipherquorum.marketstudy.catalogue import SurveyBlob, catalogue_rows
from cipherquorum.marketstudy.keys import KeyReport, UserKeys, provide_keys
from cipherquorum.marketstudy.matching import BLOCK_WIDTH, is_match
from cipherquorum.marketstudy.profiles import ATTRIBUTES
from cipherquorum.marketstudy.settings import MATCH_PRESET, RESPONDENT_PRESET, SurveySettings
from cipherquorum.marketstudy.survey import Survey, SurveyState
from cipherquorum.storage import IndexedStore
from cipherquorum.types import BlobId
from cipherquorum.wire import Question as WireQuestion
from cipherquorum.wire import Study as WireStudy
from cipherquorum.wire import encode


def match_params(blocks: int) -> dict[str, int]:
    """The profile_match@1 params for ``blocks`` profiles per output ciphertext."""
    return {"width": BLOCK_WIDTH, "blocks": blocks}


class SurveyClient:
    """One client: match keys (bfv-8192) and answer keys (bfv-2048), one survey, its refusals.

    The target group exists in plaintext here only; it leaves as a ciphertext under the client's match key.
    """

    def __init__(self, name: str, survey: SurveySettings, seed: str, blocks: int, store: IndexedStore) -> None:
        self._name = name
        self._settings = survey
        self._store = store
        self._blocks = blocks
        needs = get_program("profile_match@1").key_needs(match_params(blocks))
        self._match_keys = UserKeys(name, MATCH_PRESET, needs, random.Random(f"{seed}/{name}/match"))
        self._answer_keys = UserKeys(name, RESPONDENT_PRESET, KeyNeeds(), random.Random(f"{seed}/{name}/answers"))
        self._survey = Survey(survey.survey_id, name)
        self._refs: dict[str, BlobId] = {}
        self._refusals: list[tuple[str, str]] = []

    def provide_keys(self) -> list[KeyReport]:
        """Generate (or check) both key sets and publish them; returns the two reports."""
        reports = provide_keys(self._store, [self._match_keys, self._answer_keys])
        self._refs = {report.preset: report.bundle_ref for report in reports}
        return reports

    def bundle_ref(self, preset: str) -> BlobId:
        """The published bundle of the client's keys for ``preset``."""
        return self._refs[preset]

    def start(self) -> BlobId:
        """Set up the study and groups, publish the survey (its public part: questions and audience, never the
        target group) in the catalogue, and start it; returns the survey blob."""
        survey = self._survey
        survey.set_study(self._settings.questions)
        survey.set_groups(self._settings.audience, self._settings.target_group)
        message = WireStudy(
            study_id=survey.survey_id, client=self._name, title=self._settings.title,
            questions=tuple(WireQuestion(text=q.text, kind=q.kind, options=q.options, min_value=q.min_value,
                                         max_value=q.max_value) for q in self._settings.questions),
            key_bundle_ref=self._refs[RESPONDENT_PRESET], preset=RESPONDENT_PRESET,
            audience={name: ",".join(map(str, buckets)) for name, buckets in self._settings.audience.items()})
        ref = self._store.put(encode(message))
        self._store.publish_many(catalogue_rows(survey.survey_id, None, SurveyBlob.SURVEY, ref))
        survey.advance(SurveyState.STARTED)
        return ref

    def try_change(self) -> str:
        """Try to widen the target group of the started survey; return the refusal's message (it is counted)."""
        try:
            self._survey.set_groups(self._settings.audience, {})
        except SurveyChangeRefused as exc:
            self._refusals.append((exc.reason, str(exc)))
            return str(exc)
        return ""

    def advance(self, state: SurveyState) -> SurveyState:
        """Move the survey to ``state``; returns it."""
        self._survey.advance(state)
        return self._survey.state

    def survey_state(self) -> SurveyState:
        """The survey's state."""
        return self._survey.state

    def criteria(self) -> BlobId:
        """Encrypt the tiled target-group criteria under the match key, store them and list them; return the blob."""
        plan = self._survey.plan
        ct = self._match_keys.owner.encrypt(plan.target_group.tiled_criteria(self._blocks))
        ref = self._store.put(ct.to_bytes())
        self._store.publish_many(catalogue_rows(self._survey.survey_id, None, SurveyBlob.CRITERIA, ref))
        return ref

    def matches(self, outputs: Sequence[bytes], count: int) -> list[bool]:
        """Decrypt a match task's outputs and return, for its first ``count`` profiles, whether each matched."""
        program = get_program("profile_match@1")
        decrypted = [self._match_keys.owner.decrypt(Ciphertext.from_bytes(data)) for data in outputs]
        folded = program.decode(decrypted, match_params(self._blocks))
        weight = self._survey.plan.target_group.weight
        return [is_match(match_score(value, len(ATTRIBUTES), weight)) for value in folded[:count]]  # type: ignore[index]

    def receive(self, copies: Sequence[tuple[str, Sequence[BlobId]]]) -> list[str]:
        """Take completed copies (respondent, answer blobs); returns, per copy, "" or the refusal (counted)."""
        verdicts = []
        rows = []
        for respondent, refs in copies:
            try:
                self._survey.receive(respondent, refs)
            except SurveyLocked as exc:
                self._refusals.append((exc.reason, str(exc)))
                verdicts.append(str(exc))
                continue
            rows += [row for ref in refs
                     for row in catalogue_rows(self._survey.survey_id, respondent, SurveyBlob.COPY, ref)]
            verdicts.append("")
        self._store.publish_many(rows)
        return verdicts

    def answer_refs(self, question: int) -> list[BlobId]:
        """The received answers to ``question``, in the order received."""
        return [refs[question] for refs in self._survey.received.values()]

    def decrypt(self, outputs: Sequence[bytes], program: str, params: dict) -> object:
        """Decrypt an aggregate task's outputs with the answer key and decode them as ``program`` does."""
        owner = self._answer_keys.owner
        decrypted = [owner.decrypt(Ciphertext.from_bytes(data)) for data in outputs]
        return get_program(program).decode(decrypted, params)

    def refusals(self) -> list[tuple[str, str]]:
        """Every refusal this client gave or got: (reason, message)."""
        return list(self._refusals)
