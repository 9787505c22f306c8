"""Positions and the portfolio as guards and reports see it."""

from __future__ import annotations

from typing import NamedTuple


class Position(NamedTuple):
    """A signed quantity (negative = short) with its average entry price."""

    venue: str
    symbol: str
    quantity: float
    avg_price: float
    realized_pnl: float = 0.0


class PortfolioSnapshot(NamedTuple):
    """The portfolio at ``ts`` (ms), marked to market. Money is in the quote currency.

    A NamedTuple (immutable, and cheap to build: one is built every cycle for the guards).

    ``drawdown`` is the fraction below ``peak_nav`` (0.1 = 10 % down); ``daily_pnl`` is NAV now minus
    NAV at the start of the current calendar day in the configured timezone.
    """

    ts: int
    nav: float
    cash: float
    positions: tuple[Position, ...]
    realized_pnl: float
    unrealized_pnl: float
    fees: float
    gross_exposure: float
    net_exposure: float
    leverage: float
    peak_nav: float
    drawdown: float
    daily_pnl: float
    day_start_nav: float

    def position(self, symbol: str) -> float:
        """The signed quantity held in ``symbol`` (0.0 if none)."""
        for p in self.positions:
            if p.symbol == symbol:
                return p.quantity
        return 0.0
