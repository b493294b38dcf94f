"""PSI items and labels as the two sides give them, checked and turned into the bytes that are hashed."""
from __future__ import annotations

from collections.abc import Sequence

from cipherquorum.exceptions import PsiItemError

Item = bytes | str | int
"""An identifier either side holds: bytes, text or an integer."""

MAX_ITEM_BYTES = 1024
"""Longest encoded item (an identifier, not a document)."""
MAX_INT_BITS = 256
"""Largest integer item, in bits."""
_TAGS = {bytes: b"b", str: b"s", int: b"i"}


def item_bytes(item: object, where: str = "item") -> bytes:
    """Return the tagged bytes of ``item`` that the OPRF hashes (so b"7", "7" and 7 are three items).

    Raises PsiItemError naming ``where`` and the value when the item is not bytes, str or int (a bool is
    not an int here), is empty, too long, or a str that is not valid Unicode.
    """
    if isinstance(item, bool) or not isinstance(item, (bytes, str, int)):
        raise PsiItemError(f'"{where}" must be bytes, str or int to hash to the field (got {type(item).__name__} '
                           f"{item!r:.60})")
    if isinstance(item, int):
        if item.bit_length() > MAX_INT_BITS:
            raise PsiItemError(f'"{where}" must be an int of <= {MAX_INT_BITS} bits (got {item.bit_length()} bits)')
        body = item.to_bytes(MAX_INT_BITS // 8 + 1, "big", signed=True)
    elif isinstance(item, str):
        try:
            body = item.encode("utf-8")
        except UnicodeEncodeError:
            raise PsiItemError(f'"{where}" must be valid Unicode text (got {item!r:.60})') from None
    else:
        body = item
    if not body or len(body) > MAX_ITEM_BYTES:
        raise PsiItemError(f'"{where}" must encode to 1..{MAX_ITEM_BYTES} bytes (got {len(body)} bytes: {item!r:.60})')
    return _TAGS[type(item)] + body


def check_items(items: Sequence[object], what: str) -> list[bytes]:
    """Return the tagged bytes of every item; raises PsiItemError for a bad item or a repeated one."""
    encoded = [item_bytes(item, f"{what}[{index}]") for index, item in enumerate(items)]
    seen: dict[bytes, int] = {}
    for index, data in enumerate(encoded):
        if data in seen:
            raise PsiItemError(f'"{what}[{index}]" repeats "{what}[{seen[data]}]" (got {items[index]!r:.60})')
        seen[data] = index
    return encoded


def check_labels(labels: Sequence[object], count: int, bound: int, what: str) -> list[int]:
    """Return the labels as ints; raises PsiItemError unless there are ``count`` ints in [0, bound)."""
    if len(labels) != count:
        raise PsiItemError(f'"{what}" must hold one label per item ({count}) (got {len(labels)})')
    for index, label in enumerate(labels):
        if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < bound:
            raise PsiItemError(f'"{what}[{index}]" must be an int in [0, {bound}) (got {label!r:.60})')
    return [int(label) for label in labels]  # type: ignore[call-overload]  # checked above
