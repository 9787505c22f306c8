"""Sizing: a selected signal becomes an order for the difference between the target position and the
position held (plus what is already in flight).

target value = target_weight × confidence × leg_weight × NAV, capped at max_weight × NAV, signed by direction;
FLAT targets zero (it closes or holds, it never opens). The quantity is rounded toward zero to the
venue's lot size; an order below the venue's minimum notional is dropped.
"""

from __future__ import annotations

import math

from ais.domain.orders import MarketRules, Order, OrderType, Side
from ais.domain.signals import Direction, Signal


class Allocator:
    def __init__(self, target_weight: float, max_weight: float) -> None:
        self.target_weight = target_weight
        self.max_weight = max_weight

    def target_quantity(self, signal: Signal, nav: float, price: float) -> float:
        if signal.direction is Direction.FLAT or nav <= 0 or price <= 0:
            return 0.0
        weight = min(self.target_weight * signal.confidence * signal.leg_weight, self.max_weight)
        quantity = weight * nav / price
        return quantity if signal.direction is Direction.LONG else -quantity

    def size(
        self,
        signal: Signal,
        *,
        nav: float,
        price: float,
        held: float,
        rules: MarketRules,
        order_id: str,
        client_order_id: str,
        venue: str,
        ts: int,
    ) -> Order | None:
        """The order that moves ``held`` (incl. in-flight) to the signal's target, or ``None``."""
        if signal.direction is Direction.FLAT and held == 0.0:
            return None
        target = self.target_quantity(signal, nav, price)
        delta = target - held
        lot = rules.lot_size
        quantity = math.floor(abs(delta) / lot + 1e-9) * lot
        if quantity <= 0.0:
            return None
        quantity = float(f"{quantity:.12g}")  # strip float noise from the lot rounding
        if quantity * price < rules.min_notional:
            return None
        reduce_only = abs(target) < abs(held) and (target == 0.0 or (target > 0) == (held > 0))
        return Order(
            id=order_id,
            client_order_id=client_order_id,
            venue=venue,
            symbol=signal.symbol,
            side=Side.BUY if delta > 0 else Side.SELL,
            type=OrderType.MARKET,
            quantity=quantity,
            limit_price=None,
            reduce_only=reduce_only,
            strategy=signal.agent,
            ts=ts,
        )
