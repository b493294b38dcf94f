"""Per-input BFV programs: a weighted score for audience matching and the chat room's PIN challenge."""
from __future__ import annotations

from collections.abc import Sequence

from cipherquorum.exceptions import ValidationError
from cipherquorum.fhe import seal
from cipherquorum.fhe.evaluator import CipherOps, Number
from cipherquorum.fhe.keys import KeyNeeds
from cipherquorum.fhe.programs.base import (
    Params,
    PlainVector,
    Program,
    check_input_count,
    check_not_all_zero,
    check_param_names,
    first_slots,
    int_param,
    number_list_param,
    padded,
)

MAX_FEATURES = 1024
"""Most profile features a weighted score takes."""

MAX_PIN = 999_999
"""Largest PIN (6 digits); with |a| <= MAX_PIN_FACTOR and |b| <= MAX_PIN_OFFSET, a*x+b stays inside
bfv-8192's plain range (+-536,846,336), so the response never wraps."""

MAX_PIN_FACTOR = 511
MAX_PIN_OFFSET = 2**20


def _sum_steps(width: int) -> tuple[int, ...]:
    """Rotation steps 1, 2, 4, ... that fold the first ``width`` slots (rounded up to a power of 2) into slot 0."""
    steps, step = [], 1
    while step < width:
        steps.append(step)
        step *= 2
    return tuple(steps)


class WeightedScoreProgram(Program):
    """The dot product of each input profile with plaintext integer weights (params: weights).

    One result per input, the score in slot 0 and every other slot 0 (a slot mask clears the partial sums).
    """

    name = "weighted_score"
    version = 1
    scheme = "bfv"
    summary = "dot product of each input with plaintext weights, one score ciphertext per input; params: weights"

    def _weights(self, params: Params) -> list[int]:
        return number_list_param(params, "weights", kind=int, max_len=MAX_FEATURES)

    def key_needs(self, params: Params) -> KeyNeeds:
        """Rotation keys for steps 1, 2, 4, ... below the weight count."""
        return KeyNeeds(rotation_steps=_sum_steps(len(self._weights(params))))

    def validate_params(self, params: Params, n_inputs: int) -> None:
        """Take non-empty int weights, not all zero, and at least one input."""
        check_param_names(self.ref, params, ("weights",))
        check_not_all_zero("weights", self._weights(params))
        check_input_count(self.ref, n_inputs, 1)

    def _evaluate(self, ops: CipherOps, inputs: list[seal.PyCtxt], params: Params) -> list[seal.PyCtxt]:
        weights = self._weights(params)
        steps = _sum_steps(len(weights))
        results = []
        for ctxt in inputs:
            folded = ops.multiply_plain(ctxt, weights, "weights")
            for step in steps:
                ops.add_inplace(folded, ops.rotate(folded, step))
            results.append(ops.multiply_plain(folded, [1], "slot-0 mask"))
        return results

    def reference(self, plain_inputs: Sequence[Sequence[Number]], params: Params) -> list[PlainVector]:
        """One single-slot vector per input: its dot product with the weights."""
        weights = self._weights(params)
        return [
            [sum(w * int(x) for w, x in zip(weights, padded(vector, len(weights), f"input {index}")))]
            for index, vector in enumerate(plain_inputs)
        ]

    def decode(self, decrypted: Sequence[Sequence[Number]], params: Params) -> object:
        """The list of scores, one per result."""
        return [int(vector[0]) for vector in first_slots(decrypted, len(decrypted), 1, self.ref)]


class PinChallengeProgram(Program):
    """The chat room's authentication game: from an encrypted PIN x, compute a*x + b (params: a != 0, b).

    INSECURE, kept registered for old manifests only: a and b sit in plaintext in the task manifest, which
    anyone can read, so anyone who knows the PIN can answer without the user's secret key. The market study
    uses ``pin_mask@1`` (cipherquorum/fhe/programs/auth.py), whose mask is encrypted under the user's key.
    """

    name = "pin_challenge"
    version = 1
    scheme = "bfv"
    summary = "a*x+b on one encrypted PIN; params: a (non-zero), b"

    def key_needs(self, params: Params) -> KeyNeeds:
        """A plaintext multiply and add need no evaluation key."""
        return KeyNeeds()

    def validate_params(self, params: Params, n_inputs: int) -> None:
        """Take ints a (non-zero, |a| <= MAX_PIN_FACTOR) and b (|b| <= MAX_PIN_OFFSET), and exactly one input."""
        check_param_names(self.ref, params, ("a", "b"))
        check_not_all_zero("a", [int_param(params, "a", low=-MAX_PIN_FACTOR, high=MAX_PIN_FACTOR)])
        int_param(params, "b", low=-MAX_PIN_OFFSET, high=MAX_PIN_OFFSET)
        check_input_count(self.ref, n_inputs, 1, 1)

    def _evaluate(self, ops: CipherOps, inputs: list[seal.PyCtxt], params: Params) -> list[seal.PyCtxt]:
        slots = ops.preset.slots
        scaled = ops.multiply_plain(inputs[0], [int(params["a"])] * slots, "a")  # type: ignore[call-overload]
        return [ops.add_plain(scaled, [int(params["b"])] * slots, "b")]  # type: ignore[call-overload]

    def reference(self, plain_inputs: Sequence[Sequence[Number]], params: Params) -> list[PlainVector]:
        """One vector: a*x + b for each value of the input; raises ValidationError for a PIN outside 0..MAX_PIN."""
        a, b = int(params["a"]), int(params["b"])  # type: ignore[call-overload]
        for x in plain_inputs[0]:
            if isinstance(x, bool) or not isinstance(x, int) or not 0 <= x <= MAX_PIN:
                raise ValidationError(f"a PIN must be an int in [0, {MAX_PIN}] (got {x!r})")
        return [[a * int(x) + b for x in plain_inputs[0]]]

    def decode(self, decrypted: Sequence[Sequence[Number]], params: Params) -> object:
        """The PIN response: slot 0 of the result."""
        return int(first_slots(decrypted, 1, 1, self.ref)[0][0])

