"""The edge to Pyfhel: building and loading contexts and keys, reading ciphertext headers, translating errors.

Nothing outside the fhe package sees a Pyfhel object or a Pyfhel/SEAL exception. Two Pyfhel habits are
guarded here: it silently generates missing relinearization/rotation keys (garbage without a secret key),
and decrypting without a secret key crashes the process; callers check keys before using them.
"""
from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from Pyfhel import PyCtxt, Pyfhel

from cipherquorum.exceptions import CipherQuorumError, CiphertextError, FheError, KeyBundleError, ValidationError
from cipherquorum.fhe.presets import FhePreset

COMPRESSION = "none"
"""Pyfhel here is built without zstd/zlib; every serialization is uncompressed (and so canonical)."""

_SEAL_MAGIC = 0xA15E
_HEADER = struct.Struct("<HBBBBHQ")  # magic, header size, version major, minor, compression, reserved, total size
_CT_FIELDS = struct.Struct("<32sBQQQdQ")  # parms_id, is_ntt_form, size, poly degree, coeff moduli, scale, correction
_LIBRARY_ERRORS = (RuntimeError, ValueError, TypeError, ArithmeticError, MemoryError, IndexError)


@contextmanager
def pyfhel_errors(what: str, error: type[FheError] = FheError) -> Iterator[None]:
    """Turn any Pyfhel/SEAL exception raised inside the block into ``error`` whose message starts with ``what``."""
    try:
        yield
    except CipherQuorumError:
        raise
    except _LIBRARY_ERRORS as exc:
        raise error(f"{what}: {exc}") from None


def new_context(preset: FhePreset) -> Pyfhel:
    """Return a Pyfhel object holding a fresh context for ``preset`` (no keys yet)."""
    he = Pyfhel()
    with pyfhel_errors(f"cannot build the context of preset {preset.name!r}"):
        if preset.scheme == "bfv":
            # Pyfhel ignores qi_sizes for BFV unless sec=0; the preset already checked the security bound.
            status = he.contextGen(
                scheme="bfv", n=preset.n, t=int(preset.plain_modulus or 0), qi_sizes=list(preset.qi_sizes), sec=0
            )
        else:
            status = he.contextGen(
                scheme="ckks",
                n=preset.n,
                scale_bits=int(preset.scale_bits or 0),
                qi_sizes=list(preset.qi_sizes),
                sec=preset.sec,
            )
    if not str(status).startswith("success"):
        raise FheError(f"preset {preset.name!r} is rejected by SEAL: {status}")
    return he


def context_bytes(he: Pyfhel) -> bytes:
    """Return the canonical (uncompressed) serialization of ``he``'s context."""
    with pyfhel_errors("cannot serialize the context"):
        return bytes(he.to_bytes_context(COMPRESSION))


def load_context(data: bytes, preset: FhePreset) -> Pyfhel:
    """Return a Pyfhel object holding the context in ``data``.

    Raises KeyBundleError if the bytes do not parse or describe other parameters than ``preset``.
    """
    he = Pyfhel()
    with pyfhel_errors(f"context bytes do not parse ({len(data)} bytes)", KeyBundleError):
        he.from_bytes_context(bytes(data))
        found = (
            he.scheme.name,
            int(he.n),
            int(he.t),
            tuple(int(bits) for bits in he.qi_sizes),
            int(he.total_coeff_modulus_bit_count),
        )
    data_bits = sum(preset.qi_sizes[: preset.data_primes])
    wanted = (preset.scheme, preset.n, int(preset.plain_modulus or 0), preset.qi_sizes, data_bits)
    if found != wanted:
        raise KeyBundleError(
            f"context must match preset {preset.name!r} (scheme, n, t, qi_sizes, data bits) = {wanted} "
            f"(got {found})"
        )
    return he


def load_key(he: Pyfhel, kind: str, data: bytes) -> None:
    """Load one key (``kind`` is "public", "relin", "rotation" or "secret") into ``he``.

    Raises KeyBundleError if the bytes do not parse under ``he``'s context.
    """
    loaders = {
        "public": he.from_bytes_public_key,
        "relin": he.from_bytes_relin_key,
        "rotation": he.from_bytes_rotate_key,
        "secret": he.from_bytes_secret_key,
    }
    with pyfhel_errors(f"{kind} key does not parse under the context ({len(data)} bytes)", KeyBundleError):
        loaders[kind](bytes(data))


def key_bytes(he: Pyfhel, kind: str) -> bytes:
    """Return the canonical serialization of one key (``kind`` as in ``load_key``) held by ``he``."""
    savers = {
        "public": he.to_bytes_public_key,
        "relin": he.to_bytes_relin_key,
        "rotation": he.to_bytes_rotate_key,
        "secret": he.to_bytes_secret_key,
    }
    with pyfhel_errors(f"cannot serialize the {kind} key"):
        return bytes(savers[kind](COMPRESSION))


@dataclass(frozen=True)
class CiphertextLayout:
    """The header fields of a serialized SEAL ciphertext that say where it sits in the modulus chain."""

    is_ntt_form: bool
    size: int
    poly_degree: int
    coeff_moduli: int
    scale: float

    @property
    def scale_bits(self) -> int:
        """log2 of the CKKS scale, rounded (a rescale leaves the scale near, not at, a power of two)."""
        return round(math.log2(self.scale)) if self.scale > 0 else 0


def read_layout(data: bytes) -> CiphertextLayout:
    """Return the layout fields of an uncompressed SEAL ciphertext; raises CiphertextError if absent."""
    if len(data) < _HEADER.size + _CT_FIELDS.size:
        raise CiphertextError(f"ciphertext is truncated: {len(data)} bytes is shorter than its header")
    magic, header_size, _major, _minor, compression, _reserved, total = _HEADER.unpack_from(data, 0)
    if magic != _SEAL_MAGIC or header_size != _HEADER.size:
        raise CiphertextError(f"ciphertext must start with a SEAL header (got {bytes(data[:4]).hex()})")
    if compression != 0:
        raise CiphertextError(f"ciphertext must be uncompressed (got compression mode {compression})")
    if total != len(data):
        raise CiphertextError(f"ciphertext header says {total} bytes (got {len(data)})")
    _parms, ntt, size, degree, moduli, scale, _correction = _CT_FIELDS.unpack_from(data, _HEADER.size)
    return CiphertextLayout(bool(ntt), int(size), int(degree), int(moduli), float(scale))


def is_transparent(data: bytes, layout: CiphertextLayout) -> bool:
    """Whether every polynomial after the first is zero: such a "ciphertext" shows its plaintext to anyone."""
    mask_bytes = 8 * layout.poly_degree * layout.coeff_moduli * (layout.size - 1)
    return bytes(data).endswith(bytes(mask_bytes))


def parse_ciphertext(he: Pyfhel, data: bytes) -> PyCtxt:
    """Return the ciphertext in ``data`` loaded under ``he``'s context (SEAL checks its parameters and values).

    Raises CiphertextError for truncated, garbage or foreign bytes, or bytes that are not the canonical
    serialization (trailing data, compression), so equal ciphertexts always hash equal.
    """
    with pyfhel_errors(f"bytes are not a ciphertext of this context ({len(data)} bytes)", CiphertextError):
        ctxt = PyCtxt(pyfhel=he, bytestring=bytes(data))
        canonical = ctxt.to_bytes(COMPRESSION)
    if canonical != data:
        raise CiphertextError(
            f"ciphertext bytes must be canonical ({len(canonical)} bytes re-serialized, got {len(data)})"
        )
    return ctxt


def ciphertext_bytes(ctxt: PyCtxt) -> bytes:
    """Return the canonical serialization of ``ctxt``."""
    with pyfhel_errors("cannot serialize a ciphertext"):
        return bytes(ctxt.to_bytes(COMPRESSION))


def as_int64(values: object, what: str, bound: int) -> np.ndarray:
    """Return ``values`` (ints with |v| <= bound) as a contiguous int64 array; raises ValidationError otherwise."""
    if isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype.kind in "iu":
        array = np.ascontiguousarray(values, dtype=np.int64)  # the same checks, vectorized
        outside = np.flatnonzero((array < -bound) | (array > bound))
        if outside.size:
            index = int(outside[0])
            raise ValidationError(f"{what}[{index}] must be in [-{bound}, {bound}] (got {int(values[index])})")
        return array
    items = list(values)  # type: ignore[call-overload]
    for index, value in enumerate(items):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValidationError(f"{what}[{index}] must be an int (got {type(value).__name__} {value!r})")
        if not -bound <= int(value) <= bound:
            raise ValidationError(f"{what}[{index}] must be in [-{bound}, {bound}] (got {int(value)})")
    return np.ascontiguousarray(np.array([int(v) for v in items], dtype=np.int64))


def as_float64(values: object, what: str, bound: float) -> np.ndarray:
    """Return ``values`` (finite reals, |v| <= bound) as a contiguous float64 array; raises ValidationError."""
    if isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype.kind in "fiu":
        array = np.ascontiguousarray(values, dtype=np.float64)  # the same checks, vectorized
        outside = np.flatnonzero(~np.isfinite(array) | (np.abs(array) > bound))
        if outside.size:
            index = int(outside[0])
            raise ValidationError(f"{what}[{index}] must be finite with |value| <= {bound:g} (got {values[index]!r})")
        return array
    items = list(values)  # type: ignore[call-overload]
    for index, value in enumerate(items):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ValidationError(f"{what}[{index}] must be a real number (got {type(value).__name__} {value!r})")
        if not (math.isfinite(float(value)) and abs(float(value)) <= bound):
            raise ValidationError(f"{what}[{index}] must be finite with |value| <= {bound:g} (got {value!r})")
    return np.ascontiguousarray(np.array([float(v) for v in items], dtype=np.float64))


_CT_OVERHEAD_BYTES = _HEADER.size + _CT_FIELDS.size + _HEADER.size + 8
"""Bytes of an uncompressed ciphertext besides its coefficients: two SEAL headers, the fields, a count."""


def coeff_moduli_of(ctxt: PyCtxt, n: int) -> int:
    """Return how many primes a live ciphertext carries, from its serialized size (no serialization done)."""
    with pyfhel_errors("cannot measure a ciphertext"):
        total = int(ctxt.sizeof_ciphertext(COMPRESSION))
        polys = int(ctxt.size())
    moduli, rest = divmod(total - _CT_OVERHEAD_BYTES, 8 * polys * n)
    if rest or moduli < 1:
        raise FheError(f"ciphertext of {total} bytes has no whole number of {n}-coefficient moduli")
    return moduli
