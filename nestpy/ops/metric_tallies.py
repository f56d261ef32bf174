"""Counts and latency histograms kept as plain Python numbers on the event loop, exported to
Prometheus only when scraped (a ``prometheus_client`` custom collector).

Counting costs a dict lookup, two additions and a C bisect per message: far less than
``prometheus_client``'s locked ``Counter.inc`` / ``Histogram.observe`` on every message.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

__all__ = ["Tally", "TallyCollector"]


class Tally:
    """Outcome counts and a latency histogram for one label set (e.g. one pattern)."""

    __slots__ = ("buckets", "outcomes", "total_seconds")

    def __init__(self, bucket_count: int) -> None:
        self.outcomes: dict[str, int] = {}
        self.buckets = [0] * (bucket_count + 1)  # the last one is +Inf
        self.total_seconds = 0.0

    def add(self, bounds: tuple[float, ...], seconds: float, outcome: str) -> None:
        """Count one call."""
        outcomes = self.outcomes
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        self.buckets[bisect_left(bounds, seconds)] += 1
        self.total_seconds += seconds


class TallyCollector:
    """A collector exporting tallies keyed by label values as a counter and a histogram."""

    def __init__(
        self,
        counter: tuple[str, str, tuple[str, ...]],
        histogram: tuple[str, str],
        bounds: tuple[float, ...],
    ) -> None:
        self.counter_name, self.counter_help, self.counter_labels = counter
        self.histogram_name, self.histogram_help = histogram
        self.bounds = bounds
        self.tallies: dict[tuple[str, ...], Tally] = {}
        """Label values (without the outcome) -> tally; the first one is the pattern."""

    def tally(self, labels: tuple[str, ...]) -> Tally:
        """The tally of ``labels``, created at first use."""
        found = self.tallies.get(labels)
        if found is None:
            found = self.tallies[labels] = Tally(len(self.bounds))
        return found

    def describe(self) -> Iterator[Any]:
        """The metric families, without values (for the registry's duplicate check)."""
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

        yield CounterMetricFamily(self.counter_name, self.counter_help, labels=self.counter_labels)
        yield HistogramMetricFamily(self.histogram_name, self.histogram_help, labels=["pattern"])

    def collect(self) -> Iterator[Any]:
        """The current values."""
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

        counter = CounterMetricFamily(
            self.counter_name, self.counter_help, labels=self.counter_labels
        )
        by_pattern: dict[str, tuple[list[int], float]] = {}
        for labels, tally in list(self.tallies.items()):
            for outcome, count in list(tally.outcomes.items()):
                counter.add_metric([*labels, outcome], count)
            buckets, total = by_pattern.get(labels[0], ([0] * len(tally.buckets), 0.0))
            merged = [a + b for a, b in zip(buckets, tally.buckets, strict=True)]
            by_pattern[labels[0]] = (merged, total + tally.total_seconds)
        yield counter
        histogram = HistogramMetricFamily(
            self.histogram_name, self.histogram_help, labels=["pattern"]
        )
        for pattern, (buckets, total) in by_pattern.items():
            cumulative, running = [], 0
            for bound, count in zip((*map(_le, self.bounds), "+Inf"), buckets, strict=True):
                running += count
                cumulative.append((bound, running))
            histogram.add_metric([pattern], cumulative, total)
        yield histogram


def _le(bound: float) -> str:
    return repr(float(bound))
