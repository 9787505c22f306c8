"""The ledger: cash, positions, P&L, fees and the NAV path, updated by fills and marked each cycle.

Plain floats and slotted objects: it runs once per bar. Money is in the quote currency; positions are
signed base quantities (negative = short).
"""

from __future__ import annotations

import math
import struct
from array import array
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ais.domain.market import MarketSnapshot
from ais.domain.orders import Fill, Side
from ais.domain.portfolio import PortfolioSnapshot, Position

_new_tuple = tuple.__new__
#: struct's code for a native 8-byte integer that packs an int without ``PyLong_AsLongLong``'s slow
#: path for multi-digit ints (a millisecond timestamp is one)
_INT64 = "l" if struct.calcsize("l") == 8 else "q"


def next_midnight_ms(ts_ms: int, tz: ZoneInfo) -> int:
    """The first local midnight strictly after ``ts_ms`` in ``tz`` (ms since the epoch)."""
    local = datetime.fromtimestamp(ts_ms / 1000, tz)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return int(midnight.timestamp() * 1000)


class _Holding:
    __slots__ = ("avg_price", "quantity", "realized", "venue")

    def __init__(self, venue: str) -> None:
        self.quantity = 0.0
        self.avg_price = 0.0
        self.realized = 0.0
        self.venue = venue


class _Path:
    """The marks ``record_path`` keeps, buffered in lists and packed into the arrays at each new day
    and on ``flush_path``: ``array.append`` parses its argument (``PyArg_Parse``); ``list.append``
    takes the object as it is, and ``struct.pack`` converts a day of them at C speed (a quiet
    backtest bar ~470 instructions cheaper, 1.3 %). Holds a day of marks
    at most (1,440 of 1-minute bars)."""

    __slots__ = ("_columns", "gross", "nav", "ts")

    def __init__(self, ts: array[int], nav: array[float], gross: array[float]) -> None:
        times: list[int] = []
        navs: list[float] = []
        grosses: list[float] = []
        self.ts = times.append
        self.nav = navs.append
        self.gross = grosses.append
        #: (buffer, array, struct code) per series
        self._columns: tuple[tuple[list[Any], array[Any], str], ...] = (
            (times, ts, _INT64),
            (navs, nav, "d"),
            (grosses, gross, "d"),
        )

    def pack(self) -> None:
        for buffer, target, code in self._columns:
            if buffer:
                target.frombytes(struct.pack(f"{len(buffer)}{code}", *buffer))
                buffer.clear()


class Ledger:
    """Cash and positions from fills; NAV, drawdown and daily P&L from marks."""

    def __init__(self, initial_cash: float, timezone: str = "UTC") -> None:
        self.initial_cash = initial_cash
        self.cash = initial_cash
        self.fees = 0.0
        self.realized = 0.0
        self.holdings: dict[str, _Holding] = {}
        self.prices: dict[str, float] = {}
        self.nav = initial_cash
        self.peak_nav = initial_cash
        self._low_nav = initial_cash  # the lowest NAV since ``peak_nav`` was reached
        self._max_drawdown = 0.0  # the deepest drawdown below earlier peaks
        self.day_start_nav = initial_cash
        self._tz = ZoneInfo(timezone)
        self._day_end_ms: float = -math.inf  # the first mark starts a day
        self.ts = 0
        self.gross = 0.0
        self.net = 0.0
        self._positions: tuple[Position, ...] | None = ()  # rebuilt lazily after a fill
        self.fill_count = 0
        self.traded_notional = 0.0
        #: bumped whenever something other than a mark's NAV moves: a fill, a new peak NAV, a new day
        #: (the risk engine skips guards whose NAV floor still holds while it stays the same)
        self.revision = 0
        self._path: _Path | None = None

    def adopt(self, cash: float, positions: list[dict[str, Any]]) -> None:
        """Start from an existing book (a venue's positions and cash) instead of ``initial_cash``."""
        self.cash = cash
        for p in positions:
            h = self.holdings[p["symbol"]] = _Holding(p["venue"])
            h.quantity = p["quantity"]
            h.avg_price = p["avg_price"]
            self.prices.setdefault(p["symbol"], p["avg_price"])
        self._positions = None
        value = sum(h.quantity * h.avg_price for h in self.holdings.values())
        self.initial_cash = self.nav = self.peak_nav = self.day_start_nav = self._low_nav = cash + value
        self.revision += 1

    # -- fills --------------------------------------------------------------------------------

    def apply_fill(self, fill: Fill) -> float:
        """Book a fill; returns the P&L it realised."""
        h = self.holdings.get(fill.symbol)
        if h is None:
            h = self.holdings[fill.symbol] = _Holding(fill.venue)
        signed = fill.quantity if fill.side is Side.BUY else -fill.quantity
        notional = fill.quantity * fill.price
        self.cash -= signed * fill.price + fill.fee
        self.fees += fill.fee
        self.fill_count += 1
        self.traded_notional += notional
        realized = 0.0
        q = h.quantity
        if q == 0.0 or (q > 0) == (signed > 0):
            new_q = q + signed
            h.avg_price = (h.avg_price * abs(q) + fill.price * abs(signed)) / abs(new_q)
            h.quantity = new_q
        else:
            closed = min(abs(q), abs(signed))
            realized = (fill.price - h.avg_price) * closed * (1.0 if q > 0 else -1.0)
            new_q = q + signed
            if abs(new_q) < 1e-12:
                new_q = 0.0
            if new_q != 0.0 and (new_q > 0) != (q > 0):
                h.avg_price = fill.price  # flipped: the remainder opened at this price
            elif new_q == 0.0:
                h.avg_price = 0.0
            h.quantity = new_q
        h.realized += realized
        self.realized += realized
        self._positions = None
        self.revision += 1
        self.prices.setdefault(fill.symbol, fill.price)
        return realized

    # -- marks --------------------------------------------------------------------------------

    def mark(self, snapshot: MarketSnapshot) -> None:
        """Mark held positions at the snapshot's prices; update NAV, peak, day.

        ``prices`` keeps the last price of every symbol held or traded (the mark of a position whose
        symbol has no bar this cycle); other symbols' prices are read from the snapshot itself.
        Once a bar: what only a snapshot or the summary reads (unrealized P&L, the maximum drawdown)
        is derived when read, not here."""
        candles = snapshot.candles
        prices = self.prices
        net = gross = 0.0
        for symbol, h in self.holdings.items():
            q = h.quantity
            if q:
                candle = candles.get(symbol)
                if candle is not None:
                    price = prices[symbol] = candle.close
                else:
                    price = prices.get(symbol, h.avg_price)
                value = q * price
                net += value
                gross += value if value > 0 else -value
        ts = snapshot.ts
        if ts >= self._day_end_ms:
            self._new_day(ts)  # before `nav` moves: the day starts at the last mark of the day before
        self.net = net
        self.gross = gross
        self.ts = ts
        nav = self.nav = self.cash + net
        if nav > self.peak_nav:
            self._new_peak(nav)
        elif nav < self._low_nav:
            self._low_nav = nav
        path = self._path
        if path is not None:
            path.ts(ts)
            path.nav(nav)
            path.gross(gross)

    def _new_day(self, ts: int) -> None:
        if self._day_end_ms != -math.inf:  # not the first mark: the run's first day starts at its start
            self.day_start_nav = self.nav
        if self._path is not None:
            self._path.pack()
        self.revision += 1
        self._day_end_ms = next_midnight_ms(ts, self._tz)

    def _new_peak(self, nav: float) -> None:
        self._fold_drawdown()
        self.peak_nav = self._low_nav = nav
        self.revision += 1

    def _fold_drawdown(self) -> None:
        """Keep the deepest drawdown below the peak being left: ``1 - lowest NAV / peak``."""
        if self.peak_nav > 0:
            dd = 1.0 - self._low_nav / self.peak_nav
            if dd > self._max_drawdown:
                self._max_drawdown = dd

    @property
    def max_drawdown(self) -> float:
        """The deepest fall of NAV from its running peak, over every mark (a fraction)."""
        self._fold_drawdown()
        return self._max_drawdown

    @property
    def unrealized(self) -> float:
        """P&L of the open positions at their last marked prices."""
        prices = self.prices
        total = 0.0
        for symbol, h in self.holdings.items():
            q = h.quantity
            if q:
                total += (prices.get(symbol, h.avg_price) - h.avg_price) * q
        return total

    def record_path(self, ts: array[int], nav: array[float], gross: array[float]) -> None:
        """From the next mark on, append each mark's time (ms), NAV and gross exposure to these arrays:
        a backtest's equity curve, kept without a call of its own per bar. The arrays are complete up
        to the start of the current day; ``flush_path()`` completes them."""
        self._path = _Path(ts, nav, gross)

    def flush_path(self) -> None:
        """Move every mark recorded so far into the ``record_path`` arrays."""
        if self._path is not None:
            self._path.pack()

    # -- views --------------------------------------------------------------------------------

    def position(self, symbol: str) -> float:
        h = self.holdings.get(symbol)
        return h.quantity if h is not None else 0.0

    def snapshot(self) -> PortfolioSnapshot:
        """The portfolio as guards and reports see it, as of the last ``mark``."""
        positions = self._positions
        if positions is None:
            positions = self._positions = tuple(
                Position(h.venue, symbol, h.quantity, h.avg_price, h.realized)
                for symbol, h in self.holdings.items()
                if h.quantity
            )
        nav = self.nav
        peak = self.peak_nav
        # tuple.__new__ skips the NamedTuple's Python-level __new__: this runs every cycle
        return _new_tuple(
            PortfolioSnapshot,
            (
                self.ts,
                nav,
                self.cash,
                positions,
                self.realized,
                self.unrealized,
                self.fees,
                self.gross,
                self.net,
                self.gross / nav if nav > 0 else float("inf"),
                peak,
                1.0 - nav / peak if peak > 0 else 0.0,
                nav - self.day_start_nav,
                self.day_start_nav,
            ),
        )
