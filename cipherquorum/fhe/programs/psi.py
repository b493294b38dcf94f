"""The PSI node program (CLR17 / APSI): the provider's masked bin polynomials evaluated on the encrypted query."""
from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np

from cipherquorum.exceptions import ProgramError, ValidationError
from cipherquorum.fhe import seal
from cipherquorum.fhe.evaluator import CipherOps, Number
from cipherquorum.fhe.keys import KeyNeeds
from cipherquorum.fhe.presets import get_preset
from cipherquorum.fhe.programs.base import Params, PlainVector, Program, check_input_count, first_slots
from cipherquorum.psi.field import Vector
from cipherquorum.psi.task import PsiTask, query_digest

PSI_PRESET = "bfv-8192-psi"
"""The preset PSI runs on: its slots are the cuckoo table, its plain modulus the field."""


def _psi_shape() -> tuple[int, int]:
    preset = get_preset(PSI_PRESET)
    return preset.slots, int(preset.plain_modulus or 0)


def _as_values(array: Vector) -> Sequence[Number]:
    """An int64 array where CipherOps takes a sequence (it checks an array's bounds vectorized)."""
    return cast("Sequence[Number]", array)


def _centred(values: Vector, t: int) -> Vector:
    """Field elements in [0, t) as the signed slot values BFV encodes, in [-(t-1)/2, (t-1)/2]."""
    return np.where(values > (t - 1) // 2, values - t, values)


class PsiProgram(Program):
    """Private set intersection, labeled or not, on one query (the requester's cuckoo table, windowed powers).

    Inputs: the query's sent powers x^e, ascending e (``PsiTask.plan.sent``). Params: the provider's field
    elements ``items``, optional padded ``labels``, ``part_size``, ``window_bits``, ``max_bundles`` and the
    ``query_digest`` of the inputs. Outputs: per bundle, r * P(x) (0 where the slot's item is in that
    bundle's part of its bin), then, when labeled, L(x) + r' * P(x).
    """

    name = "psi"
    version = 1
    scheme = "bfv"
    summary = ("labeled or unlabeled PSI: masked bin polynomials of the provider's items on the windowed query; "
               "params: items, labels, part_size, window_bits, max_bundles, query_digest")

    def _task(self, params: Params, slots: int | None = None, t: int | None = None) -> PsiTask:
        if slots is None or t is None:
            slots, t = _psi_shape()
        return PsiTask.from_params(params, slots, t)

    def key_needs(self, params: Params) -> KeyNeeds:
        """The relinearization key, when the window leaves powers to build."""
        return KeyNeeds(relin=bool(self._task(params).plan.products))

    def validate_params(self, params: Params, n_inputs: int) -> None:
        """Check the params against the psi preset's slots and modulus, and one input per sent power."""
        task = self._task(params)
        check_input_count(self.ref, n_inputs, len(task.plan.sent), len(task.plan.sent))

    def _evaluate(self, ops: CipherOps, inputs: list[seal.PyCtxt], params: Params) -> list[seal.PyCtxt]:
        preset = ops.preset
        t = int(preset.plain_modulus or 0)
        task = self._task(params, preset.slots, t)
        if query_digest([seal.ciphertext_bytes(ctxt) for ctxt in inputs]) != task.query_digest:
            raise ValidationError('"query_digest" must be the sha256 of the input ciphertexts (it is not)')
        plan = task.plan
        powers = dict(zip(plan.sent, inputs))
        for target, left, right in plan.products:
            powers[target] = ops.multiply(powers[left], powers[right])
        results = []
        for index, coeffs in enumerate(task.coefficients(preset.slots, t)):
            ops.check(f"bundle {index}")
            results.append(self._polynomial(ops, powers, coeffs.match, t, f"bundle {index} match"))
            if coeffs.label is not None:
                results.append(self._polynomial(ops, powers, coeffs.label, t, f"bundle {index} label"))
        return results

    @staticmethod
    def _polynomial(ops: CipherOps, powers: dict[int, seal.PyCtxt], coeffs: Vector, t: int,
                    what: str) -> seal.PyCtxt:
        """Return sum_k coeffs[:, k] * x^k, slot-wise."""
        acc = ops.sum_of_products((powers[degree], _as_values(_centred(coeffs[:, degree], t)),
                                   f"{what} coefficient {degree}") for degree in range(coeffs.shape[1] - 1, 0, -1))
        if acc is None:
            raise ProgramError(f"{what}: every coefficient of degree >= 1 is zero (no provider item in the bundle)")
        return ops.add_plain(acc, _as_values(_centred(coeffs[:, 0], t)), f"{what} constant")

    def reference(self, plain_inputs: Sequence[Sequence[Number]], params: Params) -> list[PlainVector]:
        """What each result decrypts to (signed slot values), from the query's first power x (its slot values)."""
        slots, t = _psi_shape()
        task = self._task(params, slots, t)
        query = [int(v) for v in plain_inputs[0]]
        return [[int(v) for v in _centred(vector, t)] for vector in task.expected(query, slots, t)]

    def decode(self, decrypted: Sequence[Sequence[Number]], params: Params) -> object:
        """The result vectors as lists of ints (the requester reads them against its cuckoo table)."""
        return [list(map(int, vector)) for vector in first_slots(decrypted, len(decrypted), 1, self.ref)]


