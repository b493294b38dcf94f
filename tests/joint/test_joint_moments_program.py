"""joint_moments@1 on Pyfhel: exact sums of products over several owners' chunks, and its refusals."""
from __future__ import annotations

import re

import numpy as np
import pytest

from cipherquorum.exceptions import PlainCapacityExceeded, ValidationError
from cipherquorum.fhe import Deadline, Evaluator, SecretKeyOwner, get_preset, get_program
from cipherquorum.fhe.programs.joint import MomentSums, check_moment_capacity, layout_of, pack_chunk
from cipherquorum.joint.moments import plain_sums

PROGRAM = get_program("joint_moments@1")


def _owner_rows(seed: int, counts: list[int]) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.column_stack([rng.integers(-50, 51, n), rng.integers(-90, 91, n)]) for n in counts]


def test_sums_of_products_over_three_owners_equal_numpy(small_keys: SecretKeyOwner, small_params: dict) -> None:
    """The decrypted result decodes to the pooled rows' count, sums and X^T X, exactly, slot for slot."""
    layout = layout_of(small_params)
    owners = _owner_rows(1, [700, 1, 2048])  # 2048 rows fill one chunk; 700 and 1 leave padding
    chunks = [pack_chunk(rows[start:start + layout.rows_per_chunk].tolist(), layout)
              for rows in owners for start in range(0, len(rows), layout.rows_per_chunk)]
    results = PROGRAM.run(Evaluator.from_bundle(small_keys.bundle), [small_keys.encrypt(c) for c in chunks],
                          small_params, Deadline(120))
    decrypted = small_keys.decrypt(results[0])
    assert decrypted == PROGRAM.reference(chunks, small_params)[0]
    assert PROGRAM.decode([decrypted], small_params) == plain_sums(np.vstack(owners))
    assert small_keys.noise_budget_bits(results[0]) > 0


def test_replicas_give_byte_identical_results(small_keys: SecretKeyOwner, small_params: dict) -> None:
    """Two evaluators loaded separately from the bundle produce the same result bytes (consensus needs it)."""
    layout = layout_of(small_params)
    inputs = [small_keys.encrypt(pack_chunk(rows.tolist(), layout)) for rows in _owner_rows(2, [5, 6, 7])]
    first, second = (PROGRAM.run(Evaluator.from_bundle(small_keys.bundle), inputs, small_params, Deadline(120))
                     for _ in range(2))
    assert first[0].data == second[0].data


def test_result_hides_every_single_row(small_keys: SecretKeyOwner, small_params: dict) -> None:
    """Slots outside the kept blocks decrypt to 0: no row's values, and no partial sum, is left in the result."""
    layout = layout_of(small_params)
    inputs = [small_keys.encrypt(pack_chunk(rows.tolist(), layout)) for rows in _owner_rows(3, [9, 9, 9])]
    decrypted = small_keys.decrypt(PROGRAM.run(Evaluator.from_bundle(small_keys.bundle), inputs, small_params,
                                               Deadline(120))[0])
    kept = {half + shift * layout.width + i for half in (0, layout.row_slots)
            for shift in range(layout.columns) for i in range(layout.columns - shift)}
    assert all(value == 0 for slot, value in enumerate(decrypted) if slot not in kept)
    assert len(kept) == 2 * 6


def test_decode_reads_both_bfv_rows(small_params: dict) -> None:
    """A sum split over the two BFV rows is added back together by decode."""
    layout = layout_of(small_params)
    vector = [0] * layout.slots
    vector[0], vector[layout.row_slots] = 3, 4  # count 3 + 4
    vector[layout.width], vector[layout.row_slots + layout.width] = 10, -2  # shift 1, column 0: sum of column 1
    vector[1] = 5  # shift 0, column 1: sum of column 1 squared
    assert PROGRAM.decode([vector], small_params) == MomentSums(count=7, sums=(8, 0), products=((5, 0), (0, 0)))


@pytest.mark.parametrize(("params", "message"), [
    ({"columns": 1, "bounds": [1], "row_slots": 4096}, '"columns" must be an int in [2, 64]'),
    ({"columns": 3, "bounds": [1, 5], "row_slots": 4096}, '"bounds" must hold one bound per column (3)'),
    ({"columns": 3, "bounds": [2, 5, 5], "row_slots": 4096}, "bounds[0]=1"),
    ({"columns": 3, "bounds": [1, 5, 5], "row_slots": 3000}, '"row_slots" must be a power of two'),
    ({"columns": 3, "bounds": [1, 5, 5]}, 'parameter "row_slots" is required'),
    ({"columns": 3, "bounds": [1, 5, 5], "row_slots": 4096, "w": 1}, "takes no parameter 'w'"),
    ({"columns": 40, "bounds": [1] * 40, "row_slots": 1024}, "width*columns <= row_slots"),
])
def test_bad_params_are_refused(params: dict, message: str) -> None:
    """Each broken parameter gives a ValidationError that names it."""
    with pytest.raises(ValidationError, match=re.escape(message)):
        PROGRAM.validate_params(params, 1)


@pytest.mark.parametrize(("bounds", "rows", "fits"), [
    ([1, 2000, 400], 8000, True),
    ([1, 2000, 400], 9000, False),   # 9000 * 2000**2 = 3.6e10 > 3.4e10
    ([1, 10**5, 1], 3, True),
    ([1, 10**5, 1], 4, False),   # 4 * 10**10 > 3.4e10
])
def test_capacity_check_refuses_sums_that_could_wrap(bounds: list[int], rows: int, fits: bool) -> None:
    """Rows whose sums of products could pass bfv-8192-wide's plain bound are refused with the values named."""
    bound = get_preset("bfv-8192-wide").plain_bound
    if fits:
        check_moment_capacity(bounds, rows, bound)
    else:
        with pytest.raises(PlainCapacityExceeded, match=f"rows={rows}"):
            check_moment_capacity(bounds, rows, bound)


def test_program_refuses_inputs_that_could_wrap(small_keys: SecretKeyOwner, small_params: dict) -> None:
    """A node refuses a task whose bounds let the sums pass the plain modulus (before any multiplication)."""
    params = {**small_params, "bounds": [1, 50, 10**6]}
    layout = layout_of(params)
    inputs = [small_keys.encrypt(pack_chunk([[1, 2]], layout))]
    with pytest.raises(PlainCapacityExceeded, match="past the plain modulus bound"):
        PROGRAM.run(Evaluator.from_bundle(small_keys.bundle), inputs, params, Deadline(120))


def test_reference_refuses_a_value_past_its_bound(small_params: dict) -> None:
    """The plaintext reference checks each slot against its column's bound."""
    layout = layout_of(small_params)
    with pytest.raises(ValidationError, match=r"column 2\) must be within \+-90 \(got 91\)"):
        PROGRAM.reference([pack_chunk([[0, 91]], layout)], small_params)
