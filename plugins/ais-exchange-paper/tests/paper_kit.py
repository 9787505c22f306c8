"""Plain helpers for the paper venue's tests: start a venue, build and sign orders, feed bars."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable

from ais_exchange_paper.venue import PaperExchange

from ais.context import RunContext, SharedState
from ais.domain.market import Candle, MarketSnapshot
from ais.domain.orders import Order, OrderType, Side
from ais.risk.tokens import Keyring, sign, verify_token
from ais.testing import market_data_dir

DATA = market_data_dir() / "binance-5m-2018-01"
SYMBOL = "ETH/BTC"
BAR_MS = 300_000
VENUE = "paper"


def start(venue: PaperExchange, keyring: Keyring) -> PaperExchange:
    """Start ``venue`` the way core does: with a token verifier bound to ``keyring``."""
    venue.ais_startup(
        RunContext("test", "paper", (SYMBOL,), "UTC", SharedState(),
                   verify_token=lambda order: verify_token(order, keyring))
    )
    return venue


_counter = itertools.count(1)


def order(side: Side = Side.BUY, quantity: float = 1.0, limit: float | None = None, *,
          symbol: str = SYMBOL, coid: str | None = None, reduce_only: bool = False,
          venue: str = VENUE) -> Order:
    """An unsigned order (market unless ``limit`` is given) with a fresh client order id."""
    n = next(_counter)
    return Order(f"o-{n}", coid or f"ais-t-{n}", venue, symbol, side,
                 OrderType.MARKET if limit is None else OrderType.LIMIT, quantity, limit, reduce_only,
                 "test", 1_515_542_400_000)


def signed(o: Order, keyring: Keyring) -> Order:
    return o.with_token(sign(o, keyring, int(time.time() * 1000), 300))


def bar_snapshot(candle: Candle, symbol: str = SYMBOL) -> MarketSnapshot:
    """The snapshot core hands the venue when ``candle`` has just closed (ts = open + bar length)."""
    return MarketSnapshot(ts=candle.ts + BAR_MS, candles={symbol: candle}, bar_ms=BAR_MS)


def feed(venue: PaperExchange, candles: Iterable[Candle], symbol: str = SYMBOL) -> None:
    for candle in candles:
        venue.ais_exchange_on_market(bar_snapshot(candle, symbol))


def bar(ts: int, open_: float, high: float, low: float, close: float, volume: float = 1e9) -> Candle:
    return Candle(ts, open_, high, low, close, volume)
