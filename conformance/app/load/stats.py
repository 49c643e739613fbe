"""Streaming figures with bounded memory: latency histograms and per-window time series.

A soak runs for hours, so nothing here keeps a sample per message: latencies go into log-spaced
buckets (about 2 % wide, from 0.1 ms to about 20 min, a fixed few hundred counters), and the
figures over time into windows whose width is fixed at the start so that a run has at most
``MAX_WINDOWS`` of them.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

_BASE = 1.02
_LOW = 1e-4  # seconds: the first bucket's upper bound
_BUCKETS = int(math.log(12_000 / _LOW, _BASE)) + 2
MAX_WINDOWS = 240


class Histogram:
    """Counts of values (seconds) in log-spaced buckets; percentiles within one bucket's width."""

    def __init__(self) -> None:
        self.counts = [0] * _BUCKETS
        self.n = 0
        self.max = 0.0

    def add(self, value: float) -> None:
        index = 0 if value <= _LOW else min(_BUCKETS - 1, int(math.log(value / _LOW, _BASE)) + 1)
        self.counts[index] += 1
        self.n += 1
        self.max = max(self.max, value)

    def merge(self, other: Histogram) -> None:
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.n += other.n
        self.max = max(self.max, other.max)

    def percentile(self, q: float) -> float | None:
        """The value below which ``q`` (0..1) of the values lie (a bucket's upper bound), None if empty."""
        if not self.n:
            return None
        rank, seen = q * self.n, 0
        for index, count in enumerate(self.counts):
            seen += count
            if seen >= rank and count:
                return min(_LOW * _BASE**index, self.max)
        return self.max

    def summary(self) -> dict:
        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000, 2)

        return {
            "count": self.n,
            "p50_ms": ms(self.percentile(0.50)),
            "p95_ms": ms(self.percentile(0.95)),
            "p99_ms": ms(self.percentile(0.99)),
            "max_ms": ms(self.max if self.n else None),
        }


@dataclass
class Window:
    """What happened in one window of the run."""

    start_s: float
    counts: Counter = field(default_factory=Counter)
    receipt: Histogram = field(default_factory=Histogram)
    status_lag: Histogram = field(default_factory=Histogram)

    def as_json(self, width: float) -> dict:
        return {
            "t_s": round(self.start_s, 3),
            "offered_per_s": round(self.counts["sent"] / width, 2),
            # answered: right or wrong (P-01's two clauses are judged apart), not refused with a 5xx
            "answered_per_s": round(self.counts["answered"] / width, 2),
            "statuses_per_s": round(self.counts["statuses"] / width, 2),
            "receipt_ms": self.receipt.summary(),
            "status_lag_ms": self.status_lag.summary(),
            "wrong": self.counts["wrong"],
            "errors": self.counts["errors"],
            "lost": self.counts["lost"],
            "duplicate_statuses": self.counts["duplicate_statuses"],
        }


class Series:
    """Windows of a fixed width over the run (at most MAX_WINDOWS for the planned length)."""

    def __init__(self, planned_s: float) -> None:
        self.width = max(1.0, math.ceil(planned_s / MAX_WINDOWS))
        self.windows: dict[int, Window] = {}

    def at(self, t_s: float) -> Window:
        index = max(0, int(t_s // self.width))
        window = self.windows.get(index)
        if window is None:
            if len(self.windows) >= 2 * MAX_WINDOWS:  # a run far past its plan: fold into the last one
                return self.windows[max(self.windows)]
            window = self.windows[index] = Window(index * self.width)
        return window

    def as_json(self) -> list[dict]:
        return [self.windows[index].as_json(self.width) for index in sorted(self.windows)]
