"""Summary statistics for measurements: percentiles, latency summaries, event counts per time bucket, and the CPU
of alternatives timed in alternation."""
from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from cipherquorum.exceptions import ValidationError


def percentile(samples: Sequence[float], q: float) -> float:
    """Return the ``q``-th percentile (0..100) of ``samples`` by linear interpolation between order statistics.

    Raises ValidationError for an empty sequence or ``q`` outside [0, 100].
    """
    if not 0 <= q <= 100:
        raise ValidationError(f'"q" must be in [0, 100] (got q={q})')
    if not samples:
        raise ValidationError("percentile of no samples is undefined (got 0 samples)")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Summary:
    """Count, total, mean, min, p50/p95/p99 and max of a set of durations in seconds (all 0 when empty)."""

    count: int
    total_s: float
    mean_s: float
    min_s: float
    p50_s: float
    p95_s: float
    p99_s: float
    max_s: float

    def as_dict(self, digits: int = 4) -> dict[str, float | int]:
        """The summary as a JSON-ready dict, durations rounded to ``digits`` decimals."""
        return {name: (value if isinstance(value, int) else round(value, digits))
                for name, value in self.__dict__.items()}


def summarize(samples_s: Iterable[float]) -> Summary:
    """Return the Summary of ``samples_s`` (an empty input gives a Summary of zeros)."""
    values = [float(v) for v in samples_s]
    if not values:
        return Summary(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    total = math.fsum(values)
    return Summary(count=len(values), total_s=total, mean_s=total / len(values), min_s=min(values),
                   p50_s=percentile(values, 50), p95_s=percentile(values, 95), p99_s=percentile(values, 99),
                   max_s=max(values))


def bucket_counts(times_s: Iterable[float], start_s: float, end_s: float, bucket_s: float) -> list[int]:
    """Count the events at ``times_s`` in consecutive buckets of ``bucket_s`` from ``start_s`` to ``end_s``.

    Events outside [start_s, end_s] are not counted; the last bucket may be shorter. Raises ValidationError
    for a non-positive bucket or an end before the start.
    """
    if bucket_s <= 0:
        raise ValidationError(f'"bucket_s" must be > 0 (got bucket_s={bucket_s})')
    if end_s < start_s:
        raise ValidationError(f'"end_s" must be >= start_s (got end_s={end_s}, start_s={start_s})')
    buckets = [0] * max(1, math.ceil((end_s - start_s) / bucket_s))
    for t in times_s:
        if start_s <= t <= end_s:
            buckets[min(int((t - start_s) / bucket_s), len(buckets) - 1)] += 1
    return buckets


def alternating_cpu_ms(variants: Mapping[str, Callable[[], object]], rounds: int, repeats: int) -> dict[str, float]:
    """The median over ``rounds`` of each variant's CPU milliseconds (this process's) per call, each round calling
    every variant ``repeats`` times in turn, so that a machine that slows down slows all of them alike.

    Raises ValidationError for no variants or fewer than one round or repeat.
    """
    if not variants or rounds < 1 or repeats < 1:
        raise ValidationError(f"alternating_cpu_ms needs variants, rounds >= 1 and repeats >= 1 "
                              f"(got {len(variants)} variants, rounds={rounds}, repeats={repeats})")
    figures: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, call in variants.items():
            started = time.process_time()
            for _ in range(repeats):
                call()
            figures[name].append(1000 * (time.process_time() - started) / repeats)
    return {name: statistics.median(samples) for name, samples in figures.items()}


__all__ = ["Summary", "alternating_cpu_ms", "bucket_counts", "percentile", "summarize"]
