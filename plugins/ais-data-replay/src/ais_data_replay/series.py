"""In-memory series with forward cursors: O(1) amortised look-ups while the clock moves forward.

Each look-up keeps the position it found; the next look-up first tries that position and the one
after it (the clock advanced by one bar) and only falls back to a binary search when the clock
jumped (a wall clock, a restart, a query out of order). Everything is held in columns
(``array.array``, 8 bytes a value) built once at load; a ``Candle`` or ``FundingRate`` is built only
when one is served.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from heapq import merge
from itertools import compress, groupby
from typing import NamedTuple

from ais.domain.market import Candle, FundingRate
from ais_data_replay.readers import Columns, time_steps

#: ``tuple.__new__``: builds a NamedTuple from a tuple without the Python-level ``__new__`` of the class
_new_tuple = tuple.__new__


class Gap(NamedTuple):
    """Missing bars in one symbol: ``bars`` bars missing from open time ``missing_from`` (ms) on."""

    symbol: str
    missing_from: int
    bars: int


class CandleSeries:
    """One symbol's candles in time order, as columns, indexed by close time (open + bar length).

    ``ts`` (open times, ms) and ``close_times`` (ms) are ``array('q')``; ``open``, ``high``, ``low``,
    ``close`` and ``volume`` are ``array('d')``: 56 bytes a bar in all.
    """

    __slots__ = ("after_gap", "close", "close_times", "cursor", "high", "low", "open", "symbol", "ts",
                 "volume")

    def __init__(self, symbol: str, columns: Columns, bar_ms: int) -> None:
        self.symbol = symbol
        self.ts = ts = columns.times
        self.open, self.high, self.low, self.close, self.volume = columns.values
        #: indexes of candles whose previous bar is missing (the first candle is never one): few
        self.after_gap: frozenset[int]
        if columns.even_step() == bar_ms:  # the usual file: no gap, each bar closes as the next opens
            self.close_times = ts[1:]
            self.close_times.append(ts[-1] + bar_ms)
            self.after_gap = frozenset()
        else:  # by C-level iteration (steps = ts[1:] - ts[:-1]): no Python frame per bar
            self.close_times = array("q", map(bar_ms.__add__, ts))
            self.after_gap = frozenset(compress(range(1, len(ts)), map(bar_ms.__lt__, time_steps(ts))))
        self.cursor = 0  # invariant after each look-up: cursor == bisect_left(close_times, now_ms)

    def __len__(self) -> int:
        return len(self.ts)

    def candle(self, i: int) -> Candle:
        """Candle ``i``, built from the columns."""
        return _new_tuple(Candle, (self.ts[i], self.open[i], self.high[i], self.low[i], self.close[i],
                                   self.volume[i]))

    def candles(self) -> list[Candle]:
        """Every candle, built from the columns: a new list (for inspection, not the hot path)."""
        return list(map(Candle, self.ts, self.open, self.high, self.low, self.close, self.volume))

    def candle_closing_at(self, now_ms: int) -> Candle | None:
        """The candle that closes exactly at ``now_ms`` (``cursor`` is then its index), or ``None``.

        The per-bar look-up: ``closing_at`` then ``candle`` in one call, the usual step (the clock
        moved one bar since the last hit) tried first with one read of the close times. The candle is
        built here rather than by ``candle``: a second call per symbol per bar costs more than the line.
        """
        i = self.cursor + 1
        try:
            usual = self.close_times[i] == now_ms
        except IndexError:  # past the last bar (cheaper than testing the length every bar)
            usual = False
        if usual:
            self.cursor = i
        else:
            i = self.closing_at(now_ms)
            if i < 0:
                return None
        return _new_tuple(Candle, (self.ts[i], self.open[i], self.high[i], self.low[i], self.close[i],
                                   self.volume[i]))

    def closing_at(self, now_ms: int) -> int:
        """The index of the candle that closes exactly at ``now_ms``, or -1."""
        closes = self.close_times
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
            before = self.ts[i - 1]
            out.append(Gap(self.symbol, before + bar_ms, (self.ts[i] - before) // bar_ms - 1))
        return out


class FundingSeries:
    """One symbol's funding rates in time order, as columns; look-up of the latest one effective at a
    time. The ``FundingRate`` served last is kept, so a rate in force for many bars is built once."""

    __slots__ = ("cursor", "rates", "served", "served_index", "times")

    def __init__(self, columns: Columns) -> None:
        self.times = columns.times
        (self.rates,) = columns.values
        self.cursor = 0  # invariant after each look-up: cursor == bisect_right(times, now_ms)
        self.served_index = -1
        self.served: FundingRate | None = None

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
        if i == 0:
            return None
        if i - 1 != self.served_index:
            self.served_index = i - 1
            self.served = FundingRate(times[i - 1], self.rates[i - 1])
        return self.served


class Timeline:
    """The merged, sorted, de-duplicated close times of every series: the replay's clock ticks.

    One series: its ``close_times`` array itself (no copy). Several: their sorted arrays merged into
    one ``array('q')`` without an intermediate set or list.
    """

    __slots__ = ("cursor", "head", "times")

    def __init__(self, series: list[CandleSeries]) -> None:
        closes = [s.close_times for s in series]
        if len(closes) == 1:
            self.times = closes[0]
        else:
            self.times = array("q", (t for t, _ in groupby(merge(*closes))))
        # invariant after each look-up: cursor == bisect_right(times, after_ms) and head == times[cursor]
        # (None past the end), so the usual step reads the column once
        self.cursor = 0
        self.head: int | None = self.times[0] if self.times else None

    def next_after(self, after_ms: int) -> int | None:
        """The first close time strictly after ``after_ms``, or ``None`` past the end."""
        times = self.times
        i = self.cursor
        if self.head == after_ms:
            i += 1  # the usual step: the clock moved to the time returned last
        else:
            n = len(times)
            if i < n and times[i] <= after_ms:
                i += 1
                if i < n and times[i] <= after_ms:
                    i = bisect_right(times, after_ms, i)
            elif i > 0 and times[i - 1] > after_ms:
                i = bisect_right(times, after_ms, 0, i)
        self.cursor = i
        try:
            head: int | None = times[i]
        except IndexError:  # past the end (cheaper than testing the length every bar)
            head = None
        self.head = head
        return head
