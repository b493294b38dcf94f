"""The ciphertext envelope (scheme, preset, level, CKKS scale, canonical bytes), its checks and result hashes."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eth_hash.auto import keccak

from cipherquorum.exceptions import CiphertextError, WireError
from cipherquorum.fhe import seal
from cipherquorum.fhe.keys import KeyBundle
from cipherquorum.fhe.presets import FhePreset, get_preset
from cipherquorum.types import Hash32
from cipherquorum.wire.codec import DEFAULT_MAX_MESSAGE_BYTES, decode, encode, message

if TYPE_CHECKING:
    from cipherquorum.fhe.evaluator import Evaluator

CIPHERTEXT_SIZE = 2
"""Polynomials in an accepted ciphertext: results are relinearized, so every ciphertext has two."""


@message("Ciphertext")
@dataclass(frozen=True)
class Ciphertext:
    """One ciphertext with what Pyfhel does not carry itself: scheme, preset, level and CKKS scale.

    ``data`` is SEAL's canonical uncompressed serialization; ``level`` counts the moduli dropped so far
    (0 when fresh); ``scale_bits`` is log2 of the CKKS scale, None for BFV.
    Raises CiphertextError when the fields contradict the preset (checked again against the bytes on load).
    """

    scheme: str
    preset: str
    level: int
    scale_bits: int | None
    data: bytes

    def __post_init__(self) -> None:
        preset = get_preset(self.preset)
        if self.scheme != preset.scheme:
            raise CiphertextError(
                f'"scheme" must be {preset.scheme!r} for preset {preset.name!r} (got scheme={self.scheme!r})'
            )
        if isinstance(self.level, bool) or not isinstance(self.level, int) or not 0 <= self.level <= preset.max_level:
            raise CiphertextError(f'"level" must be in [0, {preset.max_level}] (got level={self.level!r})')
        if (self.scale_bits is None) != (preset.scheme == "bfv"):
            raise CiphertextError(
                f'"scale_bits" must be set for ckks and None for bfv (got scale_bits={self.scale_bits!r})'
            )
        if not isinstance(self.data, bytes) or not self.data:
            raise CiphertextError(f'"data" must be non-empty bytes (got {type(self.data).__name__})')

    @property
    def fhe_preset(self) -> FhePreset:
        """The preset this ciphertext claims to belong to."""
        return get_preset(self.preset)

    def to_bytes(self) -> bytes:
        """Return the wire encoding of the envelope."""
        return encode(self)

    @classmethod
    def from_bytes(cls, data: bytes, *, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> Ciphertext:
        """Return the envelope encoded in ``data``; raises CiphertextError naming what is wrong.

        Only the envelope is checked; ``check_ciphertext`` checks the bytes against a key bundle.
        """
        try:
            return decode(data, cls, max_bytes=max_bytes)
        except WireError as exc:
            raise CiphertextError(f"bytes are not a ciphertext envelope: {exc}") from None


def result_hash(ciphertexts: Sequence[Ciphertext]) -> Hash32:
    """Return keccak256 over each ciphertext's canonical bytes in order, each prefixed by its 8-byte length."""
    parts = bytearray()
    for ct in ciphertexts:
        parts += len(ct.data).to_bytes(8, "big")
        parts += ct.data
    return Hash32(keccak(bytes(parts)))


def load_ciphertext(he: seal.Pyfhel, preset: FhePreset, ct: Ciphertext) -> seal.PyCtxt:
    """Return ``ct`` as a Pyfhel ciphertext under ``he`` (a context of ``preset``), level and scale restored.

    Raises CiphertextError if ``ct`` belongs to another preset, its bytes are truncated, garbage, not
    canonical or made under other parameters, it is not relinearized or not encrypted (transparent), or its
    level/scale disagree with the bytes.
    """
    if ct.preset != preset.name:
        raise CiphertextError(f"ciphertext must belong to preset {preset.name!r} (got {ct.preset!r})")
    layout = seal.read_layout(ct.data)
    if layout.poly_degree != preset.n:
        raise CiphertextError(f"ciphertext degree must be n={preset.n} (got {layout.poly_degree})")
    if layout.size != CIPHERTEXT_SIZE:
        raise CiphertextError(f"ciphertext must hold {CIPHERTEXT_SIZE} polynomials (got {layout.size})")
    level = _level_of(preset, layout)
    if ct.level != level:
        raise CiphertextError(f"ciphertext level must match its bytes (envelope level={ct.level}, bytes {level})")
    if preset.scheme == "ckks" and ct.scale_bits != layout.scale_bits:
        raise CiphertextError(
            f"ciphertext scale must match its bytes (envelope scale_bits={ct.scale_bits}, bytes {layout.scale_bits})"
        )
    ctxt = seal.parse_ciphertext(he, ct.data)
    if seal.is_transparent(ct.data, layout):
        raise CiphertextError("ciphertext is transparent: its mask polynomial is zero, so it is not encrypted")
    ctxt.mod_level = level
    return ctxt


def wrap_ciphertext(preset: FhePreset, ctxt: seal.PyCtxt) -> Ciphertext:
    """Return the envelope of a Pyfhel ciphertext of ``preset``, reading level and scale from its bytes."""
    data = seal.ciphertext_bytes(ctxt)
    layout = seal.read_layout(data)
    return Ciphertext(
        scheme=preset.scheme,
        preset=preset.name,
        level=_level_of(preset, layout),
        scale_bits=layout.scale_bits if preset.scheme == "ckks" else None,
        data=data,
    )


def _level_of(preset: FhePreset, layout: seal.CiphertextLayout) -> int:
    if not 1 <= layout.coeff_moduli <= preset.data_primes:
        raise CiphertextError(
            f"ciphertext must carry 1..{preset.data_primes} moduli for preset {preset.name!r} "
            f"(got {layout.coeff_moduli})"
        )
    return preset.data_primes - layout.coeff_moduli


def check_ciphertext(ct: Ciphertext, target: KeyBundle | Evaluator) -> None:
    """Raise CiphertextError unless ``ct`` is a ciphertext of the parameters of ``target`` (a key bundle or an
    evaluator built from one): same preset, bytes that SEAL accepts under that context, matching level/scale.

    Raises KeyBundleError if ``target`` is a bundle whose context does not parse.
    """
    if isinstance(target, KeyBundle):
        preset = target.fhe_preset
        load_ciphertext(seal.load_context(target.context, preset), preset, ct)
    else:
        target.load(ct)
