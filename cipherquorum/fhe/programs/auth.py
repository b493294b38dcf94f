"""The market study's secure programs: a room's masked PIN response and a client's encrypted profile match.

``pin_mask@1`` adds, for each user, the room's mask (encrypted under that user's public key) to the PIN the
user encrypted under the same key. Addition needs no evaluation key, and every user of one preset shares the
context parameters, so one task serves many users, each pair under its own user's key: only the holder of a
user's secret key can read that user's response, and the mask never appears in plaintext anywhere.

``profile_match@1`` scores profiles against a client's target-group criteria that are themselves encrypted
under the client's key, so neither the nodes nor the respondents can read them. Each respondent encodes its
one-hot profile p in its own block of slots; the program sums the block-placed profiles into one ciphertext per
group, adds the tiled criteria c, squares, and folds each block into its first slot: sum_j (p_j + c_j)**2 =
|p| + 2*(p . c) + |c| for 0/1 vectors, one squaring deep (a product of two ciphertexts would need a subtraction
and a negation, which cost a 30-bit plaintext factor of noise each). The client, who knows |c| and the number of
attributes |p|, reads the score p . c from it (``match_score``).
"""
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
    check_param_names,
    first_slots,
    int_param,
    padded,
)

MAX_PIN_USERS = 4096
"""Most users one pin_mask task serves (two inputs each)."""

MAX_MATCH_WIDTH = 256
"""Widest profile block (slots per respondent) a profile match takes; a power of two."""

MAX_MATCH_INPUTS = 1 + 8192
"""Criteria plus at most this many profiles in one match task."""


def centered(value: int, modulus: int) -> int:
    """Return ``value`` reduced modulo ``modulus`` into the signed range a BFV slot decrypts to."""
    reduced = value % modulus
    return reduced - modulus if reduced > (modulus - 1) // 2 else reduced


class PinMaskProgram(Program):
    """For each user k, inputs 2k (the PIN) and 2k+1 (the room's mask), both under that user's key: PIN + mask.

    No params; an even number of inputs, at least two. Output k is user k's response ciphertext.
    """

    name = "pin_mask"
    version = 1
    scheme = "bfv"
    summary = "per user: encrypted PIN + the room's encrypted mask (inputs in pairs, one pair per user)"

    def key_needs(self, params: Params) -> KeyNeeds:
        """Additions need no evaluation key."""
        return KeyNeeds()

    def validate_params(self, params: Params, n_inputs: int) -> None:
        """Take no params and an even count of 2..2*MAX_PIN_USERS inputs."""
        check_param_names(self.ref, params, ())
        check_input_count(self.ref, n_inputs, 2, 2 * MAX_PIN_USERS)
        if n_inputs % 2:
            raise ValidationError(f"{self.ref} takes inputs in (PIN, mask) pairs (got an odd count {n_inputs})")

    def _evaluate(self, ops: CipherOps, inputs: list[seal.PyCtxt], params: Params) -> list[seal.PyCtxt]:
        results = []
        for pin, mask in zip(inputs[0::2], inputs[1::2]):
            response = ops.copy(pin)
            ops.add_inplace(response, mask)
            results.append(response)
        return results

    def reference(self, plain_inputs: Sequence[Sequence[Number]], params: Params) -> list[PlainVector]:
        """For each pair: PIN + mask slot-wise, reduced as bfv-2048 slots decrypt (use ``reference_mod``)."""
        return self.reference_mod(plain_inputs, 7340033)

    def reference_mod(self, plain_inputs: Sequence[Sequence[Number]], plain_modulus: int) -> list[PlainVector]:
        """For each (PIN, mask) pair: their slot-wise sum, centred modulo ``plain_modulus``."""
        if len(plain_inputs) % 2:
            raise ValidationError(f"{self.ref} takes inputs in (PIN, mask) pairs (got {len(plain_inputs)})")
        results: list[PlainVector] = []
        for pin, mask in zip(plain_inputs[0::2], plain_inputs[1::2]):
            width = max(len(pin), len(mask))
            pairs = zip(padded(pin, width, "PIN"), padded(mask, width, "mask"))
            results.append([centered(int(p) + int(m), plain_modulus) for p, m in pairs])
        return results

    def decode(self, decrypted: Sequence[Sequence[Number]], params: Params) -> object:
        """The responses, one int vector per user."""
        return [[int(v) for v in vector] for vector in decrypted]


def _fold_steps(width: int) -> tuple[int, ...]:
    steps, step = [], 1
    while step < width:
        steps.append(step)
        step *= 2
    return tuple(steps)


def match_score(folded: int, attributes: int, criteria_weight: int) -> int:
    """Return p . c from a profile_match slot sum_j (p_j + c_j)**2, given |p| (the attribute count) and |c|.

    Raises ValidationError when the slot is not what a one-hot profile of ``attributes`` values can give.
    """
    twice = folded - attributes - criteria_weight
    if twice % 2 or not 0 <= twice // 2 <= attributes:
        raise ValidationError(
            f"profile match slot {folded} is not |p| + 2*score + |c| for |p|={attributes}, |c|={criteria_weight} "
            "with 0 <= score <= |p| (the profile is not one-hot)"
        )
    return twice // 2


class ProfileMatchProgram(Program):
    """Folded squares of block-placed profiles plus encrypted criteria (params: width, blocks).

    Input 0 is the criteria: the client's 0/1 acceptance vector of ``width`` slots, tiled ``blocks`` times,
    encrypted under the client's key. Input 1 + k is profile k, a one-hot vector placed in slots
    [b*width, (b+1)*width) with b = k mod blocks. Output g holds, in slot b*width, sum_j (p_j + c_j)**2 over
    the block of profile g*blocks + b (``match_score`` turns it into the score). Other slots hold partial sums.
    """

    name = "profile_match"
    version = 1
    scheme = "bfv"
    summary = "per block-placed profile, sum of (profile + encrypted criteria)**2 over its block; params: width, blocks"

    def _shape(self, params: Params) -> tuple[int, int]:
        width = int_param(params, "width", low=1, high=MAX_MATCH_WIDTH)
        if width & (width - 1):
            raise ValidationError(f'"width" must be a power of two (got width={width})')
        blocks = int_param(params, "blocks", low=1, high=8192)
        return width, blocks

    def key_needs(self, params: Params) -> KeyNeeds:
        """Relinearization (the square) and rotations 1, 2, 4, ... below the width."""
        width, _ = self._shape(params)
        return KeyNeeds(relin=True, rotation_steps=_fold_steps(width))

    def validate_params(self, params: Params, n_inputs: int) -> None:
        """Take width (a power of two) and blocks, the criteria and at least one profile."""
        check_param_names(self.ref, params, ("width", "blocks"))
        self._shape(params)
        check_input_count(self.ref, n_inputs, 2, MAX_MATCH_INPUTS)

    def _evaluate(self, ops: CipherOps, inputs: list[seal.PyCtxt], params: Params) -> list[seal.PyCtxt]:
        width, blocks = self._shape(params)
        row = ops.preset.row_slots
        if width * blocks > ops.preset.slots or row % width:
            raise ValidationError(
                f'"width" x "blocks" must fit the {ops.preset.slots} slots in whole rows of {row} '
                f"(got width={width}, blocks={blocks})"
            )
        criteria, profiles = inputs[0], inputs[1:]
        results = []
        for start in range(0, len(profiles), blocks):
            group = ops.sum(profiles[start:start + blocks])
            ops.add_inplace(group, criteria)
            folded = ops.square(group)
            for step in _fold_steps(width):
                ops.add_inplace(folded, ops.rotate(folded, step))
            results.append(folded)
        return results

    def reference(self, plain_inputs: Sequence[Sequence[Number]], params: Params) -> list[PlainVector]:
        """For each group of ``blocks`` profiles: slot b*width of each block (the other slots are not fixed, so
        the reference holds the block starts only, in order)."""
        width, blocks = self._shape(params)
        criteria = padded(plain_inputs[0], width * blocks, "criteria")
        profiles = plain_inputs[1:]
        results: list[PlainVector] = []
        for start in range(0, len(profiles), blocks):
            starts = []
            for offset, profile in enumerate(profiles[start:start + blocks]):
                placed = padded(profile, width * blocks, f"profile {start + offset}")
                base = offset * width
                starts.append(sum((int(placed[base + j]) + int(criteria[base + j])) ** 2 for j in range(width)))
            results.append(starts)
        return results

    def decode(self, decrypted: Sequence[Sequence[Number]], params: Params) -> object:
        """The folded sums in profile order: slot b*width of each result, ``blocks`` per result."""
        width, blocks = self._shape(params)
        vectors = first_slots(decrypted, len(decrypted), width * blocks, self.ref)
        return [int(vector[b * width]) for vector in vectors for b in range(blocks)]
