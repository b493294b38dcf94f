"""What the provider publishes for a task: its items' field elements under a salt that keeps them distinct, and
its labels padded so that only a holder of the item can read them."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cipherquorum.exceptions import PsiItemError
from cipherquorum.psi.oprf import MAX_SALT, OprfOutput, field_element, label_pad


@dataclass(frozen=True)
class PublishedSet:
    """One task's share of the provider's set: ``salt``, distinct field elements and padded labels (or None)."""

    salt: int
    items: tuple[int, ...]
    labels: tuple[int, ...] | None


def publish_set(outputs: Sequence[OprfOutput], labels: Sequence[int] | None, plain_modulus: int) -> PublishedSet:
    """Return the set under the first salt whose field elements are distinct; raises PsiItemError if none of
    MAX_SALT salts is (a set far too large for the field)."""
    for salt in range(MAX_SALT):
        felts = tuple(field_element(output, salt, plain_modulus) for output in outputs)
        if len(set(felts)) == len(felts):
            padded = None if labels is None else tuple(
                (label + label_pad(output, plain_modulus)) % plain_modulus for label, output in zip(labels, outputs))
            return PublishedSet(salt, felts, padded)
    raise PsiItemError(f"no salt in [0, {MAX_SALT}) gives {len(outputs)} distinct field elements modulo "
                       f"{plain_modulus} (split the provider set across more tasks)")


def split_sets(outputs: Sequence[OprfOutput], labels: Sequence[int] | None, plain_modulus: int,
               items_per_task: int) -> list[PublishedSet]:
    """Return the provider's set split into tasks of at most ``items_per_task`` items, each published."""
    if items_per_task < 1:
        raise PsiItemError(f'"items_per_task" must be >= 1 (got {items_per_task})')
    return [publish_set(outputs[start:start + items_per_task],
                        None if labels is None else labels[start:start + items_per_task], plain_modulus)
            for start in range(0, len(outputs), items_per_task)]
