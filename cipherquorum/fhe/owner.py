"""The key owner: generates a preset's keys, publishes the bundle, keeps the secret key apart and decrypts."""
from __future__ import annotations

import math
from collections.abc import Sequence

from cipherquorum.exceptions import FheError, KeyBundleError, ValidationError
from cipherquorum.fhe import seal
from cipherquorum.fhe.ciphertext import Ciphertext, load_ciphertext
from cipherquorum.fhe.evaluator import Encryptor, Number
from cipherquorum.fhe.keys import KeyBundle, KeyNeeds
from cipherquorum.fhe.presets import FhePreset, get_preset

_PROBE = (1, -2, 3, 5, -8, 13)
_PROBE_TOLERANCE = 1e-3


class SecretKeyOwner:
    """Holds a secret key and the public bundle made with it.

    The secret never enters the bundle; ``secret_key_bytes()`` exports it for the owner's own storage and
    ``from_secret`` brings it back. An owner refuses to be pickled, so it never leaves a process by accident.
    """

    def __init__(self, he: seal.Pyfhel, bundle: KeyBundle) -> None:
        """Wrap a Pyfhel object holding the bundle's context, its public key and the secret key (use
        ``generate`` or ``from_secret``)."""
        self._he = he
        self._bundle = bundle
        self._encryptor = Encryptor(he, bundle)

    def __reduce__(self) -> tuple[object, ...]:
        raise FheError(
            "a SecretKeyOwner is not pickled, so its secret never leaves a process by accident; move "
            "secret_key_bytes() deliberately and rebuild with SecretKeyOwner.from_secret(bundle, secret)"
        )

    @classmethod
    def generate(cls, preset: str, needs: KeyNeeds | None = None) -> SecretKeyOwner:
        """Return an owner with fresh keys for ``preset``: public and secret, plus the evaluation keys in
        ``needs`` (merge the needs of every program to be run with ``KeyNeeds.union``).

        Raises UnknownPreset, or ValidationError if the preset cannot hold the keys asked for.
        """
        fhe_preset = get_preset(preset)
        needs = needs if needs is not None else KeyNeeds()
        needs.check_preset(fhe_preset)
        he = seal.new_context(fhe_preset)
        with seal.pyfhel_errors(f"key generation for preset {preset!r} failed"):
            he.keyGen()
            if needs.relin:
                he.relinKeyGen()
            if needs.rotation_steps:
                he.rotateKeyGen(list(needs.rotation_steps))
        bundle = KeyBundle(
            preset=fhe_preset.name,
            context=seal.context_bytes(he),
            public_key=seal.key_bytes(he, "public"),
            relin_key=seal.key_bytes(he, "relin") if needs.relin else None,
            rotation_key=seal.key_bytes(he, "rotation") if needs.rotation_steps else None,
            rotation_steps=needs.rotation_steps,
        )
        return cls(he, bundle)

    @classmethod
    def from_secret(cls, bundle: KeyBundle, secret: bytes) -> SecretKeyOwner:
        """Return the owner of ``bundle`` from its exported secret key.

        Raises KeyBundleError if the bytes do not parse or the secret does not belong to the bundle's public key.
        """
        fhe_preset = bundle.fhe_preset
        he = seal.load_context(bundle.context, fhe_preset)
        seal.load_key(he, "public", bundle.public_key)
        seal.load_key(he, "secret", secret)
        owner = cls(he, bundle)
        owner._check_key_pair()
        return owner

    def _check_key_pair(self) -> None:
        """Raise KeyBundleError unless a probe encrypted with the public key decrypts with the secret key."""
        got = self.decrypt(self.encrypt(_PROBE), len(_PROBE))
        if any(not math.isclose(g, p, abs_tol=_PROBE_TOLERANCE) for g, p in zip(got, _PROBE)):
            raise KeyBundleError("secret key does not belong to the bundle's public key (a probe did not decrypt)")

    @property
    def bundle(self) -> KeyBundle:
        """The public key bundle to publish."""
        return self._bundle

    @property
    def preset(self) -> FhePreset:
        """The preset the keys were made for."""
        return self._bundle.fhe_preset

    def secret_key_bytes(self) -> bytes:
        """Return the secret key's serialization, for the owner's own storage only."""
        return seal.key_bytes(self._he, "secret")

    def encrypt(self, values: Sequence[Number]) -> Ciphertext:
        """Return a fresh ciphertext of ``values``, as ``Encryptor.encrypt`` does."""
        return self._encryptor.encrypt(values)

    def decrypt(self, ct: Ciphertext, length: int | None = None) -> list[int] | list[float]:
        """Return the first ``length`` slots of ``ct`` (all slots when None): ints for BFV, floats for CKKS.

        Raises CiphertextError if ``ct`` is not a ciphertext of this bundle's parameters, ValidationError for
        a length outside 1..slots.
        """
        preset = self.preset
        count = preset.slots if length is None else length
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= preset.slots:
            raise ValidationError(f'"length" must be in [1, {preset.slots}] (got length={length!r})')
        ctxt = load_ciphertext(self._he, preset, ct)
        with seal.pyfhel_errors("decryption failed"):
            if preset.scheme == "bfv":
                return [int(v) for v in self._he.decryptInt(ctxt)[:count]]
            return [float(v) for v in self._he.decryptFrac(ctxt)[:count]]

    def noise_budget_bits(self, ct: Ciphertext) -> int:
        """Return the invariant noise budget left in a BFV ciphertext (0: it no longer decrypts correctly).

        Raises ValidationError for a CKKS preset (CKKS has no such budget), CiphertextError for a foreign ct.
        """
        if self.preset.scheme != "bfv":
            raise ValidationError(f"noise budget is defined for bfv (preset {self.preset.name!r} is ckks)")
        ctxt = load_ciphertext(self._he, self.preset, ct)
        with seal.pyfhel_errors("cannot measure the noise budget"):
            return int(self._he.noise_level(ctxt))
