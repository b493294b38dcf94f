"""Who sees a survey: the room's audience on public profile data (Fig. 8) and the client's target group,
kept secret as encrypted criteria, matched against one-hot profiles in blocks of slots (Fig. 10)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cipherquorum.exceptions import ValidationError
from cipherquorum.marketstudy.profiles import ATTRIBUTES, ProfileValues

BLOCK_WIDTH = 16
"""Slots per respondent in a match ciphertext: the one-hot profile (14 values), padded to a power of two."""

PROFILE_WIDTH = sum(a.buckets for a in ATTRIBUTES)

_OFFSETS = tuple(sum(a.buckets for a in ATTRIBUTES[:i]) for i in range(len(ATTRIBUTES)))


def _accepted(criteria: Mapping[str, Sequence[int]], public_only: bool, what: str) -> dict[str, frozenset[int]]:
    known = {a.name: a for a in ATTRIBUTES}
    result = {}
    for name, buckets in criteria.items():
        attribute = known.get(name)
        if attribute is None:
            raise ValidationError(f'{what} names no attribute {name!r} (known: {", ".join(known)})')
        if public_only and not attribute.public:
            raise ValidationError(f"{what} may only use public attributes (got {name!r})")
        values = frozenset(int(b) for b in buckets)
        if not values or any(not 0 <= b < attribute.buckets for b in values):
            raise ValidationError(f'{what}["{name}"] must list buckets in [0, {attribute.buckets}) '
                                  f"(got {list(buckets)!r})")
        result[name] = values
    return result


@dataclass(frozen=True)
class Audience:
    """A room's audience: accepted buckets of public attributes (an attribute not named accepts all)."""

    accepted: Mapping[str, frozenset[int]]

    @classmethod
    def of(cls, criteria: Mapping[str, Sequence[int]]) -> Audience:
        """Build it from attribute names to bucket lists; raises ValidationError for a private or unknown one."""
        return cls(_accepted(criteria, True, "audience"))

    def admits(self, public: Mapping[str, int]) -> bool:
        """Whether a public profile is a candidate."""
        return all(public.get(name) in buckets for name, buckets in self.accepted.items())


@dataclass(frozen=True)
class TargetGroup:
    """A client's target group: accepted buckets of any attribute; a profile matches when every one is accepted."""

    accepted: Mapping[str, frozenset[int]]

    @classmethod
    def of(cls, criteria: Mapping[str, Sequence[int]]) -> TargetGroup:
        """Build it from attribute names to bucket lists; raises ValidationError for an unknown attribute."""
        return cls(_accepted(criteria, False, "target group"))

    def contains(self, values: ProfileValues) -> bool:
        """The plaintext reference: whether ``values`` is in the group."""
        return all(values.of(name) in buckets for name, buckets in self.accepted.items())

    def criteria(self) -> list[int]:
        """The 0/1 acceptance vector over the one-hot layout, ``BLOCK_WIDTH`` long."""
        vector = [0] * BLOCK_WIDTH
        for attribute, offset in zip(ATTRIBUTES, _OFFSETS):
            accepted = self.accepted.get(attribute.name, frozenset(range(attribute.buckets)))
            for bucket in accepted:
                vector[offset + bucket] = 1
        return vector

    def tiled_criteria(self, blocks: int) -> list[int]:
        """The criteria repeated for ``blocks`` respondents."""
        return self.criteria() * blocks

    @property
    def weight(self) -> int:
        """|c|: how many one-hot slots the criteria accept."""
        return sum(self.criteria())


def one_hot(values: ProfileValues) -> list[int]:
    """The profile as 0/1 values over every attribute's buckets, ``BLOCK_WIDTH`` long."""
    vector = [0] * BLOCK_WIDTH
    for offset, bucket in zip(_OFFSETS, values.buckets):
        vector[offset + bucket] = 1
    return vector


def placed(values: ProfileValues, block: int) -> list[int]:
    """The one-hot profile in block ``block`` of a match ciphertext (zeros before it)."""
    return [0] * (BLOCK_WIDTH * block) + one_hot(values)


def is_match(score: int) -> bool:
    """Whether a decrypted score means every attribute was accepted."""
    return score == len(ATTRIBUTES)
