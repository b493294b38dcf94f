"""Named FHE parameter presets that scenarios refer to: BFV for integers, CKKS for reals."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from cipherquorum.exceptions import UnknownPreset, ValidationError

Scheme = Literal["bfv", "ckks"]

MAX_COEFF_BITS: Mapping[int, Mapping[int, int]] = MappingProxyType({
    128: MappingProxyType({1024: 27, 2048: 54, 4096: 109, 8192: 218, 16384: 438, 32768: 881}),
    192: MappingProxyType({1024: 19, 2048: 37, 4096: 75, 8192: 152, 16384: 305, 32768: 611}),
    256: MappingProxyType({1024: 14, 2048: 29, 4096: 58, 8192: 118, 16384: 237, 32768: 476}),
})
"""Largest total coefficient-modulus size (bits) for each security level and ring degree n, from the
HomomorphicEncryption.org standard (classical attacks, ternary secrets). Presets are checked against it."""


@dataclass(frozen=True)
class FhePreset:
    """One FHE parameter set: scheme, ring degree ``n``, coefficient-modulus prime sizes and security level.

    BFV presets set ``plain_modulus`` (a prime = 1 mod 2n, so values are batched into ``n`` slots); CKKS
    presets set ``scale_bits`` (values are encoded at scale 2**scale_bits into n/2 slots). ``programs``
    lists the refs ("name@version") whose noise and key needs this preset meets.
    Raises ValidationError when the fields contradict each other or exceed the security bound.
    """

    name: str
    scheme: Scheme
    n: int
    qi_sizes: tuple[int, ...]
    sec: int
    programs: tuple[str, ...]
    description: str
    plain_modulus: int | None = None
    scale_bits: int | None = None

    def __post_init__(self) -> None:
        if self.scheme not in ("bfv", "ckks"):
            raise ValidationError(f'"scheme" must be "bfv" or "ckks" (got scheme={self.scheme!r})')
        bounds = MAX_COEFF_BITS.get(self.sec)
        if bounds is None:
            raise ValidationError(f'"sec" must be one of {sorted(MAX_COEFF_BITS)} (got sec={self.sec})')
        if self.n not in bounds:
            raise ValidationError(f'"n" must be one of {sorted(bounds)} (got n={self.n})')
        if not self.qi_sizes or any(not 20 <= bits <= 60 for bits in self.qi_sizes):
            raise ValidationError(f'"qi_sizes" must be primes of 20..60 bits (got qi_sizes={self.qi_sizes})')
        if sum(self.qi_sizes) > bounds[self.n]:
            raise ValidationError(
                f'"qi_sizes" must total <= {bounds[self.n]} bits for n={self.n} at sec={self.sec} '
                f"(got {sum(self.qi_sizes)} bits)"
            )
        if self.scheme == "bfv":
            self._check_bfv()
        else:
            self._check_ckks()

    def _check_bfv(self) -> None:
        t = self.plain_modulus
        if self.scale_bits is not None:
            raise ValidationError(f'"scale_bits" must be None for bfv (got scale_bits={self.scale_bits})')
        if t is None or t < 3 or (t - 1) % (2 * self.n) != 0 or not _is_prime(t):
            raise ValidationError(
                f'"plain_modulus" must be a prime = 1 mod 2n={2 * self.n} for batching (got plain_modulus={t})'
            )

    def _check_ckks(self) -> None:
        if self.plain_modulus is not None:
            raise ValidationError(f'"plain_modulus" must be None for ckks (got plain_modulus={self.plain_modulus})')
        bits = self.scale_bits
        if bits is None or not 20 <= bits < self.qi_sizes[0]:
            raise ValidationError(
                f'"scale_bits" must be in [20, {self.qi_sizes[0]}) for ckks (got scale_bits={bits})'
            )
        if len(self.qi_sizes) < 3:
            raise ValidationError(f'"qi_sizes" must hold >= 3 primes for ckks (got qi_sizes={self.qi_sizes})')

    @property
    def slots(self) -> int:
        """Values one ciphertext holds: n for BFV (two rows of n/2), n/2 for CKKS."""
        return self.n if self.scheme == "bfv" else self.n // 2

    @property
    def row_slots(self) -> int:
        """Slots a rotation moves values around in: n/2 for both schemes (a BFV rotation turns each row)."""
        return self.n // 2

    @property
    def data_primes(self) -> int:
        """Primes a fresh ciphertext carries: all but the special key-switching prime, when there is one."""
        return max(1, len(self.qi_sizes) - 1)

    @property
    def supports_key_switching(self) -> bool:
        """Whether relinearization and rotation keys exist (SEAL needs a special prime, so >= 2 primes)."""
        return len(self.qi_sizes) >= 2

    @property
    def max_level(self) -> int:
        """Moduli a ciphertext can drop (CKKS rescales) before one prime is left."""
        return self.data_primes - 1

    @property
    def plain_bound(self) -> int:
        """Largest |value| a BFV slot holds exactly, (t - 1) / 2; larger results wrap around modulo t."""
        if self.plain_modulus is None:
            raise ValidationError(f"preset {self.name!r} is {self.scheme}: it has no plain modulus")
        return (self.plain_modulus - 1) // 2

    @property
    def max_abs_value(self) -> float:
        """Largest |value| accepted for encryption: plain_bound for BFV, 2**(q0 - scale - 1) for CKKS."""
        if self.scheme == "bfv":
            return float(self.plain_bound)
        return float(2 ** (self.qi_sizes[0] - int(self.scale_bits or 0) - 1))

    def supports(self, program_ref: str) -> bool:
        """Return whether the program ``name@version`` is listed for this preset."""
        return program_ref in self.programs


def _is_prime(value: int) -> bool:
    """Deterministic Miller-Rabin for 64-bit integers."""
    if value < 2:
        return False
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)
    for p in small:
        if value % p == 0:
            return value == p
    d, r = value - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for a in small:
        x = pow(a, d, value)
        if x in (1, value - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, value)
            if x == value - 1:
                break
        else:
            return False
    return True


_AGGREGATES = ("sum@1", "mean@1", "histogram@1")

PRESETS: Mapping[str, FhePreset] = MappingProxyType({
    preset.name: preset
    for preset in (
        FhePreset(
            name="bfv-2048",
            scheme="bfv",
            n=2048,
            qi_sizes=(54,),
            sec=128,
            plain_modulus=7340033,
            programs=(*_AGGREGATES, "pin_mask@1"),
            description=(
                "additions only, smallest ciphertexts (32.9 kB): one 54-bit prime, so no relinearization or "
                "rotation keys. t=7340033 (23 bits) holds sums up to +-3,670,016; a fresh ciphertext has 21 bits "
                "of noise budget and 14 remain after summing 10,000 independent ciphertexts (7 when the same "
                "ciphertext is added 10,000 times). t=65537 would keep 21 bits after that sum but wraps sums past "
                "+-32,768, too small for a 1-5 scale over 10,000 respondents."
            ),
        ),
        FhePreset(
            name="bfv-8192",
            scheme="bfv",
            n=8192,
            qi_sizes=(60, 60, 60),
            sec=128,
            plain_modulus=1073692673,
            programs=(*_AGGREGATES, "weighted_score@1", "pin_challenge@1", "variance@1",
                      "pin_mask@1", "profile_match@1"),
            description=(
                "one multiplication: variance, weighted scores, PIN challenges. Three 60-bit primes (180 of the "
                "218 bits allowed) keep ciphertexts at 262 kB and each key-switching key near 0.8 MB; "
                "t=1073692673 (30 bits) holds results up to +-536,846,336."
            ),
        ),
        FhePreset(
            name="bfv-8192-psi",
            scheme="bfv",
            n=8192,
            qi_sizes=(60, 60, 49, 49),
            sec=128,
            plain_modulus=1073692673,
            programs=("psi@1",),
            description=(
                "private set intersection: 8192 slots are the cuckoo table, t=1073692673 (30 bits) the field. "
                "Four primes (218 bits, the most allowed) leave 131 bits of noise budget fresh, 89 after one "
                "multiplication, 54 after one multiplication and a plaintext product, 11 after two and a "
                "plaintext product (measured): windowed powers up to two multiplications deep, then the "
                "polynomial. Ciphertexts are 393 kB."
            ),
        ),
        FhePreset(
            name="ckks-8192",
            scheme="ckks",
            n=8192,
            qi_sizes=(60, 40, 40, 60),
            sec=128,
            scale_bits=40,
            programs=("linear_square@1",),
            description=(
                "reals at scale 2**40 with two rescales: a linear layer then a square activation "
                "(4096 slots; 393 kB fresh ciphertexts)."
            ),
        ),
        FhePreset(
            name="ckks-8192-l3",
            scheme="ckks",
            n=8192,
            qi_sizes=(50, 35, 35, 35, 60),
            sec=128,
            scale_bits=35,
            programs=("packed_layers@1",),
            description=(
                "reals at scale 2**35 with three rescales (215 of the 218 bits allowed): dense, square, dense "
                "for split inference. Values up to +-16,384 (a 50-bit last prime over a 35-bit scale); 4096 "
                "slots; 524 kB fresh ciphertexts."
            ),
        ),
        FhePreset(
            name="bfv-8192-wide",
            scheme="bfv",
            n=8192,
            qi_sizes=(55, 55, 48, 60),
            sec=128,
            plain_modulus=68719230977,
            programs=("joint_moments@1", "sum@1"),
            description=(
                "joint statistics: one multiplication, rotations and a plaintext mask with a 36-bit plain "
                "modulus, so sums of products up to +-34,359,615,488 stay exact. All 218 bits of n=8192 (158 "
                "data bits): a fresh ciphertext has 114 bits of noise budget, 56 after a product and the fold "
                "over 256 blocks, 15 after the mask; 393 kB ciphertexts, 1.6 MB per key-switching key."
            ),
        ),
    )
})
"""Every preset by name."""


def get_preset(name: str) -> FhePreset:
    """Return the preset called ``name``; raises UnknownPreset listing the known names."""
    preset = PRESETS.get(name) if isinstance(name, str) else None
    if preset is None:
        raise UnknownPreset(f"No FHE preset is named {name!r} (known: {', '.join(sorted(PRESETS))})")
    return preset
