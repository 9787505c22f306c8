"""The ``replay`` data provider: recorded candles (and funding rates) served as a live feed."""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterator
from itertools import count, islice, repeat

from ais.domain.market import NO_DATA, Candle, FundingRate, MarketSnapshot
from ais.markers import hookimpl
from ais.plugins.base import Plugin
from ais_data_replay.config import ReplayConfig
from ais_data_replay.market import load_market
from ais_data_replay.series import CandleSeries, FundingSeries, Gap

_new_tuple = tuple.__new__

_NO_GAPS: frozenset[str] = frozenset()


class ReplayProvider(Plugin[ReplayConfig]):
    """Replays recorded bars with no look-ahead: a bar becomes visible at its close time
    (open time + ``bar_ms``), and ``ais_data_snapshot(symbols, now_ms)`` returns, for each symbol,
    the bar that closes exactly at ``now_ms`` (none between bars or inside a gap).

    Everything is read and checked in the constructor (a ``ConfigError`` names the file and line)
    and held in columns (``array.array``, no Python object per bar); the per-bar hooks are O(1)
    amortised look-ups through forward cursors, and build the ``Candle`` of each bar they serve.
    """

    Config = ReplayConfig

    def __init__(self, name: str, config: ReplayConfig) -> None:
        super().__init__(name, config)
        market = load_market(name, config)
        self.bar_ms = market.bar_ms
        self._series = market.series
        self._funding = market.funding
        self._timeline = market.timeline
        self._gaps = market.gaps
        #: identical duplicate rows dropped at load, per symbol
        self.duplicates = market.duplicates

    @property
    def symbols(self) -> tuple[str, ...]:
        """The symbols with candles, sorted."""
        return tuple(sorted(self._series))

    def gaps(self) -> list[Gap]:
        """Every run of missing bars: ``(symbol, missing_from, bars)``, ``missing_from`` being the open
        time (ms) of the first missing bar. The bar after each run is flagged in ``snapshot.gaps``."""
        return list(self._gaps)

    def candles(self, symbol: str) -> list[Candle]:
        """The replayed candles of ``symbol`` (after the window cut), in time order; a copy."""
        series = self._series.get(symbol)
        return series.candles() if series is not None else []

    @hookimpl
    def ais_data_next_time(self, after_ms: int) -> int | None:
        return self._timeline.next_after(after_ms)

    @hookimpl
    def ais_data_snapshot(self, symbols: tuple[str, ...], now_ms: int) -> MarketSnapshot | None:
        candles: dict[str, Candle] = {}
        funding: dict[str, FundingRate] = {}
        gaps: set[str] | None = None
        served = False
        for symbol in symbols:
            series = self._series.get(symbol)
            if series is not None:
                served = True
                candle = series.candle_closing_at(now_ms)
                if candle is not None:
                    candles[symbol] = candle
                    if series.cursor in series.after_gap:  # the cursor is the candle's index
                        if gaps is None:
                            gaps = set()
                        gaps.add(symbol)
            rates = self._funding.get(symbol) if self._funding else None
            if rates is not None:
                served = True
                rate = rates.latest(now_ms)
                if rate is not None:
                    funding[symbol] = rate
        if not served:
            return None
        # positional, in the field order (ts, candles, tickers, books, funding, bar_ms, gaps): building
        # a class with keywords packs them into a dict first, which costs more than the candle itself
        return MarketSnapshot(
            now_ms, candles, {}, {}, funding, self.bar_ms, frozenset(gaps) if gaps else _NO_GAPS
        )

    @hookimpl
    def ais_data_stream(self, symbols: tuple[str, ...], after_ms: int) -> Iterator[MarketSnapshot]:
        """The snapshots ``ais_data_snapshot`` gives at each time of the timeline after ``after_ms``,
        as one iterator: each series is walked with its own index (its close times are a subsequence
        of the timeline's), and a candle is built only when served."""
        times = self._timeline.times
        start = bisect_right(times, after_ms)
        served = [(symbol, series) for symbol in symbols if (series := self._series.get(symbol)) is not None]
        walks = [_Walk(symbol, series, after_ms) for symbol, series in served]
        rates = [(symbol, r) for symbol in symbols if (r := self._funding.get(symbol)) is not None]
        if not walks and not rates:  # nothing served: what the per-bar hooks give (None), as snapshots
            return map(MarketSnapshot, islice(times, start, None))
        if len(walks) == 1 and not rates and walks[0].closes is times:
            return _one_series(walks[0], times, start, self.bar_ms)
        return _many_series(walks, rates, times, start, self.bar_ms)


def _many_series(
    walks: list[_Walk], rates: list[tuple[str, FundingSeries]], times: array[int], start: int, bar_ms: int
) -> Iterator[MarketSnapshot]:
    for i in range(start, len(times)):
        t = times[i]
        candles: dict[str, Candle] = {}
        gaps: set[str] | None = None
        for walk in walks:
            j = walk.next
            if j < walk.n and walk.closes[j] == t:
                walk.next = j + 1
                candles[walk.symbol] = walk.series.candle(j)
                if j in walk.after_gap:
                    if gaps is None:
                        gaps = set()
                    gaps.add(walk.symbol)
        funding: dict[str, FundingRate] = {}
        for symbol, series in rates:
            rate = series.latest(t)
            if rate is not None:
                funding[symbol] = rate
        yield MarketSnapshot(t, candles, {}, {}, funding, bar_ms, frozenset(gaps) if gaps else _NO_GAPS)


class _Walk:
    """One symbol's position in a stream: ``next`` is the index of its first candle not yet served."""

    __slots__ = ("after_gap", "closes", "n", "next", "series", "symbol")

    def __init__(self, symbol: str, series: CandleSeries, after_ms: int) -> None:
        self.symbol = symbol
        self.series = series
        self.closes = series.close_times
        self.n = len(series)
        self.next = bisect_right(series.close_times, after_ms)
        self.after_gap = series.after_gap


def _one_series(walk: _Walk, times: array[int], start: int, bar_ms: int) -> Iterator[MarketSnapshot]:
    """The usual backtest: one symbol, whose close times are the timeline, so tick ``i`` is candle
    ``i``. A chain of C-level iterators over the columns: no Python code runs per bar (a generator
    here cost a third of a bar's data time)."""
    series = walk.series
    columns = (series.ts, series.open, series.high, series.low, series.close, series.volume)
    rows = zip(*(islice(column, start, None) for column in columns), strict=True)
    candles = map(_new_tuple, repeat(Candle), rows)
    by_symbol = map(dict, zip(zip(repeat(walk.symbol), candles)))  # {symbol: candle}, one per bar
    gaps: Iterator[frozenset[str]]
    if walk.after_gap:
        flagged = frozenset((walk.symbol,))
        gaps = map(dict.fromkeys(walk.after_gap, flagged).get, count(start), repeat(_NO_GAPS))
    else:  # the usual file: no index to count per bar
        gaps = repeat(_NO_GAPS)
    fields = zip(
        islice(times, start, None),
        by_symbol,
        repeat(NO_DATA),  # tickers, books and funding
        repeat(NO_DATA),
        repeat(NO_DATA),
        repeat(bar_ms),
        gaps,
    )
    return map(_new_tuple, repeat(MarketSnapshot), fields)
