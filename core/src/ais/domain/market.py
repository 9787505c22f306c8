"""Market data as it flows through the cycle, once per bar: plain immutable objects, no validation cost."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


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


@dataclass(slots=True)
class MarketSnapshot:
    """What the data providers know at ``ts`` (ms), keyed by symbol.

    ``candles`` holds, for each symbol that has one, the bar that has just closed: its open time is
    ``ts - bar_ms`` (a symbol without a bar closing at ``ts`` is absent, never a stale bar);
    ``bar_ms`` is the bar length; ``gaps`` names symbols whose previous bar was missing (so agents
    can reset rather than silently shift their indicators).
    """

    ts: int
    candles: dict[str, Candle] = field(default_factory=dict)
    tickers: dict[str, Ticker] = field(default_factory=dict)
    books: dict[str, OrderBook] = field(default_factory=dict)
    funding: dict[str, FundingRate] = field(default_factory=dict)
    bar_ms: int = 60_000
    gaps: frozenset[str] = frozenset()

    def price(self, symbol: str) -> float | None:
        """The latest known price of ``symbol``: ticker last, else the candle's close."""
        ticker = self.tickers.get(symbol)
        if ticker is not None:
            return ticker.last
        candle = self.candles.get(symbol)
        return candle.close if candle is not None else None
