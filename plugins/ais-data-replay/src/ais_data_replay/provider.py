"""The ``replay`` data provider: recorded candles (and funding rates) served as a live feed."""

from __future__ import annotations

from ais.domain.market import Candle, FundingRate, MarketSnapshot
from ais.markers import hookimpl
from ais.plugins.base import Plugin
from ais_data_replay.config import ReplayConfig
from ais_data_replay.market import load_market
from ais_data_replay.series import Gap

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
