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


@hookspec
def ais_guard_nav_floor(portfolio: PortfolioSnapshot, context: GuardContext) -> float | None:
    """The NAV at or below which this guard's ``ais_guard_assess`` could answer differently.

    Optional, for a guard whose assessment depends only on NAV against levels the portfolio fixes
    (the day's starting NAV, the peak NAV). Asked right after an assessment in which no guard asked for
    anything (risk state ACTIVE). The engine then skips ``ais_guard_assess`` on later cycles while every
    assessing guard has given a floor, NAV stays above the highest floor, and nothing else moves: no
    fill, no new day, no new peak, no change of risk state. Whatever moves, every guard is assessed
    again. A floor above the true breach level only costs assessments; one below it would miss a
    breach, so round up. ``None``, NaN, raising, or not implementing it: assessed every cycle.
    May not: depend on the market, the clock or anything but the portfolio's NAV and levels.

    Example::

        @hookimpl
        def ais_guard_nav_floor(self, portfolio, context):
            level = portfolio.day_start_nav * (1.0 - self.config.max_daily_loss)
            return level + abs(level) * 1e-9  # rounded up: never below the breach level

    .. versionadded:: 1.0
    """
