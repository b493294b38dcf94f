"""The plaintext intersection the encrypted run is checked against, computed in the same run."""
from __future__ import annotations

from collections.abc import Sequence

from cipherquorum.psi.items import Item, item_bytes


def plain_intersection(requester: Sequence[Item], provider: Sequence[Item],
                       labels: Sequence[int] | None) -> dict[int, int | None]:
    """Return, for each requester item (by index) that the provider holds, the provider's label (None unlabeled)."""
    where = {item_bytes(item): index for index, item in enumerate(provider)}
    found: dict[int, int | None] = {}
    for index, item in enumerate(requester):
        at = where.get(item_bytes(item))
        if at is not None:
            found[index] = None if labels is None else int(labels[at])
    return found
