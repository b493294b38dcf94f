"""The survey catalogue: every blob of a survey indexed for both sides, so the index answers "everything of
survey S" and "everything of respondent R" (seed 000, Fig. 5), on the version index's rows alone."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from cipherquorum.storage import IndexedStore
from cipherquorum.storage.index import Publication
from cipherquorum.types import BlobId


class SurveyBlob(Enum):
    """What a blob of a survey holds."""

    SURVEY = "survey"
    ROOM = "room"
    PIN = "pin"
    MASK = "mask"
    PROFILE_SHARE = "profile_share"
    CRITERIA = "criteria"
    COPY = "copy"
    ANSWER = "answer"


_ALL = "all"


def survey_owner(survey_id: str) -> str:
    """The index owner under which a survey's blobs are listed."""
    return f"survey/{survey_id}"


def respondent_owner(respondent: str) -> str:
    """The index owner under which a respondent's survey blobs are listed."""
    return f"respondent/{respondent}"


@dataclass(frozen=True)
class CatalogueEntry:
    """One blob of a survey as the catalogue lists it."""

    kind: SurveyBlob
    blob_id: BlobId


def catalogue_rows(survey_id: str, respondent: str | None, kind: SurveyBlob, blob_id: BlobId) -> list[Publication]:
    """The index rows that list one blob under its survey and (when it has one) its respondent.

    Each side keeps an append-only list per kind (every version of (side, "all", kind)), so no row is ever
    rewritten; ``respondent`` None lists a blob of the survey alone (its study, its room, its criteria).
    """
    rows = [Publication(survey_owner(survey_id), _ALL, kind.value, blob_id)]
    if respondent is not None:
        rows.append(Publication(respondent_owner(respondent), _ALL, kind.value, blob_id))
    return rows


def _entries(store: IndexedStore, owner: str) -> list[CatalogueEntry]:
    return [CatalogueEntry(kind, version.blob_id) for kind in SurveyBlob
            for version in store.versions(owner, _ALL, kind.value)]


def everything_of_survey(store: IndexedStore, survey_id: str) -> list[CatalogueEntry]:
    """Every blob listed for the survey, by kind then in the order listed."""
    return _entries(store, survey_owner(survey_id))


def everything_of_respondent(store: IndexedStore, respondent: str) -> list[CatalogueEntry]:
    """Every survey blob listed for the respondent, by kind then in the order listed."""
    return _entries(store, respondent_owner(respondent))
