"""Property: every valid message of every role type survives encode then decode, as an equal message and equal bytes."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cipherquorum.storage import blob_id_of
from cipherquorum.types import ExecStatus
from cipherquorum.wire import Answer, Profile, Question, Study, TaskManifest, TaskResult, decode, encode

blob_ids = st.binary(max_size=16).map(blob_id_of)
programs = st.from_regex(r"[a-z_]{1,12}@[0-9]{1,3}", fullmatch=True)
addresses = st.binary(min_size=20, max_size=20).map(lambda raw: "0x" + raw.hex())
scalars = st.one_of(st.integers(-(2**63), 2**64 - 1), st.floats(allow_nan=False), st.text(), st.booleans())
params = st.dictionaries(st.text(), scalars | st.lists(scalars, max_size=5).map(tuple), max_size=5)

manifests = st.builds(
    TaskManifest,
    program=programs,
    preset=st.text(),
    key_bundle_ref=blob_ids,
    input_refs=st.lists(blob_ids, max_size=6).map(tuple),
    params=params,
    time_limit_s=st.floats(min_value=1e-3, max_value=1e6),
    client=addresses,
    label=st.text(),
)
results = st.builds(
    TaskResult,
    task_id=st.integers(0, 2**64 - 1),
    node=addresses,
    program=programs,
    status=st.sampled_from([int(status) for status in ExecStatus]),
    result_hash=st.binary(min_size=32, max_size=32),
    outputs=st.lists(st.binary(max_size=256), max_size=4).map(tuple),
    detail=st.text(),
)
choice_questions = st.builds(
    Question,
    text=st.text(),
    kind=st.just("choice"),
    options=st.lists(st.text(), min_size=2, max_size=6).map(tuple),
    min_value=st.just(0),
    max_value=st.just(0),
)
number_questions = st.tuples(st.integers(-(2**31), 2**31), st.integers(0, 2**31)).map(
    lambda bounds: Question("How many?", "number", (), bounds[0], bounds[0] + bounds[1])
)
questions = choice_questions | number_questions
studies = st.builds(
    Study,
    study_id=st.text(min_size=1),
    client=addresses,
    title=st.text(),
    questions=st.lists(questions, min_size=1, max_size=4).map(tuple),
    key_bundle_ref=blob_ids,
    preset=st.text(),
    audience=params,
)
answers = st.builds(
    Answer,
    study_id=st.text(min_size=1),
    respondent=st.text(),
    question_index=st.integers(0, 2**32),
    ciphertext=st.binary(min_size=1, max_size=512),
)
profiles = st.builds(Profile, respondent=st.text(), preset=st.text(), key_bundle_ref=blob_ids, features=st.binary())

MESSAGES = {
    "TaskManifest": manifests,
    "TaskResult": results,
    "Question": questions,
    "Study": studies,
    "Answer": answers,
    "Profile": profiles,
}


@pytest.mark.parametrize("type_name", sorted(MESSAGES))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_message_round_trips_to_equal_message_and_equal_bytes(type_name: str, data: st.DataObject) -> None:
    """decode(encode(m)) == m with m's own type, and encoding the decoded message gives the same bytes."""
    original = data.draw(MESSAGES[type_name], label=type_name)
    encoded = encode(original)
    decoded = decode(encoded)
    assert type(decoded) is type(original)
    assert decoded == original
    assert encode(decoded) == encoded
