"""The PSI provider role (seed 004's bank): holds a set and its labels, answers OPRF queries, publishes its set."""
from __future__ import annotations

from collections.abc import Sequence

from cipherquorum.psi.items import Item, check_items, check_labels
from cipherquorum.psi.oprf import OprfKey
from cipherquorum.psi.published import PublishedSet, split_sets


class PsiProvider:
    """A provider: its items (and labels), its OPRF key, and the per-task sets it publishes to the nodes.

    The key never leaves the role; what leaves is each item's field element (under a salt) and its label plus
    a pad, neither of which names the item to anyone without the key.
    """

    def __init__(self, items: Sequence[Item], labels: Sequence[int] | None, seed: bytes, plain_modulus: int) -> None:
        """Check the items (PsiItemError names a bad or repeated one) and labels (ints in [0, t)); derive the
        OPRF key from ``seed`` and hash every item with it."""
        encoded = check_items(items, "provider_items")
        self._labels = None if labels is None else check_labels(labels, len(encoded), plain_modulus, "labels")
        self._plain_modulus = plain_modulus
        self._key = OprfKey.from_seed(seed)
        self._outputs = self._key.hash_items(encoded)

    @property
    def size(self) -> int:
        """How many items the provider holds."""
        return len(self._outputs)

    def oprf(self, blinded: Sequence[bytes]) -> tuple[bytes, ...]:
        """Return k * P for each blinded point of a requester; raises PsiQueryError for a bad point."""
        return tuple(self._key.evaluate(blinded))

    def publish(self, items_per_task: int) -> list[PublishedSet]:
        """Return the set split into tasks of at most ``items_per_task`` items, each under its own salt."""
        return split_sets(self._outputs, self._labels, self._plain_modulus, items_per_task)
