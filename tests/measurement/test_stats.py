"""Percentiles, summaries and time buckets behave as the load report needs."""
from __future__ import annotations

import pytest

from cipherquorum.exceptions import ValidationError
from cipherquorum.measurement.stats import alternating_cpu_ms, bucket_counts, percentile, summarize


@pytest.mark.parametrize("samples, q, expected", [
    ([5.0], 50, 5.0), ([1.0, 2.0, 3.0, 4.0], 50, 2.5), ([4.0, 1.0, 3.0, 2.0], 0, 1.0),
    ([1.0, 2.0, 3.0, 4.0], 100, 4.0), (list(map(float, range(1, 101))), 95, 95.05),
    (list(map(float, range(1, 101))), 99, 99.01),
])
def test_percentile_interpolates_between_order_statistics(samples, q, expected) -> None:
    """The q-th percentile interpolates linearly between the sorted samples around its rank."""
    assert percentile(samples, q) == pytest.approx(expected)


@pytest.mark.parametrize("samples, q, message", [([], 50, "no samples"), ([1.0], -1, "q"), ([1.0], 100.5, "q")])
def test_percentile_refuses_what_is_undefined(samples, q, message) -> None:
    """No samples, or a q outside [0, 100], is a ValidationError naming the problem."""
    with pytest.raises(ValidationError, match=message):
        percentile(samples, q)


def test_summary_of_durations_and_of_nothing() -> None:
    """A summary counts, totals and ranks durations; an empty one is all zeros."""
    summary = summarize([0.5, 1.5, 1.0])
    assert (summary.count, summary.total_s, summary.mean_s, summary.min_s, summary.max_s) == (3, 3.0, 1.0, 0.5, 1.5)
    assert summary.p50_s == 1.0
    assert summarize([]).count == 0 and summarize([]).p99_s == 0.0
    assert summary.as_dict(2)["mean_s"] == 1.0


def test_bucket_counts_place_events_by_time() -> None:
    """Events fall in their bucket, the end belongs to the last bucket, and outsiders are not counted."""
    assert bucket_counts([10.0, 10.4, 11.2, 12.0, 9.9, 12.1], 10.0, 12.0, 1.0) == [2, 2]
    assert bucket_counts([], 0.0, 0.0, 1.0) == [0]
    with pytest.raises(ValidationError, match="bucket_s"):
        bucket_counts([], 0.0, 1.0, 0)


def test_alternating_cpu_ms_calls_each_variant_in_turn_and_reports_a_median_per_call() -> None:
    """Each round calls every variant ``repeats`` times in turn; a variant that burns CPU measures above one
    that does not."""
    calls: list[str] = []

    def busy() -> None:
        calls.append("busy")
        sum(range(20_000))

    medians = alternating_cpu_ms({"idle": lambda: calls.append("idle"), "busy": busy}, rounds=3, repeats=2)
    assert calls == ["idle", "idle", "busy", "busy"] * 3
    assert set(medians) == {"idle", "busy"} and medians["busy"] > medians["idle"] >= 0


@pytest.mark.parametrize("variants, rounds, repeats", [({}, 1, 1), ({"a": int}, 0, 1), ({"a": int}, 1, 0)])
def test_alternating_cpu_ms_refuses_nothing_to_time(variants, rounds, repeats) -> None:
    with pytest.raises(ValidationError, match="alternating_cpu_ms needs"):
        alternating_cpu_ms(variants, rounds, repeats)
