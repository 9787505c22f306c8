"""Market data as it flows through the cycle, once per bar: plain immutable objects, no validation cost."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple


class Candle(NamedTuple):
    """One OHLCV bar. ``ts`` is the bar's open time in milliseconds since the epoch (UTC).

    A NamedTuple: building one costs a tuple, which matters at hundreds of thousands of bars.
    """

    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class Ticker(NamedTuple):
    """Best bid/ask and last price at ``ts`` (ms)."""

    ts: int
    bid: float
    ask: float
    last: float


class BookLevel(NamedTuple):
    price: float
    quantity: float


@dataclass(slots=True, frozen=True)
class OrderBook:
    """A depth snapshot: ``bids`` best first (descending), ``asks`` best first (ascending)."""

    ts: int
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]


class FundingRate(NamedTuple):
    """A perpetual's funding rate (fraction per funding interval) effective at ``ts`` (ms)."""

    ts: int
    rate: float


#: what a snapshot holds for a mapping its provider left out: one shared, read-only, empty mapping
NO_DATA: Mapping[str, Any] = MappingProxyType({})


class _SnapshotFields(NamedTuple):
    ts: int
    candles: Mapping[str, Candle]
    tickers: Mapping[str, Ticker]
    books: Mapping[str, OrderBook]
    funding: Mapping[str, FundingRate]
    bar_ms: int
    gaps: frozenset[str]


class MarketSnapshot(_SnapshotFields):
    """What the data providers know at ``ts`` (ms), keyed by symbol.

    ``candles`` holds, for each symbol that has one, the bar that has just closed: its open time is
    ``ts - bar_ms`` (a symbol without a bar closing at ``ts`` is absent, never a stale bar);
    ``bar_ms`` is the bar length; ``gaps`` names symbols whose previous bar was missing (so agents
    can reset rather than silently shift their indicators).

    Immutable, like a ``Candle``: one is built per bar, so it is a tuple (a data stream can build
    them without running Python code: ``tuple.__new__(MarketSnapshot, fields)``). Its mappings are
    read, never changed; each one left out is ``NO_DATA``, one shared read-only empty mapping (no new
    dict per bar).
    """

    __slots__ = ()

    def __new__(
        cls,
        ts: int,
        candles: Mapping[str, Candle] | None = None,
        tickers: Mapping[str, Ticker] | None = None,
        books: Mapping[str, OrderBook] | None = None,
        funding: Mapping[str, FundingRate] | None = None,
        bar_ms: int = 60_000,
        gaps: frozenset[str] = frozenset(),
    ) -> MarketSnapshot:
        return tuple.__new__(
            cls,
            (
                ts,
                NO_DATA if candles is None else candles,
                NO_DATA if tickers is None else tickers,
                NO_DATA if books is None else books,
                NO_DATA if funding is None else funding,
                bar_ms,
                gaps,
            ),
        )

    def price(self, symbol: str) -> float | None:
        """The latest known price of ``symbol``: ticker last, else the candle's close."""
        ticker = self.tickers.get(symbol)
        if ticker is not None:
            return ticker.last
        candle = self.candles.get(symbol)
        return candle.close if candle is not None else None
