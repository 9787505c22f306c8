"""Builders for guard tests: portfolios marked at given prices, markets with bars and books, orders."""

from __future__ import annotations

from collections.abc import Mapping

from ais.context import GuardContext
from ais.domain import (
    BookLevel,
    Candle,
    MarketSnapshot,
    Order,
    OrderBook,
    PortfolioSnapshot,
    Position,
    RiskState,
    Side,
    Ticker,
)
from ais.testing.conformance import sample_order

NOW_MS = 1_515_542_400_000  # 2018-01-10 00:00 UTC: simulated time, far from the wall clock
BAR_MS = 300_000


def portfolio(
    nav: float = 10_000.0,
    holdings: Mapping[str, tuple[float, float]] | None = None,
    *,
    drawdown: float = 0.0,
    daily_pnl: float = 0.0,
    day_start_nav: float | None = None,
) -> PortfolioSnapshot:
    """A portfolio worth ``nav`` holding ``{symbol: (signed quantity, mark price)}``; exposures and
    leverage are computed from the holdings the way core marks them."""
    holdings = holdings or {}
    positions = tuple(Position("test", s, q, p) for s, (q, p) in holdings.items())
    gross = sum(abs(q) * p for q, p in holdings.values())
    net = sum(q * p for q, p in holdings.values())
    peak = nav / (1.0 - drawdown) if drawdown < 1.0 else nav
    return PortfolioSnapshot(
        NOW_MS,
        nav,
        nav - net,
        positions,
        0.0,
        0.0,
        0.0,
        gross,
        net,
        gross / nav if nav > 0 else 0.0,
        peak,
        drawdown,
        daily_pnl,
        nav - daily_pnl if day_start_nav is None else day_start_nav,
    )


def context(
    prices: Mapping[str, float] | None = None,
    *,
    volume: float = 1_000_000.0,
    now_ms: int = NOW_MS,
    books: Mapping[str, OrderBook] | None = None,
    tickers: Mapping[str, float] | None = None,
) -> GuardContext:
    """A guard context whose market has one closed bar per symbol in ``prices`` (close = price,
    ``volume`` in base units), plus optional books and tickers (last price only)."""
    candles = {s: Candle(now_ms - BAR_MS, p, p, p, p, volume) for s, p in (prices or {}).items()}
    ticks = {s: Ticker(now_ms, p, p, p) for s, p in (tickers or {}).items()}
    market = MarketSnapshot(now_ms, candles=candles, tickers=ticks, books=dict(books or {}), bar_ms=BAR_MS)
    return GuardContext(market, RiskState.ACTIVE, now_ms, "UTC")


def book(bids: list[tuple[float, float]], asks: list[tuple[float, float]], ts: int = NOW_MS) -> OrderBook:
    return OrderBook(ts, tuple(BookLevel(p, q) for p, q in bids), tuple(BookLevel(p, q) for p, q in asks))


def order(symbol: str, quantity: float, side: Side = Side.BUY, n: int = 1) -> Order:
    """A market order at ``NOW_MS`` (the test kit's sample order)."""
    return sample_order(symbol, quantity, side, n=n)


def buy(symbol: str, quantity: float, n: int = 1) -> Order:
    return order(symbol, quantity, Side.BUY, n)


def sell(symbol: str, quantity: float, n: int = 1) -> Order:
    return order(symbol, quantity, Side.SELL, n)
