"""Risk guards (entry-point group ``ais.guards``): verdicts on sized orders and on the portfolio."""

from __future__ import annotations

from ais.context import GuardContext
from ais.domain.orders import Order
from ais.domain.portfolio import PortfolioSnapshot
from ais.domain.risk import Verdict
from ais.markers import hookspec


@hookspec
def ais_guard_check(order: Order, portfolio: PortfolioSnapshot, context: GuardContext) -> Verdict:
    """Judge one sized ``order`` against ``portfolio`` before it is signed.

    Semantics: all results collected, one call per guard instance in ais.toml order; the risk engine
    signs the order only if no verdict is ``REJECT`` (``REDUCE_ONLY`` passes an order that reduces
    exposure). Every reason is kept, not just the first. A guard that raises counts as a rejection
    with reason code ``GUARD_ERROR`` (fail closed).
    May: read the order, the portfolio, ``context.market`` and the risk state; keep counters on self.
    May not: change the order, sign anything, or call an exchange.

    Example::

        @hookimpl
        def ais_guard_check(self, order, portfolio, context):
            notional = order.quantity * (context.market.price(order.symbol) or 0.0)
            if notional > self.config.max_notional:
                return Verdict.reject(self.name, "MAX_ORDER_NOTIONAL", f"{notional:.2f} > limit")
            return Verdict.ok(self.name)

    .. versionadded:: 1.0
    """


@hookspec
def ais_guard_assess(portfolio: PortfolioSnapshot, context: GuardContext) -> Verdict | None:
    """Judge the portfolio once per cycle, after it is marked to market.

    Semantics: all results collected, in ais.toml order. ``None`` or ``PASS``: nothing to do.
    ``REDUCE_ONLY`` moves the risk state to REDUCING; ``HALT`` trips the kill switch (HALTED, open
    orders cancelled, persisted). Only an operator's ``ais rearm`` leaves HALTED. A guard that raises
    is recorded and treated as ``HALT`` (fail closed).
    May: compare drawdown, daily P&L, leverage with its limits. May not: place or cancel orders itself.

    Example::

        @hookimpl
        def ais_guard_assess(self, portfolio, context):
            if portfolio.daily_pnl < -self.config.max_daily_loss * portfolio.day_start_nav:
                return Verdict(self.name, Action.HALT, "DAILY_LOSS", "daily loss limit crossed")
            return None

    .. versionadded:: 1.0
    """
