"""The survey lifecycle (Fig. 5): draft, started, completed, locked; copies; the index for both sides."""
from __future__ import annotations

import pytest

from cipherquorum.exceptions import SurveyChangeRefused, SurveyLocked, ValidationError
from cipherquorum.marketstudy.catalogue import (
    SurveyBlob,
    catalogue_rows,
    everything_of_respondent,
    everything_of_survey,
)
from cipherquorum.marketstudy.survey import CopyState, Survey, SurveyCopy, SurveyState
from cipherquorum.settings.scenario import Question
from cipherquorum.storage import LocalIndexedStore

QUESTION = Question("How often?", "choice", ("never", "often"), 0, 0, ("histogram@1",))
REF = "a" * 64


def _started() -> Survey:
    survey = Survey("s1", "client-0")
    survey.set_study([QUESTION])
    survey.set_groups({"sex": [0]}, {"bmi_band": [1, 2]})
    survey.advance(SurveyState.STARTED)
    return survey


def test_a_survey_goes_through_its_states_in_order() -> None:
    """Draft -> started -> completed -> locked; any other move is refused."""
    survey = _started()
    with pytest.raises(ValidationError, match="from started to locked"):
        survey.advance(SurveyState.LOCKED)
    survey.advance(SurveyState.COMPLETED)
    survey.advance(SurveyState.LOCKED)
    assert survey.state is SurveyState.LOCKED


def test_a_survey_cannot_start_without_its_study() -> None:
    """Starting a draft that lacks its questions or groups is a ValidationError naming the client."""
    with pytest.raises(ValidationError, match="client-0"):
        Survey("s1", "client-0").advance(SurveyState.STARTED)


@pytest.mark.parametrize("change", ["study", "groups"])
def test_changing_a_started_survey_is_refused(change: str) -> None:
    """Once started, setting the study or the target group is a SurveyChangeRefused naming client and survey."""
    survey = _started()
    with pytest.raises(SurveyChangeRefused, match="client client-0: survey s1 is started"):
        if change == "study":
            survey.set_study([QUESTION, QUESTION])
        else:
            survey.set_groups({}, {"bmi_band": [0]})


def test_answers_are_taken_while_started_and_once_per_respondent() -> None:
    """A completed copy is taken once; a second copy, or any copy after completion, is SurveyLocked."""
    survey = _started()
    survey.receive("r1", [REF])
    with pytest.raises(SurveyLocked, match="r1: its copy"):
        survey.receive("r1", [REF])
    survey.advance(SurveyState.COMPLETED)
    with pytest.raises(SurveyLocked, match="r2: survey s1 is completed"):
        survey.receive("r2", [REF])
    assert list(survey.received) == ["r1"]


def test_a_completed_copy_cannot_change() -> None:
    """A respondent's copy is answered, completed, and then refuses changes."""
    copy = SurveyCopy("s1", "r1", 1)
    with pytest.raises(ValidationError, match="unanswered"):
        copy.complete()
    copy.answer(0, [0, 1])
    assert copy.complete() == ((0, 1),) and copy.state is CopyState.COMPLETED
    with pytest.raises(SurveyLocked, match="respondent r1"):
        copy.answer(0, [1, 0])


def test_the_index_answers_everything_of_a_survey_and_of_a_respondent(store: LocalIndexedStore) -> None:
    """Blobs listed under a survey and its respondents are found from both sides."""
    study, a1, a2, other = (store.put(text.encode()) for text in ("study", "a1", "a2", "other"))
    rows = [*catalogue_rows("s1", None, SurveyBlob.SURVEY, study), *catalogue_rows("s1", "r1", SurveyBlob.ANSWER, a1),
            *catalogue_rows("s1", "r2", SurveyBlob.ANSWER, a2), *catalogue_rows("s2", "r1", SurveyBlob.ANSWER, other)]
    store.publish_many(rows)
    assert {(e.kind, e.blob_id) for e in everything_of_survey(store, "s1")} == {
        (SurveyBlob.SURVEY, study), (SurveyBlob.ANSWER, a1), (SurveyBlob.ANSWER, a2)}
    assert [e.blob_id for e in everything_of_respondent(store, "r1")] == [a1, other]
