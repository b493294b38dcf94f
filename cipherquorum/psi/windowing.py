"""Windowing (CLR17 section 4.2): the query's powers the requester sends, and how a node builds every other one.

With window bits w the requester sends x^(j * 2^(w*i)) for 1 <= j < 2^w; every power e <= part_size is the
product of its base-2^w digits' sent powers, multiplied as a balanced tree (depth ceil(log2(digits))).
"""
from __future__ import annotations

from dataclasses import dataclass

from cipherquorum.exceptions import ValidationError


def sent_powers(max_power: int, window_bits: int) -> tuple[int, ...]:
    """Return the exponents the requester encrypts, ascending; raises ValidationError for bad sizes."""
    if max_power < 1 or not 1 <= window_bits <= 8:
        raise ValidationError(f'"part_size" must be >= 1 and "window_bits" in [1, 8] (got part_size={max_power}, '
                              f"window_bits={window_bits})")
    powers: list[int] = []
    shift = 0
    while 1 << shift <= max_power:
        powers.extend(j << shift for j in range(1, 1 << window_bits) if j << shift <= max_power)
        shift += window_bits
    return tuple(sorted(powers))


def _terms(exponent: int, window_bits: int) -> list[int]:
    terms, shift = [], 0
    while exponent:
        digit = exponent & ((1 << window_bits) - 1)
        if digit:
            terms.append(digit << shift)
        exponent >>= window_bits
        shift += window_bits
    return terms


@dataclass(frozen=True)
class PowerPlan:
    """How to get x^1..x^max_power from the sent powers: ``products`` are (target, left, right) in order."""

    sent: tuple[int, ...]
    products: tuple[tuple[int, int, int], ...]
    depth: int

    @classmethod
    def build(cls, max_power: int, window_bits: int) -> PowerPlan:
        """Return the plan for powers up to ``max_power`` with ``window_bits``-bit windows."""
        sent = sent_powers(max_power, window_bits)
        depth_of = {power: 0 for power in sent}
        products: list[tuple[int, int, int]] = []

        def make(terms: list[int]) -> int:
            target = sum(terms)
            if target not in depth_of:
                half = len(terms) // 2
                left, right = make(terms[:half]), make(terms[half:])
                depth_of[target] = max(depth_of[left], depth_of[right]) + 1
                products.append((target, left, right))
            return target

        for exponent in range(1, max_power + 1):
            make(_terms(exponent, window_bits))
        return cls(sent=sent, products=tuple(products), depth=max(depth_of.values()))
