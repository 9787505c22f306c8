"""In-memory series with forward cursors: O(1) amortised look-ups while the clock moves forward.

Each look-up keeps the position it found; the next look-up first tries that position and the one
after it (the clock advanced by one bar) and only falls back to a binary search when the clock
jumped (a wall clock, a restart, a query out of order). All lists are built once at load.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import NamedTuple

from ais.domain.market import Candle, FundingRate


class Gap(NamedTuple):
    """Missing bars in one symbol: ``bars`` bars missing from open time ``missing_from`` (ms) on."""

    symbol: str
    missing_from: int
    bars: int


class CandleSeries:
    """One symbol's candles in time order, indexed by close time (open + bar length)."""

    __slots__ = ("after_gap", "candles", "closes", "cursor", "symbol")

    def __init__(self, symbol: str, candles: list[Candle], bar_ms: int) -> None:
        self.symbol = symbol
        self.candles = candles
        self.closes = [c.ts + bar_ms for c in candles]
        #: indexes of candles whose previous bar is missing (the first candle is never one)
        self.after_gap = frozenset(
            i for i in range(1, len(candles)) if candles[i].ts - candles[i - 1].ts > bar_ms
        )
        self.cursor = 0  # invariant after each look-up: cursor == bisect_left(closes, now_ms)

    def closing_at(self, now_ms: int) -> int:
        """The index of the candle that closes exactly at ``now_ms``, or -1."""
        closes = self.closes
        n = len(closes)
        i = self.cursor
        if i < n and closes[i] < now_ms:
            i += 1  # the usual step: one bar later
            if i < n and closes[i] < now_ms:
                i = bisect_left(closes, now_ms, i)
        elif i > 0 and closes[i - 1] >= now_ms:
            i = bisect_left(closes, now_ms, 0, i)  # the clock went back
        self.cursor = i
        return i if i < n and closes[i] == now_ms else -1

    def gaps(self, bar_ms: int) -> list[Gap]:
        """Each run of missing bars, in time order."""
        out = []
        for i in sorted(self.after_gap):
            before = self.candles[i - 1].ts
            out.append(Gap(self.symbol, before + bar_ms, (self.candles[i].ts - before) // bar_ms - 1))
        return out


class FundingSeries:
    """One symbol's funding rates in time order; look-up of the latest one effective at a time."""

    __slots__ = ("cursor", "rates", "times")

    def __init__(self, rates: list[FundingRate]) -> None:
        self.rates = rates
        self.times = [r.ts for r in rates]
        self.cursor = 0  # invariant after each look-up: cursor == bisect_right(times, now_ms)

    def latest(self, now_ms: int) -> FundingRate | None:
        """The last rate with ``ts <= now_ms``, or ``None`` before the first one."""
        times = self.times
        n = len(times)
        i = self.cursor
        if i < n and times[i] <= now_ms:
            i += 1
            if i < n and times[i] <= now_ms:
                i = bisect_right(times, now_ms, i)
        elif i > 0 and times[i - 1] > now_ms:
            i = bisect_right(times, now_ms, 0, i)
        self.cursor = i
        return self.rates[i - 1] if i > 0 else None


class Timeline:
    """The merged, sorted, de-duplicated close times of every series: the replay's clock ticks."""

    __slots__ = ("cursor", "times")

    def __init__(self, series: list[CandleSeries]) -> None:
        self.times = sorted({t for s in series for t in s.closes})
        self.cursor = 0  # invariant after each look-up: cursor == bisect_right(times, after_ms)

    def next_after(self, after_ms: int) -> int | None:
        """The first close time strictly after ``after_ms``, or ``None`` past the end."""
        times = self.times
        n = len(times)
        i = self.cursor
        if i < n and times[i] <= after_ms:
            i += 1  # the usual step: the clock moved to the time returned last
            if i < n and times[i] <= after_ms:
                i = bisect_right(times, after_ms, i)
        elif i > 0 and times[i - 1] > after_ms:
            i = bisect_right(times, after_ms, 0, i)
        self.cursor = i
        return times[i] if i < n else None
