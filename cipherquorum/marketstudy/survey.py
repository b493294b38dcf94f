"""The survey lifecycle (seed 000, Fig. 5): a client's survey moves draft -> started -> completed -> locked;
each matched respondent works on its own copy, which goes to the client once completed and then cannot change."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from cipherquorum.exceptions import SurveyChangeRefused, SurveyLocked, ValidationError
from cipherquorum.marketstudy.matching import Audience, TargetGroup
from cipherquorum.settings.scenario import Question
from cipherquorum.types import BlobId


class SurveyState(Enum):
    """Where a survey is: set up by its client, open to answers, closed to answers, or aggregated and final."""

    DRAFT = "draft"
    STARTED = "started"
    COMPLETED = "completed"
    LOCKED = "locked"


_NEXT = {SurveyState.DRAFT: SurveyState.STARTED, SurveyState.STARTED: SurveyState.COMPLETED,
         SurveyState.COMPLETED: SurveyState.LOCKED}


class CopyState(Enum):
    """A respondent's copy of a survey: being answered, or completed and handed to the client."""

    OPEN = "open"
    COMPLETED = "completed"


@dataclass(frozen=True)
class SurveyPlan:
    """What a client sets up: the questions, the room's audience (public data) and the secret target group."""

    questions: tuple[Question, ...]
    audience: Audience
    target_group: TargetGroup


class Survey:
    """One client's survey and the copies it received. Changes are refused once it has started."""

    def __init__(self, survey_id: str, client: str) -> None:
        self._survey_id = survey_id
        self._client = client
        self._state = SurveyState.DRAFT
        self._questions: tuple[Question, ...] = ()
        self._audience: Audience | None = None
        self._target_group: TargetGroup | None = None
        self._received: dict[str, tuple[BlobId, ...]] = {}

    @property
    def survey_id(self) -> str:
        """The survey's id."""
        return self._survey_id

    @property
    def state(self) -> SurveyState:
        """Where the survey is in its lifecycle."""
        return self._state

    @property
    def plan(self) -> SurveyPlan:
        """The survey as set up; raises ValidationError while its study or groups are missing."""
        if not self._questions or self._audience is None or self._target_group is None:
            raise ValidationError(f"client {self._client}: survey {self._survey_id} lacks its study, audience or "
                                  "target group")
        return SurveyPlan(self._questions, self._audience, self._target_group)

    def _check_draft(self, what: str, value: object) -> None:
        if self._state is not SurveyState.DRAFT:
            raise SurveyChangeRefused(f"client {self._client}: survey {self._survey_id} is {self._state.value}, so "
                                      f"its {what} cannot change (got {value!r:.80})")

    def set_study(self, questions: Sequence[Question]) -> None:
        """Set the questions; raises SurveyChangeRefused once started, ValidationError for no questions."""
        self._check_draft("study", [q.text for q in questions])
        if not questions:
            raise ValidationError(f"client {self._client}: survey {self._survey_id} needs >= 1 question (got 0)")
        self._questions = tuple(questions)

    def set_groups(self, audience: Mapping[str, Sequence[int]], target_group: Mapping[str, Sequence[int]]) -> None:
        """Set the room's audience and the target group; raises SurveyChangeRefused once started."""
        self._check_draft("target group", dict(target_group))
        self._audience = Audience.of(audience)
        self._target_group = TargetGroup.of(target_group)

    def advance(self, to: SurveyState) -> None:
        """Move to the next state ``to``; raises ValidationError for any other move (a survey never goes back)."""
        if _NEXT.get(self._state) is not to:
            raise ValidationError(f"client {self._client}: survey {self._survey_id} cannot go from "
                                  f"{self._state.value} to {to.value}")
        if to is SurveyState.STARTED:
            self.plan  # noqa: B018 - raises if incomplete
        self._state = to

    def receive(self, respondent: str, answer_refs: Sequence[BlobId]) -> None:
        """Take a respondent's completed copy (its encrypted answers, one blob per question).

        Raises SurveyLocked when the survey takes no answers now, or the respondent's copy was already handed in
        (a completed copy cannot change); ValidationError for a copy of the wrong length.
        """
        if self._state is not SurveyState.STARTED:
            raise SurveyLocked(f"respondent {respondent}: survey {self._survey_id} is {self._state.value} and takes "
                               "no answers")
        if respondent in self._received:
            raise SurveyLocked(f"respondent {respondent}: its copy of survey {self._survey_id} is completed and "
                               "cannot change")
        if len(answer_refs) != len(self._questions):
            raise ValidationError(f"respondent {respondent}: a copy of survey {self._survey_id} answers "
                                  f"{len(self._questions)} questions (got {len(answer_refs)})")
        self._received[respondent] = tuple(answer_refs)

    @property
    def received(self) -> Mapping[str, tuple[BlobId, ...]]:
        """The completed copies' answer blobs by respondent, in the order received."""
        return dict(self._received)


class SurveyCopy:
    """A respondent's own copy of a survey: answered question by question, then completed (final)."""

    def __init__(self, survey_id: str, respondent: str, questions: int) -> None:
        self._survey_id = survey_id
        self._respondent = respondent
        self._answers: list[tuple[int, ...] | None] = [None] * questions
        self._state = CopyState.OPEN

    @property
    def state(self) -> CopyState:
        """Whether the copy is still being answered."""
        return self._state

    def answer(self, question: int, value: Sequence[int]) -> None:
        """Answer question ``question``; raises SurveyLocked once the copy is completed."""
        if self._state is CopyState.COMPLETED:
            raise SurveyLocked(f"respondent {self._respondent}: copy of survey {self._survey_id} is completed "
                               f"(question {question} cannot change)")
        if not 0 <= question < len(self._answers):
            raise ValidationError(f"respondent {self._respondent}: survey {self._survey_id} has no question "
                                  f"{question}")
        self._answers[question] = tuple(value)

    def complete(self) -> tuple[tuple[int, ...], ...]:
        """Complete the copy and return its answers; raises ValidationError if a question is unanswered."""
        missing = [i for i, a in enumerate(self._answers) if a is None]
        if missing:
            raise ValidationError(f"respondent {self._respondent}: copy of survey {self._survey_id} leaves "
                                  f"questions {missing} unanswered")
        self._state = CopyState.COMPLETED
        return tuple(a for a in self._answers if a is not None)
