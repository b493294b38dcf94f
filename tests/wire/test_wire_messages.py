"""The roles' messages check their own rules: on construction (ValidationError) and on decoding (MalformedMessage)."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from cipherquorum.exceptions import MalformedMessage, ValidationError
from cipherquorum.wire import Question, TaskManifest, decode, encode

WELL_TYPED_BAD_VALUES = [
    ("TaskManifest", "program", "histogram", r'"TaskManifest.program" must be "name@version"'),
    ("TaskManifest", "program", "hist ogram@1", r'"TaskManifest.program" must be "name@version"'),
    ("TaskManifest", "key_bundle_ref", "ab" * 31, "TaskManifest.key_bundle_ref must be 64 lowercase hex"),
    ("TaskManifest", "input_refs", ("f" * 64, "F" * 64), r"TaskManifest.input_refs\[1\] must be 64 lowercase hex"),
    ("TaskManifest", "time_limit_s", 0.0, r'"TaskManifest.time_limit_s" must be a finite number > 0'),
    ("TaskManifest", "time_limit_s", float("inf"), r'"TaskManifest.time_limit_s" must be a finite number > 0'),
    ("TaskManifest", "time_limit_s", float("nan"), r'"TaskManifest.time_limit_s" must be a finite number > 0'),
    ("TaskResult", "task_id", -1, r'"TaskResult.task_id" must be an int >= 0 \(got -1\)'),
    ("TaskResult", "status", 7, r'"TaskResult.status" must be an ExecStatus value 0..6 \(got 7\)'),
    ("TaskResult", "result_hash", b"\x00" * 31, r'"TaskResult.result_hash" must be 32 bytes \(got 31 bytes\)'),
    ("Question", "kind", "scale", r"\"Question.kind\" must be one of \['choice', 'number'\] \(got 'scale'\)"),
    ("Question", "options", ("only",), r'"Question.options" must hold >= 2 options for a choice'),
    ("Question", "max_value", -1, r'"Question.min_value" must be <= max_value \(got min_value=0, max_value=-1\)'),
    ("Study", "study_id", "", r'"Study.study_id" must be a non-empty str'),
    ("Study", "questions", (), r'"Study.questions" must be a non-empty tuple'),
    ("Study", "key_bundle_ref", "", "Study.key_bundle_ref must be 64 lowercase hex"),
    ("Answer", "question_index", -2, r'"Answer.question_index" must be an int >= 0 \(got -2\)'),
    ("Answer", "ciphertext", b"", r'"Answer.ciphertext" must be non-empty bytes \(got 0 bytes\)'),
    ("Profile", "key_bundle_ref", "../../etc/passwd", "Profile.key_bundle_ref must be 64 lowercase hex"),
]

WRONGLY_TYPED_VALUES = [
    ("TaskManifest", "input_refs", ["f" * 64], r'"TaskManifest.input_refs" must be a tuple'),
    ("TaskManifest", "params", [("bins", 3)], r'"TaskManifest.params" must be a dict'),
    ("TaskResult", "result_hash", "00" * 32, r'"TaskResult.result_hash" must be 32 bytes \(got str\)'),
]


@pytest.mark.parametrize(("type_name", "field", "value", "pattern"), WELL_TYPED_BAD_VALUES + WRONGLY_TYPED_VALUES)
def test_construction_refuses_a_value_that_breaks_a_rule(
    sample_messages: dict[str, object], type_name: str, field: str, value: object, pattern: str
) -> None:
    """Building a message with a value that breaks its rule raises ValidationError naming field and value."""
    with pytest.raises(ValidationError, match=pattern):
        dataclasses.replace(sample_messages[type_name], **{field: value})  # type: ignore[type-var]


@pytest.mark.parametrize(("type_name", "field", "value", "pattern"), WELL_TYPED_BAD_VALUES)
def test_decode_refuses_a_well_typed_value_that_breaks_a_rule(
    sample_messages: dict[str, object],
    tamper: Callable[[bytes, Callable[[dict], object]], bytes],
    type_name: str,
    field: str,
    value: object,
    pattern: str,
) -> None:
    """A received message whose field has the right type but breaks a rule raises MalformedMessage."""
    wire_value = list(value) if isinstance(value, tuple) else value
    data = tamper(encode(sample_messages[type_name]), lambda envelope: envelope["b"].update({field: wire_value}))
    with pytest.raises(MalformedMessage, match=rf"{type_name}: .*{pattern}"):
        decode(data)


def test_lists_in_params_become_tuples_so_equal_params_compare_equal(sample_messages: dict[str, object]) -> None:
    """A manifest built with list params equals the one decoded from the wire, which has tuples."""
    original = sample_messages["TaskManifest"]
    manifest = dataclasses.replace(original, params={"bins": [0, 10, 20]})  # type: ignore[type-var]
    assert manifest.params == {"bins": (0, 10, 20)}
    assert decode(encode(manifest), TaskManifest) == manifest


def test_a_number_question_needs_no_options() -> None:
    """A "number" question is valid with no options and min_value == max_value."""
    assert Question("How many?", "number", (), 3, 3).kind == "number"


@pytest.mark.parametrize("type_name", ["TaskManifest", "TaskResult", "Question", "Study", "Answer", "Profile"])
def test_each_message_round_trips(sample_messages: dict[str, object], type_name: str) -> None:
    """Every message the roles exchange decodes to an equal message of its own type."""
    original = sample_messages[type_name]
    assert decode(encode(original), type(original)) == original
