"""What the portfolio would look like after an order: the arithmetic the exposure guards share.

Plain float functions, no allocation. Quantities are signed (negative = short); money is in the
quote currency; ``price`` is the symbol's latest price (``context.market.price(symbol)``). The
order is assumed to trade at that price, so it moves exposure but not NAV.
"""

from __future__ import annotations

from ais.domain import MarketSnapshot, Order, PortfolioSnapshot


def positions(order: Order, portfolio: PortfolioSnapshot) -> tuple[float, float]:
    """``(before, after)``: the signed position in ``order.symbol`` now, and
    ``after = before + order.signed_quantity``."""
    before = portfolio.position(order.symbol)
    return before, before + order.signed_quantity


def reduces(before: float, after: float) -> bool:
    """True when going from ``before`` to ``after`` shrinks ``|position|`` without flipping its sign:
    ``0 ≤ after < before`` for a long, ``before < after ≤ 0`` for a short. Such orders only reduce
    risk, so the exposure guards always let them pass."""
    if before > 0.0:
        return 0.0 <= after < before
    if before < 0.0:
        return before < after <= 0.0
    return False


def usable_price(market: MarketSnapshot, symbol: str) -> float | None:
    """The symbol's latest price if it is a positive finite number, else ``None`` (the guards then
    reject with ``NO_MARKET_DATA``: fail closed). ``not price > 0`` also catches NaN."""
    price = market.price(symbol)
    if price is None or not 0.0 < price < float("inf"):
        return None
    return price


def gross_after(portfolio: PortfolioSnapshot, before: float, after: float, price: float) -> float:
    """Projected gross exposure: ``gross_exposure + (|after| − |before|) × price`` (quote currency)."""
    return portfolio.gross_exposure + (abs(after) - abs(before)) * price


def net_after(portfolio: PortfolioSnapshot, before: float, after: float, price: float) -> float:
    """Projected net exposure: ``net_exposure + (after − before) × price`` (quote currency, signed)."""
    return portfolio.net_exposure + (after - before) * price
