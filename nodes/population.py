"""The respondent population: thousands of logical respondents hosted by a few shard actors."""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from cipherquorum.fhe import Encryptor, KeyBundle
from cipherquorum.measurement.spans import Phase, PhaseSpan, ProcessUsage, SpanRecorder, process_usage
from cipherquorum.nodes.hosting import ActorHost, PendingCall, Placement
from cipherquorum.nodes.storage_host import STORAGE_RETRY, StorageRetry
from cipherquorum.settings.scenario import Question, Study
from cipherquorum.storage import IndexedStore
from cipherquorum.types import BlobId

UPLOAD_BATCH = 256
"""Answers uploaded to storage per call."""


@dataclass(frozen=True)
class ShardAnswers:
    """What one shard's respondents answered to a study.

    ``refs[q]`` are the blob ids of the encrypted answers to question q, one per respondent, in respondent
    order. ``plain[q]`` are the same answers in plaintext: the simulation's ground truth, which only the run's
    report uses to check the decrypted results (no role of the market ever sees it). ``spans`` time each
    encryption and each batch upload.
    """

    shard: int
    respondents: tuple[str, ...]
    refs: tuple[tuple[BlobId, ...], ...]
    plain: tuple[tuple[tuple[int, ...], ...], ...]
    spans: tuple[PhaseSpan, ...] = field(default=(), repr=False)


def respondent_answer(seed: str, study_id: str, respondent: str, question: Question) -> tuple[int, ...]:
    """The answer a respondent gives to a question: deterministic in (seed, study, respondent, question)."""
    rng = random.Random(f"{seed}/{study_id}/{respondent}/{question.text}")
    if question.kind == "choice":
        weights = [1.0 / (i + 1) for i in range(len(question.options))]
        choice = rng.choices(range(len(question.options)), weights=weights)[0]
        return tuple(1 if i == choice else 0 for i in range(len(question.options)))
    return (rng.randint(question.min_value, question.max_value),)


class RespondentShard:
    """Hosts respondents ``first .. first + count - 1``; each answers studies under the study's public key."""

    def __init__(self, seed: str, shard: int, first: int, count: int, store: IndexedStore,
                 retry: StorageRetry = STORAGE_RETRY) -> None:
        self._seed = seed
        self._shard = shard
        self._respondents = tuple(f"respondent-{i:06d}" for i in range(first, first + count))
        self._store = store
        self._retry = retry

    def answer(self, study: Study, key_bundle_ref: BlobId, limit: int) -> ShardAnswers:
        """Encrypt the first ``limit`` respondents' answers to every question, store them and index them.

        A restarting storage is waited for (the retry policy's budget); raises StorageError if it is not back
        in time, and KeyBundleError if the study's keys are not a key bundle.
        """
        respondents = self._respondents[:max(0, limit)]
        spans = SpanRecorder(f"population-{self._shard}")
        bundle = self._retry.call("fetch the study's key bundle", lambda: self._store.get(key_bundle_ref))
        encryptor = Encryptor.from_bundle(KeyBundle.from_bytes(bundle))
        refs: list[tuple[BlobId, ...]] = []
        plain: list[tuple[tuple[int, ...], ...]] = []
        for index, question in enumerate(study.questions):
            answers = [respondent_answer(self._seed, study.study_id, r, question) for r in respondents]
            ids: list[BlobId] = []
            for start in range(0, len(answers), UPLOAD_BATCH):
                batch = answers[start:start + UPLOAD_BATCH]
                blobs = []
                for answer in batch:
                    start_s = time.time()
                    blobs.append(encryptor.encrypt(list(answer)).to_bytes())
                    spans.add(Phase.ENCRYPT, 0, start_s, time.time())
                with spans.span(Phase.UPLOAD, items=len(blobs)):
                    ids.extend(self._retry.call("store answers", lambda: self._store.put_many(blobs)))
            rows = [(r, "answer", f"{study.study_id}/q{index}", blob) for r, blob in zip(respondents, ids)]
            with spans.span(Phase.INDEX, items=len(ids)):
                self._retry.call("index answers", lambda: self._store.publish_many(rows))
            refs.append(tuple(ids))
            plain.append(tuple(answers))
        return ShardAnswers(self._shard, respondents, tuple(refs), tuple(plain), spans.spans())

    def usage(self) -> ProcessUsage:
        """The CPU and memory of the shard's process."""
        return process_usage(f"population-{self._shard}")


class RespondentShardHandle:
    """Typed handle on a respondent shard hosted in its own actor."""

    def __init__(self, seed: str, shard: int, first: int, count: int, store: IndexedStore, *,
                 clustered: bool) -> None:
        self.count = count
        self._host: ActorHost[RespondentShard] = ActorHost(
            RespondentShard, seed, shard, first, count, store, name=f"population-{shard}",
            title=f"respondent shard {shard}", placement=Placement(spread=clustered))

    def submit_answer(self, study: Study, key_bundle_ref: BlobId, limit: int) -> PendingCall[ShardAnswers]:
        """Start answering a study; the pending call returns the shard's ShardAnswers."""
        return self._host.submit("answer", study, key_bundle_ref, limit)

    def usage(self) -> ProcessUsage:
        """The CPU and memory of the shard's process."""
        return self._host.call("usage", timeout_s=60)

    def shutdown(self) -> None:
        """End the shard's process."""
        self._host.kill()
