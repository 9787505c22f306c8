"""Per-order limits: notional size and submission rate."""

from __future__ import annotations

from collections import deque

from pydantic import Field

from ais import PluginConfig, hookimpl
from ais.context import GuardContext
from ais.domain import Order, PortfolioSnapshot, Verdict
from ais_guards_standard.guard import Guard, describe
from ais_guards_standard.projection import usable_price
from ais_guards_standard.reasons import MAX_ORDER_NOTIONAL, NO_MARKET_DATA, ORDER_RATE


class MaxOrderNotionalConfig(PluginConfig):
    max_notional: float = Field(
        gt=0, description="largest order value (quantity × price) in the quote currency"
    )


class MaxOrderNotional(Guard[MaxOrderNotionalConfig]):
    """Rejects (``MAX_ORDER_NOTIONAL``) when ``quantity × price > max_notional``, ``price`` being the
    symbol's latest market price (no usable price → ``NO_MARKET_DATA``). Applies to every order: a
    fat-finger check, not an exposure limit."""

    Config = MaxOrderNotionalConfig
    reason_codes = (MAX_ORDER_NOTIONAL, NO_MARKET_DATA)

    def __init__(self, name: str, config: MaxOrderNotionalConfig) -> None:
        super().__init__(name, config)
        self._limit = float(config.max_notional)

    @hookimpl
    def ais_guard_check(self, order: Order, portfolio: PortfolioSnapshot, context: GuardContext) -> Verdict:
        price = usable_price(context.market, order.symbol)
        if price is None:
            return self._no_market_data(order)
        notional = order.quantity * price
        if not notional <= self._limit:
            return self._reject(
                MAX_ORDER_NOTIONAL, f"{describe(order)} is worth {notional:.6g} > limit {self._limit:g}"
            )
        return self._ok


class OrderRateConfig(PluginConfig):
    max_orders: int = Field(gt=0, description="orders this guard passes at most in any window of per_seconds")
    per_seconds: float = Field(gt=0, description="length of the rolling window, in seconds of run time")


class OrderRate(Guard[OrderRateConfig]):
    """At most ``max_orders`` orders pass in any rolling window of ``per_seconds``, measured on
    ``context.now_ms`` (the run's clock: simulated time in a backtest, never the wall clock).

    An order at ``t`` passes unless ``max_orders`` orders already passed in ``(t − window, t]``;
    rejected orders do not use up the budget (``ORDER_RATE``). It counts the orders *this* guard
    passed: another guard may still reject one of them. Keeps the last ``max_orders`` pass times in a
    bounded deque, so each call is O(1).
    """

    Config = OrderRateConfig
    reason_codes = (ORDER_RATE,)

    def __init__(self, name: str, config: OrderRateConfig) -> None:
        super().__init__(name, config)
        self._max = int(config.max_orders)
        self._window_ms = float(config.per_seconds) * 1000.0
        # Only the newest max_orders pass times matter: the oldest of them decides the next order.
        self._passed: deque[int] = deque(maxlen=self._max)

    @hookimpl
    def ais_guard_check(self, order: Order, portfolio: PortfolioSnapshot, context: GuardContext) -> Verdict:
        now = context.now_ms
        passed = self._passed
        if len(passed) == self._max and now - passed[0] < self._window_ms:
            wait_s = (passed[0] + self._window_ms - now) / 1000.0
            return self._reject(
                ORDER_RATE,
                f"{describe(order)}: {self._max} orders already passed in the last "
                f"{self._window_ms / 1000.0:g} s (next slot in {wait_s:g} s)",
            )
        passed.append(now)
        return self._ok
