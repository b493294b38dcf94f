"""Which keys a program needs, and the public key bundle (context, public, relinearization, rotation keys)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cipherquorum.exceptions import KeyBundleError, ValidationError, WireError
from cipherquorum.fhe.presets import FhePreset, get_preset
from cipherquorum.wire.codec import DEFAULT_MAX_MESSAGE_BYTES, decode, encode, message


@dataclass(frozen=True)
class KeyNeeds:
    """The evaluation keys a program needs: relinearization, and rotation keys for exactly these steps.

    ``rotation_steps`` is normalized to sorted distinct non-zero ints (positive rotates slots left).
    Raises ValidationError for a zero or non-int step.
    """

    relin: bool = False
    rotation_steps: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.relin, bool):
            raise ValidationError(f'"relin" must be a bool (got {self.relin!r})')
        object.__setattr__(self, "rotation_steps", _normalized_steps(self.rotation_steps))

    @classmethod
    def union(cls, needs: Iterable[KeyNeeds]) -> KeyNeeds:
        """Return the needs of running every program in ``needs`` under one key bundle."""
        items = list(needs)
        return cls(
            relin=any(item.relin for item in items),
            rotation_steps=tuple(step for item in items for step in item.rotation_steps),
        )

    def missing_from(self, held: KeyNeeds) -> KeyNeeds:
        """Return what these needs ask for that ``held`` lacks (empty needs when it lacks nothing)."""
        return KeyNeeds(
            relin=self.relin and not held.relin,
            rotation_steps=tuple(step for step in self.rotation_steps if step not in held.rotation_steps),
        )

    def check_covered_by(self, held: KeyNeeds, what: str = "the program") -> None:
        """Raise KeyBundleError naming the keys ``what`` needs that ``held`` lacks."""
        missing = self.missing_from(held)
        if not missing.is_empty():
            raise KeyBundleError(
                f"key bundle lacks keys {what} needs: relin={missing.relin}, "
                f"rotation_steps={missing.rotation_steps} (bundle holds {held})"
            )

    def is_empty(self) -> bool:
        """Whether no evaluation key is needed."""
        return not self.relin and not self.rotation_steps

    def check_preset(self, preset: FhePreset) -> None:
        """Raise ValidationError if ``preset`` cannot hold these keys (no key switching, or a step too long)."""
        if self.is_empty():
            return
        if not preset.supports_key_switching:
            raise ValidationError(
                f"preset {preset.name!r} has one prime and cannot hold relinearization or rotation keys "
                f"(needed: relin={self.relin}, rotation_steps={self.rotation_steps})"
            )
        for step in self.rotation_steps:
            if abs(step) >= preset.row_slots:
                raise ValidationError(
                    f"rotation step must be < {preset.row_slots} in size for preset {preset.name!r} (got {step})"
                )


def _normalized_steps(steps: object) -> tuple[int, ...]:
    if not isinstance(steps, (tuple, list)):
        raise ValidationError(f'"rotation_steps" must be a tuple of ints (got {type(steps).__name__})')
    for step in steps:
        if isinstance(step, bool) or not isinstance(step, int) or step == 0:
            raise ValidationError(f'"rotation_steps" must hold non-zero ints (got {step!r})')
    return tuple(sorted(set(steps)))


@message("KeyBundle")
@dataclass(frozen=True)
class KeyBundle:
    """Everything but the secret: a preset's context and the public, relinearization and rotation keys.

    Each part is Pyfhel's uncompressed serialization. ``rotation_key`` holds keys for ``rotation_steps`` only.
    Storage addresses a bundle by the hash of ``to_bytes()``; no id is stored inside.
    Raises ValidationError (UnknownPreset) for an unknown preset, or when the rotation key and steps disagree.
    """

    preset: str
    context: bytes
    public_key: bytes
    relin_key: bytes | None
    rotation_key: bytes | None
    rotation_steps: tuple[int, ...]

    def __post_init__(self) -> None:
        get_preset(self.preset)
        object.__setattr__(self, "rotation_steps", _normalized_steps(self.rotation_steps))
        if (self.rotation_key is None) != (not self.rotation_steps):
            raise ValidationError(
                f"a rotation key must come with its steps (got rotation_key of "
                f"{len(self.rotation_key or b'')} bytes, rotation_steps={self.rotation_steps})"
            )

    @property
    def fhe_preset(self) -> FhePreset:
        """The preset this bundle was generated for."""
        return get_preset(self.preset)

    @property
    def needs(self) -> KeyNeeds:
        """The evaluation keys this bundle holds."""
        return KeyNeeds(relin=self.relin_key is not None, rotation_steps=self.rotation_steps)

    def require(self, needs: KeyNeeds, what: str = "the program") -> None:
        """Raise KeyBundleError naming the keys ``what`` needs that this bundle lacks."""
        needs.check_covered_by(self.needs, what)

    def part_sizes(self) -> dict[str, int]:
        """Bytes taken by each part: context, public, relin and rotation keys."""
        return {
            "context": len(self.context),
            "public_key": len(self.public_key),
            "relin_key": len(self.relin_key or b""),
            "rotation_key": len(self.rotation_key or b""),
        }

    def to_bytes(self, *, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> bytes:
        """Return the wire encoding; raises KeyBundleError if it is larger than ``max_bytes``."""
        try:
            return encode(self, max_bytes=max_bytes)
        except WireError as exc:
            raise KeyBundleError(f"key bundle cannot be encoded: {exc}") from None

    @classmethod
    def from_bytes(cls, data: bytes, *, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> KeyBundle:
        """Return the bundle encoded in ``data``; raises KeyBundleError naming what is wrong with the bytes.

        Only the envelope is checked here; ``Evaluator.from_bundle`` checks the keys against the context.
        """
        try:
            return decode(data, cls, max_bytes=max_bytes)
        except WireError as exc:
            raise KeyBundleError(f"bytes are not a key bundle: {exc}") from None
