"""Fixtures for the wire tests: one valid instance of every message the roles exchange, and a re-packer."""
from __future__ import annotations

from collections.abc import Callable

import msgpack
import pytest

from cipherquorum.storage import blob_id_of
from cipherquorum.wire import Answer, Profile, Question, Study, TaskManifest, TaskResult

KEY_BUNDLE_REF = blob_id_of(b"key bundle")
INPUT_REFS = (blob_id_of(b"input 0"), blob_id_of(b"input 1"))


@pytest.fixture
def sample_messages() -> dict[str, object]:
    """One valid, fully populated message of each type, by type name."""
    questions = (
        Question(text="Which fruit?", kind="choice", options=("apple", "pear", "plum"), min_value=0, max_value=0),
        Question(text="Age?", kind="number", options=(), min_value=18, max_value=99),
    )
    return {
        "TaskManifest": TaskManifest(
            program="histogram@1", preset="bfv-small", key_bundle_ref=KEY_BUNDLE_REF, input_refs=INPUT_REFS,
            params={"bins": 3, "scale": 0.5, "labels": ("a", "b"), "clip": True}, time_limit_s=60.0,
            client="0x00000000000000000000000000000000000000A1", label="study-1/q0 histogram",
        ),
        "TaskResult": TaskResult(
            task_id=7, node="0x00000000000000000000000000000000000000B2", program="histogram@1", status=0,
            result_hash=bytes(range(32)), outputs=(b"\x5e\xa1" * 64, b""), detail="",
        ),
        "Question": questions[0],
        "Study": Study(
            study_id="study-1", client="0x00000000000000000000000000000000000000A1", title="Fruit and age",
            questions=questions, key_bundle_ref=KEY_BUNDLE_REF, preset="bfv-small",
            audience={"min_age": 18, "regions": ("eu", "us")},
        ),
        "Answer": Answer(study_id="study-1", respondent="r-0001", question_index=1, ciphertext=b"\x01\x02\x03"),
        "Profile": Profile(respondent="r-0001", preset="bfv-small", key_bundle_ref=KEY_BUNDLE_REF,
                           features=b"\x09" * 48),
    }


@pytest.fixture
def tamper() -> Callable[[bytes, Callable[[dict], object]], bytes]:
    """A function that unpacks an encoded message, lets ``change`` edit the envelope dict, and repacks it."""

    def repack(encoded: bytes, change: Callable[[dict], object]) -> bytes:
        envelope = msgpack.unpackb(encoded)
        change(envelope)
        return msgpack.packb(envelope, use_bin_type=True)

    return repack
