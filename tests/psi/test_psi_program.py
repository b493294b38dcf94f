"""psi@1 on real SEAL: replicas agree byte for byte, the requester learns the intersection and its labels only,
the nodes see no requester item, and a query under other parameters or a too large set is refused."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytest

from cipherquorum.fhe import Ciphertext, Evaluator, KeyBundle, SecretKeyOwner, get_preset, get_program
from cipherquorum.fhe.execute import execute
from cipherquorum.fhe.programs.psi import PSI_PRESET
from cipherquorum.nodes.psi_provider import PsiProvider
from cipherquorum.nodes.psi_requester import PsiRequester
from cipherquorum.psi.oprf import label_pad
from cipherquorum.psi.published import PublishedSet
from cipherquorum.psi.reference import plain_intersection
from cipherquorum.psi.task import PsiTask, capacity, query_digest
from cipherquorum.types import ExecStatus

T = int(get_preset(PSI_PRESET).plain_modulus or 0)
SLOTS = get_preset(PSI_PRESET).slots
PROVIDER = [f"{i:012d}" for i in range(0, 600, 3)]
LABELS = [i % 5 for i in range(len(PROVIDER))]
REQUESTER = [f"{i:012d}" for i in range(0, 60, 2)]
PART_SIZE, WINDOW_BITS, MAX_BUNDLES = 8, 1, 8


@dataclass(frozen=True)
class Run:
    """One query of the requester against the provider's set, and the node's outcome."""

    requester: PsiRequester
    share: PublishedSet
    inputs: tuple[bytes, ...]
    params: dict
    bundle: KeyBundle
    outputs: tuple[Ciphertext, ...]
    result_hash: bytes


def _run(labeled: bool) -> Run:
    provider = PsiProvider(PROVIDER, LABELS if labeled else None, b"test-bank", T)
    requester = PsiRequester(REQUESTER, PSI_PRESET)
    requester.receive_oprf(provider.oprf(requester.blinded()))
    (share,) = provider.publish(1000)
    inputs = requester.query(share.salt, PART_SIZE, WINDOW_BITS)
    digest = query_digest([Ciphertext.from_bytes(data).data for data in inputs])
    params = PsiTask(share.items, share.labels, PART_SIZE, WINDOW_BITS, MAX_BUNDLES, digest).to_params()
    bundle = KeyBundle.from_bytes(requester.key_bundle())
    outcome = execute("psi@1", bundle, inputs, params, 120)
    assert outcome.status is ExecStatus.SUCCESS, outcome.detail
    return Run(requester, share, inputs, params, bundle, outcome.outputs, outcome.result_hash)


@pytest.fixture(scope="module")
def labeled() -> Run:
    """A labeled query, run once for the module."""
    return _run(True)


@pytest.fixture(scope="module")
def unlabeled() -> Run:
    """An unlabeled query, run once for the module."""
    return _run(False)


def _read(run: Run, labeled: bool) -> dict[int, int | None]:
    return run.requester.read(run.share.salt, [ct.to_bytes() for ct in run.outputs], labeled)


def test_the_requester_learns_the_intersection_equal_to_plaintext(unlabeled: Run) -> None:
    """Unlabeled: the decrypted matches are exactly the plaintext intersection (20 of 30 items, 10 not)."""
    expected = plain_intersection(REQUESTER, PROVIDER, None)
    assert len(expected) == 10
    assert _read(unlabeled, False) == expected


def test_labeled_psi_returns_each_matching_items_label(labeled: Run) -> None:
    """Labeled: each intersecting item comes with the provider's label, equal to the plaintext reference."""
    expected = plain_intersection(REQUESTER, PROVIDER, LABELS)
    assert len(labeled.outputs) % 2 == 0
    assert _read(labeled, True) == expected


def test_replicas_on_separately_loaded_keys_agree_byte_for_byte(labeled: Run) -> None:
    """Another node, loading the same bundle bytes on its own, gets the same outputs and result hash (the mask
    is seeded from the task's inputs)."""
    again = execute("psi@1", Evaluator.from_bundle(KeyBundle.from_bytes(labeled.bundle.to_bytes())),
                    labeled.inputs, labeled.params, 120)
    assert again.result_hash == labeled.result_hash
    assert [ct.data for ct in again.outputs] == [ct.data for ct in labeled.outputs]


def test_the_results_decrypt_to_the_programs_plaintext_reference(labeled: Run) -> None:
    """Every result slot equals what ``reference`` computes from the plaintext query (no wrap, no noise)."""
    query = labeled.requester._queries[labeled.share.salt].table  # the requester's own table and keys
    felts = labeled.requester._felts(labeled.share.salt)
    x = query.query_vector(felts)
    centred = [v - T if v > (T - 1) // 2 else v for v in x]
    expected = get_program("psi@1").reference([centred], labeled.params)
    decrypted = [labeled.requester._keys.decrypt(ct) for ct in labeled.outputs]
    assert decrypted == expected


def test_the_requester_learns_no_label_of_an_item_outside_the_intersection(labeled: Run) -> None:
    """Attack: at the slots of items the provider lacks, the match result is non-zero and the label result,
    de-padded as for a match, is no valid label (it is uniform in the field)."""
    expected = plain_intersection(REQUESTER, PROVIDER, LABELS)
    requester = labeled.requester
    table = requester._queries[labeled.share.salt].table
    vectors = [np.asarray(requester._keys.decrypt(ct), dtype=np.int64) % T for ct in labeled.outputs]
    assert requester._outputs is not None
    for index, slot in enumerate(table.slot_of):
        if index in expected:
            continue
        for start in range(0, len(vectors), 2):
            assert vectors[start][slot] != 0
            assert (int(vectors[start + 1][slot]) - label_pad(requester._outputs[index], T)) % T >= 5


def test_the_nodes_see_no_requester_item(labeled: Run) -> None:
    """Attack: the nodes' view (params and input bytes) holds neither a requester id nor its field element."""
    felts = labeled.requester._felts(labeled.share.salt)
    view = b"".join(labeled.inputs) + repr(labeled.params).encode()
    for item, felt in zip(REQUESTER, felts):
        assert item.encode() not in view
        assert felt.to_bytes(8, "little") not in view and felt.to_bytes(8, "big") not in view
    members = set(labeled.share.items)
    outside = [f for i, f in enumerate(felts) if i not in plain_intersection(REQUESTER, PROVIDER, None)]
    assert not members & set(outside)  # the published set tells nothing about the requester's other items


def _status(inputs: Sequence[bytes], params: dict, bundle: KeyBundle) -> tuple[ExecStatus, str]:
    outcome = execute("psi@1", bundle, inputs, params, 120)
    return outcome.status, outcome.detail


def test_a_query_under_the_wrong_parameters_is_input_invalid(labeled: Run) -> None:
    """A ciphertext of another preset (bfv-8192) in the query makes the task INPUT_INVALID, not a crash."""
    other = SecretKeyOwner.generate("bfv-8192")
    foreign = [other.encrypt([1, 2, 3]).to_bytes(), *labeled.inputs[1:]]
    status, detail = _status(foreign, labeled.params, labeled.bundle)
    assert status is ExecStatus.INPUT_INVALID and "preset" in detail


def test_a_query_that_is_not_the_digested_one_is_input_invalid(labeled: Run) -> None:
    """Inputs swapped for others (the masks' seed would differ) are refused as INPUT_INVALID."""
    swapped = [labeled.inputs[1], labeled.inputs[0], *labeled.inputs[2:]]
    status, detail = _status(swapped, labeled.params, labeled.bundle)
    assert status is ExecStatus.INPUT_INVALID and "query_digest" in detail


def test_a_provider_set_larger_than_the_task_allows_is_input_invalid(labeled: Run) -> None:
    """A task whose provider set passes its capacity is refused as INPUT_INVALID naming the limit."""
    room = capacity(SLOTS, PART_SIZE, 1)
    params = {**labeled.params, "items": list(range(room + 1)), "max_bundles": 1}
    del params["labels"]
    status, detail = _status(labeled.inputs, params, labeled.bundle)
    assert status is ExecStatus.INPUT_INVALID and f"must number <= {room}" in detail
