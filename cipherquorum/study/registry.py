"""The compute nodes of one grid point: their stakes in registration order, and which of them are byzantine."""
from __future__ import annotations

from dataclasses import dataclass

from cipherquorum.exceptions import ValidationError


@dataclass(frozen=True)
class Registry:
    """Nodes as they register with the market, in order: each one's stake, and whether it is byzantine.

    Raises ValidationError when the two tuples differ in length, there is no node, or a stake is not positive.
    """

    stakes_wei: tuple[int, ...]
    byzantine: tuple[bool, ...]

    def __post_init__(self) -> None:
        if len(self.stakes_wei) != len(self.byzantine):
            raise ValidationError(f'"byzantine" must flag every node (got {len(self.byzantine)} flags for '
                                  f"{len(self.stakes_wei)} stakes)")
        if not self.stakes_wei:
            raise ValidationError('"stakes_wei" must list at least one node (got none)')
        for index, stake in enumerate(self.stakes_wei):
            if isinstance(stake, bool) or not isinstance(stake, int) or stake <= 0:
                raise ValidationError(f'"stakes_wei" must be positive ints (got stakes_wei[{index}]={stake!r})')

    @property
    def size(self) -> int:
        """How many nodes register."""
        return len(self.stakes_wei)

    @property
    def byzantine_count(self) -> int:
        """How many of the nodes are byzantine."""
        return sum(self.byzantine)

    @property
    def share_by_count(self) -> float:
        """The byzantine nodes' share of the nodes."""
        return self.byzantine_count / self.size

    @property
    def share_by_stake(self) -> float:
        """The byzantine nodes' share of the total stake, the weight the contract draws by."""
        return sum(s for s, bad in zip(self.stakes_wei, self.byzantine) if bad) / sum(self.stakes_wei)


__all__ = ["Registry"]
