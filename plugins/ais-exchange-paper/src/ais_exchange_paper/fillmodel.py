"""The fill model as pure functions: at what price, and how much, an order fills in one bar.

Prices are in quote units per base unit, quantities in base units. Called once per live order per
bar, so they take plain floats and allocate nothing.
"""

from __future__ import annotations

import math

from ais.domain.market import Candle

#: Added before flooring a quotient so that 0.3 / 0.1 = 2.9999999999999996 counts as 3 lots.
_FLOOR_EPS = 1e-9


def market_price(bar: Candle, is_buy: bool, buy_factor: float, sell_factor: float) -> float:
    """A market order's fill price: the bar's open moved against the taker by the slippage.

    buy: ``open × (1 + slippage_bps / 1e4)`` (= ``buy_factor``), sell: ``open × (1 − slippage_bps / 1e4)``.
    """
    return bar.open * (buy_factor if is_buy else sell_factor)


def limit_price(bar: Candle, is_buy: bool, limit: float) -> float | None:
    """A limit order's fill price in ``bar``, or ``None`` if the bar does not reach the limit.

    buy: fills when ``low <= limit``, at ``min(open, limit)`` (a bar that opens below the limit fills
    at the open: the better price); sell: fills when ``high >= limit``, at ``max(open, limit)``.
    No slippage.
    """
    if is_buy:
        if bar.low > limit:
            return None
        return bar.open if bar.open < limit else limit
    if bar.high < limit:
        return None
    return bar.open if bar.open > limit else limit


def fill_quantity(remaining: float, volume: float, max_share: float, lot: float) -> float:
    """How much of ``remaining`` fills in a bar of ``volume`` (base units).

    At most ``max_share × volume``; the whole remainder when it fits, otherwise that cap rounded
    down to a multiple of ``lot`` (so partial fills stay on the lot grid). 0.0 = nothing this bar.
    """
    cap = volume * max_share
    if cap >= remaining:
        return remaining
    if cap <= 0.0:
        return 0.0
    return math.floor(cap / lot + _FLOOR_EPS) * lot


def on_grid(value: float, step: float) -> bool:
    """Whether ``value`` is a whole multiple of ``step``, up to float rounding."""
    n = round(value / step)
    return n >= 1 and math.isclose(value, n * step, rel_tol=1e-12, abs_tol=step * 1e-6)
