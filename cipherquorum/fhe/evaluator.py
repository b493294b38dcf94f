"""Public-key sides of a key bundle: an Encryptor for respondents and an Evaluator for compute nodes.

``Evaluator.ops(deadline)`` gives programs their operations; every one checks the deadline first, so a
program cannot forget to, and every Pyfhel error becomes a project error.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from Pyfhel import PyPtxt

from cipherquorum.exceptions import KeyBundleError, ProgramError, ValidationError
from cipherquorum.fhe import seal
from cipherquorum.fhe.ciphertext import Ciphertext, load_ciphertext, wrap_ciphertext
from cipherquorum.fhe.deadline import Deadline
from cipherquorum.fhe.keys import KeyBundle, KeyNeeds
from cipherquorum.fhe.presets import FhePreset

Number = int | float
PlainValues = Sequence[Number] | np.ndarray
"""Plaintext slot values: a sequence of numbers, or a 1-D numpy array (checked in one vectorized step)."""


class Encryptor:
    """Encrypts value vectors under a bundle's public key. Build it once and reuse it for many encryptions.

    Pickles as its bundle (and is rebuilt from it), so it can be handed to another process.
    """

    def __init__(self, he: seal.Pyfhel, bundle: KeyBundle) -> None:
        """Wrap a Pyfhel object that holds ``bundle``'s context and public key (use ``from_bundle``)."""
        self._he = he
        self._bundle = bundle
        self._preset = bundle.fhe_preset

    @classmethod
    def from_bundle(cls, bundle: KeyBundle) -> Encryptor:
        """Return an encryptor holding only the bundle's context and public key; raises KeyBundleError."""
        he = seal.load_context(bundle.context, bundle.fhe_preset)
        seal.load_key(he, "public", bundle.public_key)
        return cls(he, bundle)

    def __reduce__(self) -> tuple[object, tuple[KeyBundle]]:
        return (Encryptor.from_bundle, (self._bundle,))

    @property
    def preset(self) -> FhePreset:
        """The preset values are encrypted under."""
        return self._preset

    def encrypt(self, values: Sequence[Number]) -> Ciphertext:
        """Return a fresh ciphertext of ``values`` in the first slots (the other slots hold 0).

        BFV takes ints with |v| <= preset.plain_bound, CKKS finite reals with |v| <= preset.max_abs_value.
        Raises ValidationError for an empty or too long vector or a value of the wrong type or size.
        """
        preset = self._preset
        if not 1 <= len(values) <= preset.slots:
            raise ValidationError(f"values must number 1..{preset.slots} (got {len(values)})")
        if preset.scheme == "bfv":
            array = seal.as_int64(values, "values", preset.plain_bound)
            with seal.pyfhel_errors("cannot encrypt"):
                ctxt = self._he.encryptInt(array)
        else:
            array = seal.as_float64(values, "values", preset.max_abs_value)
            with seal.pyfhel_errors("cannot encrypt"):
                ctxt = self._he.encryptFrac(array)
        return wrap_ciphertext(preset, ctxt)


class Evaluator:
    """What a compute node holds for one key bundle: the context and the public, relin and rotation keys.

    No secret key, so it can never decrypt. Loading keys is slow: cache one Evaluator per bundle id.
    Pickles as its bundle (and is loaded again from it), so it can be handed to another process.
    """

    def __init__(self, he: seal.Pyfhel, bundle: KeyBundle) -> None:
        """Wrap a Pyfhel object holding all of ``bundle``'s parts (use ``from_bundle``)."""
        self._he = he
        self._bundle = bundle
        self._preset = bundle.fhe_preset
        self._held = bundle.needs

    def __reduce__(self) -> tuple[object, tuple[KeyBundle]]:
        return (Evaluator.from_bundle, (self._bundle,))

    @classmethod
    def from_bundle(cls, bundle: KeyBundle) -> Evaluator:
        """Return an evaluator loaded from the bundle's bytes (a Pyfhel object of its own).

        Raises KeyBundleError if a part does not parse under the context or the preset cannot hold its keys.
        """
        preset = bundle.fhe_preset
        try:
            bundle.needs.check_preset(preset)
        except ValidationError as exc:
            raise KeyBundleError(f"key bundle does not fit its preset: {exc}") from None
        he = seal.load_context(bundle.context, preset)
        seal.load_key(he, "public", bundle.public_key)
        if bundle.relin_key is not None:
            seal.load_key(he, "relin", bundle.relin_key)
        if bundle.rotation_key is not None:
            seal.load_key(he, "rotation", bundle.rotation_key)
        return cls(he, bundle)

    @property
    def preset(self) -> FhePreset:
        """The preset of the bundle this evaluator was loaded from."""
        return self._preset

    @property
    def held_keys(self) -> KeyNeeds:
        """The evaluation keys this evaluator holds."""
        return self._held

    def require(self, needs: KeyNeeds, what: str = "the program") -> None:
        """Raise KeyBundleError naming the keys ``what`` needs that this evaluator lacks."""
        needs.check_covered_by(self._held, what)

    def load(self, ct: Ciphertext) -> seal.PyCtxt:
        """Return ``ct`` loaded under this context; raises CiphertextError if it is not one of its ciphertexts."""
        return load_ciphertext(self._he, self._preset, ct)

    def ops(self, deadline: Deadline) -> CipherOps:
        """Return the operations a program runs, each checking ``deadline`` first."""
        return CipherOps(self._he, self._preset, self._held, deadline)


class CipherOps:
    """The homomorphic operations programs are written in. Each checks the deadline, then runs one SEAL call.

    Operations return new ciphertexts unless named ``*_inplace``. Raises ProgramTimeout past the deadline,
    KeyBundleError for a key the bundle lacks, ProgramError when SEAL rejects an operation.
    """

    def __init__(self, he: seal.Pyfhel, preset: FhePreset, held: KeyNeeds, deadline: Deadline) -> None:
        self._he = he
        self._preset = preset
        self._held = held
        self._deadline = deadline

    @property
    def preset(self) -> FhePreset:
        """The preset the ciphertexts belong to."""
        return self._preset

    def check(self, step: str) -> None:
        """Raise ProgramTimeout if the deadline has passed (for loops that do work between operations)."""
        self._deadline.check(step)

    def load(self, ct: Ciphertext) -> seal.PyCtxt:
        """Return ``ct`` loaded and checked under the context; raises CiphertextError."""
        self._deadline.check("load")
        return load_ciphertext(self._he, self._preset, ct)

    def dump(self, ctxt: seal.PyCtxt) -> Ciphertext:
        """Return the envelope of a result ciphertext."""
        self._deadline.check("dump")
        return wrap_ciphertext(self._preset, ctxt)

    def level(self, ctxt: seal.PyCtxt) -> int:
        """Return how many moduli ``ctxt`` has dropped."""
        return self._preset.data_primes - seal.coeff_moduli_of(ctxt, self._preset.n)

    def copy(self, ctxt: seal.PyCtxt) -> seal.PyCtxt:
        """Return a copy of ``ctxt``."""
        self._deadline.check("copy")
        with seal.pyfhel_errors("copy failed", ProgramError):
            return ctxt.copy()

    def add_inplace(self, acc: seal.PyCtxt, other: seal.PyCtxt) -> None:
        """Add ``other`` into ``acc``."""
        self._deadline.check("add")
        with seal.pyfhel_errors("add failed", ProgramError):
            self._he.add(acc, other, in_new_ctxt=False)

    def sum(self, ctxts: Sequence[seal.PyCtxt]) -> seal.PyCtxt:
        """Return the slot-wise sum of one or more ciphertexts."""
        if not ctxts:
            raise ProgramError("sum needs at least one ciphertext (got 0)")
        acc = self.copy(ctxts[0])
        for other in ctxts[1:]:
            self.add_inplace(acc, other)
        return acc

    def add_plain(self, ctxt: seal.PyCtxt, values: PlainValues, what: str) -> seal.PyCtxt:
        """Return ``ctxt`` plus the plaintext vector ``values`` (named ``what`` in errors), encoded to match it."""
        ptxt = self._encode(values, what, ctxt, match_scale=True)
        self._deadline.check("add_plain")
        with seal.pyfhel_errors(f"adding {what} failed", ProgramError):
            return self._he.add_plain(ctxt, ptxt, in_new_ctxt=True)

    def multiply_plain(self, ctxt: seal.PyCtxt, values: PlainValues, what: str) -> seal.PyCtxt:
        """Return ``ctxt`` times the plaintext vector ``values`` slot-wise (CKKS: at scale 2**scale_bits).

        Raises ValidationError if ``values`` encodes to zero (the product would be a transparent ciphertext).
        """
        product = self.multiply_plain_unless_zero(ctxt, values, what)
        if product is None:
            raise ValidationError(f"{what} must hold a non-zero value (a zero product would not be encrypted)")
        return product

    def multiply_plain_unless_zero(
        self, ctxt: seal.PyCtxt, values: PlainValues, what: str
    ) -> seal.PyCtxt | None:
        """Return ``ctxt`` times ``values`` like ``multiply_plain``, or None when ``values`` encodes to zero
        (all zero, or CKKS values too small for the scale): the product is then an encryption of zero."""
        ptxt = self._encode(values, what, ctxt, match_scale=False)
        if ptxt.is_zero():
            return None
        self._deadline.check("multiply_plain")
        with seal.pyfhel_errors(f"multiplying by {what} failed", ProgramError):
            return self._he.multiply_plain(ctxt, ptxt, in_new_ctxt=True)

    def sum_of_products(self, terms: Iterable[tuple[seal.PyCtxt, PlainValues, str]]) -> seal.PyCtxt | None:
        """Return the sum of ``ctxt * values`` over ``terms`` (ciphertext, plaintext values, their name in errors),
        leaving out the products whose values encode to zero (``multiply_plain_unless_zero``); None when every
        one does. ``terms`` is read lazily, so a caller can rotate as it goes."""
        acc: seal.PyCtxt | None = None
        for ctxt, values, what in terms:
            term = self.multiply_plain_unless_zero(ctxt, values, what)
            if term is None:
                continue
            if acc is None:
                acc = term
            else:
                self.add_inplace(acc, term)
        return acc

    def square(self, ctxt: seal.PyCtxt) -> seal.PyCtxt:
        """Return ``ctxt`` squared slot-wise and relinearized (needs the relinearization key)."""
        if not self._held.relin:
            raise KeyBundleError("key bundle lacks the relinearization key that squaring needs")
        self._deadline.check("square")
        with seal.pyfhel_errors("squaring failed", ProgramError):
            result = self._he.square(ctxt, in_new_ctxt=True)
        self._deadline.check("relinearize")
        with seal.pyfhel_errors("relinearization failed", ProgramError):
            self._he.relinearize(result)
        return result

    def multiply(self, left: seal.PyCtxt, right: seal.PyCtxt) -> seal.PyCtxt:
        """Return ``left`` times ``right`` slot-wise and relinearized (needs the relinearization key)."""
        if not self._held.relin:
            raise KeyBundleError("key bundle lacks the relinearization key that multiplying ciphertexts needs")
        self._deadline.check("multiply")
        with seal.pyfhel_errors("multiplication failed", ProgramError):
            result = self._he.multiply(left, right, in_new_ctxt=True)
        self._deadline.check("relinearize")
        with seal.pyfhel_errors("relinearization failed", ProgramError):
            self._he.relinearize(result)
        return result

    def rescale_inplace(self, ctxt: seal.PyCtxt) -> None:
        """Divide a CKKS ciphertext by its last prime, bringing the scale back down (drops one level)."""
        if self._preset.scheme != "ckks":
            raise ProgramError(f"rescale is for ckks ciphertexts (preset {self._preset.name!r} is bfv)")
        self._deadline.check("rescale")
        with seal.pyfhel_errors("rescale failed", ProgramError):
            self._he.rescale_to_next(ctxt)

    def rotate(self, ctxt: seal.PyCtxt, step: int) -> seal.PyCtxt:
        """Return ``ctxt`` with slots rotated left by ``step`` (right when negative; BFV turns each row)."""
        if step not in self._held.rotation_steps:
            raise KeyBundleError(
                f"key bundle lacks the rotation key for step {step} (holds {self._held.rotation_steps})"
            )
        self._deadline.check("rotate")
        with seal.pyfhel_errors(f"rotation by {step} failed", KeyBundleError):
            return self._he.rotate(ctxt, step, in_new_ctxt=True)

    def _encode(self, values: PlainValues, what: str, ctxt: seal.PyCtxt, *, match_scale: bool) -> PyPtxt:
        preset = self._preset
        if not 1 <= len(values) <= preset.slots:
            raise ValidationError(f"{what} must hold 1..{preset.slots} values (got {len(values)})")
        self._deadline.check("encode")
        if preset.scheme == "bfv":
            array = seal.as_int64(values, what, preset.plain_bound)
            with seal.pyfhel_errors(f"cannot encode {what}", ProgramError):
                return self._he.encodeInt(array)
        array = seal.as_float64(values, what, preset.max_abs_value)
        level = self.level(ctxt)
        with seal.pyfhel_errors(f"cannot encode {what}", ProgramError):
            if match_scale:
                ptxt = self._he.encodeFrac(array, scale=float(ctxt.scale))
            else:
                ptxt = self._he.encodeFrac(array, scale_bits=int(preset.scale_bits or 0))
            for _ in range(level):
                self._he.mod_switch_to_next(ptxt)
        return ptxt
