"""The messages the roles exchange: task manifests and results, studies, questions, answers and profiles."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from cipherquorum.exceptions import ValidationError
from cipherquorum.storage.ids import validate_blob_id
from cipherquorum.types import ExecStatus
from cipherquorum.wire.codec import Params, message

HASH_BYTES = 32
"""Length of a result hash (keccak256)."""

QUESTION_KINDS = ("choice", "number")
"""A "choice" answer is one-hot over the options; a "number" answer is an integer in [min_value, max_value]."""

_PROGRAM = re.compile(r"[^@\s]+@[^@\s]+")
_STATUS_VALUES = frozenset(int(status) for status in ExecStatus)


@message("TaskManifest")
@dataclass(frozen=True)
class TaskManifest:
    """What a compute node needs to run a task: the program ("name@version"), the FHE preset, the client's
    key bundle, the input ciphertext blobs, the program's parameters and its time limit.

    ``label`` is a free human label such as "study-1/q0 histogram". Lists in ``params`` become tuples.
    Raises ValidationError for a malformed program name or blob reference or a non-positive time limit.
    """

    program: str
    preset: str
    key_bundle_ref: str
    input_refs: tuple[str, ...]
    params: Params
    time_limit_s: float
    client: str
    label: str

    def __post_init__(self) -> None:
        _check_program("TaskManifest.program", self.program)
        validate_blob_id(self.key_bundle_ref, "TaskManifest.key_bundle_ref")
        if not isinstance(self.input_refs, tuple):
            raise ValidationError(f'"TaskManifest.input_refs" must be a tuple (got {type(self.input_refs).__name__})')
        for index, ref in enumerate(self.input_refs):
            validate_blob_id(ref, f"TaskManifest.input_refs[{index}]")
        object.__setattr__(self, "params", _frozen_params("TaskManifest.params", self.params))
        time_limit_s = self.time_limit_s
        if isinstance(time_limit_s, bool) or not isinstance(time_limit_s, (int, float)) or not (
            math.isfinite(time_limit_s) and time_limit_s > 0
        ):
            raise ValidationError(f'"TaskManifest.time_limit_s" must be a finite number > 0 (got {time_limit_s!r})')


@message("TaskResult")
@dataclass(frozen=True)
class TaskResult:
    """A compute node's result for a task: the execution status, the keccak256 hash it committed to, and the
    output ciphertexts (each a serialized ciphertext), with a human-readable ``detail`` for failures.

    Raises ValidationError for a negative task id, an unknown status or a hash that is not 32 bytes.
    """

    task_id: int
    node: str
    program: str
    status: int
    result_hash: bytes
    outputs: tuple[bytes, ...]
    detail: str

    def __post_init__(self) -> None:
        _check_non_negative("TaskResult.task_id", self.task_id)
        if isinstance(self.status, bool) or not isinstance(self.status, int) or self.status not in _STATUS_VALUES:
            raise ValidationError(
                f'"TaskResult.status" must be an ExecStatus value 0..{max(ExecStatus)} (got {self.status!r})'
            )
        if not isinstance(self.result_hash, bytes) or len(self.result_hash) != HASH_BYTES:
            raise ValidationError(
                f'"TaskResult.result_hash" must be {HASH_BYTES} bytes (got {_describe_bytes(self.result_hash)})'
            )


@message("Question")
@dataclass(frozen=True)
class Question:
    """One question of a study: a "choice" over ``options`` or a "number" in [min_value, max_value].

    Raises ValidationError for an unknown kind, a choice with fewer than two options, or min_value > max_value.
    """

    text: str
    kind: str
    options: tuple[str, ...]
    min_value: int
    max_value: int

    def __post_init__(self) -> None:
        if self.kind not in QUESTION_KINDS:
            raise ValidationError(f'"Question.kind" must be one of {list(QUESTION_KINDS)} (got {self.kind!r})')
        if self.kind == "choice" and (not isinstance(self.options, tuple) or len(self.options) < 2):
            raise ValidationError(f'"Question.options" must hold >= 2 options for a choice (got {self.options!r})')
        for label, value in (("min_value", self.min_value), ("max_value", self.max_value)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError(f'"Question.{label}" must be an int (got {value!r})')
        if self.min_value > self.max_value:
            raise ValidationError(
                f'"Question.min_value" must be <= max_value'
                f" (got min_value={self.min_value}, max_value={self.max_value})"
            )


@message("Study")
@dataclass(frozen=True)
class Study:
    """A client's study: its questions, the key bundle respondents encrypt under, the FHE preset, and the
    audience it targets (JSON-like criteria; lists become tuples).

    Raises ValidationError for an empty study id, no questions, or a malformed key bundle reference.
    """

    study_id: str
    client: str
    title: str
    questions: tuple[Question, ...]
    key_bundle_ref: str
    preset: str
    audience: Params

    def __post_init__(self) -> None:
        if not isinstance(self.study_id, str) or not self.study_id:
            raise ValidationError(f'"Study.study_id" must be a non-empty str (got {self.study_id!r})')
        if not isinstance(self.questions, tuple) or not self.questions:
            raise ValidationError(f'"Study.questions" must be a non-empty tuple (got {self.questions!r:.80})')
        validate_blob_id(self.key_bundle_ref, "Study.key_bundle_ref")
        object.__setattr__(self, "audience", _frozen_params("Study.audience", self.audience))


@message("Answer")
@dataclass(frozen=True)
class Answer:
    """A respondent's encrypted answer to one question of a study.

    Raises ValidationError for a negative question index or an empty ciphertext.
    """

    study_id: str
    respondent: str
    question_index: int
    ciphertext: bytes

    def __post_init__(self) -> None:
        _check_non_negative("Answer.question_index", self.question_index)
        if not isinstance(self.ciphertext, bytes) or not self.ciphertext:
            raise ValidationError(
                f'"Answer.ciphertext" must be non-empty bytes (got {_describe_bytes(self.ciphertext)})'
            )


@message("Profile")
@dataclass(frozen=True)
class Profile:
    """A respondent's profile: its features encrypted (ciphertext bytes) under the named key bundle.

    Every change is stored as a new blob and published as a new version in the index.
    Raises ValidationError for a malformed key bundle reference.
    """

    respondent: str
    preset: str
    key_bundle_ref: str
    features: bytes

    def __post_init__(self) -> None:
        validate_blob_id(self.key_bundle_ref, "Profile.key_bundle_ref")


def _check_program(what: str, value: object) -> None:
    if not isinstance(value, str) or _PROGRAM.fullmatch(value) is None:
        raise ValidationError(f'"{what}" must be "name@version" (got {value!r:.80})')


def _check_non_negative(what: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f'"{what}" must be an int >= 0 (got {value!r})')


def _frozen_params(what: str, params: object) -> dict:
    """Return a copy of ``params`` with list values turned into tuples, so equal params compare equal."""
    if not isinstance(params, dict):
        raise ValidationError(f'"{what}" must be a dict (got {type(params).__name__})')
    return {key: tuple(value) if isinstance(value, list) else value for key, value in params.items()}


def _describe_bytes(value: object) -> str:
    return f"{len(value)} bytes" if isinstance(value, bytes) else type(value).__name__
