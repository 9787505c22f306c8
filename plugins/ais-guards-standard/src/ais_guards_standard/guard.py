"""What the standard guards share: a PASS verdict built once, the rejection helpers, and the two
shapes most of them take — a limit on the portfolio as it would be after the order
(``ProjectedGuard``), and a portfolio limit that, once breached, lets only reducing orders pass
(``BreachGuard``)."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from ais import Plugin, PluginConfig, hookimpl
from ais.context import GuardContext
from ais.domain import Action, Order, PortfolioSnapshot, Verdict
from ais_guards_standard.projection import positions, reduces, usable_price
from ais_guards_standard.reasons import NO_MARKET_DATA

C = TypeVar("C", bound=PluginConfig)

#: relative margin added to a breach level to make it a NAV floor: covers the rounding of the guard's
#: own comparison (NAV - day start, 1 - NAV / peak), at the cost of a few more assessments near it
NAV_FLOOR_MARGIN = 1e-9


class Guard(Plugin[C]):
    """Base of the standard guards. Subclasses copy their config into plain attributes in
    ``__init__`` so the per-order path never touches pydantic."""

    #: The reason codes this guard can return (documented, stable).
    reason_codes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str, config: C) -> None:
        super().__init__(name, config)
        # Verdicts are frozen: one PASS object serves every call (no allocation on the common path).
        self._ok = Verdict.ok(name)

    def _reject(self, reason_code: str, message: str) -> Verdict:
        return Verdict(self.name, Action.REJECT, reason_code, message)

    def _no_market_data(self, order: Order) -> Verdict:
        return Verdict(
            self.name,
            Action.REJECT,
            NO_MARKET_DATA,
            f"no usable price for {order.symbol}: cannot judge the order, rejecting (fail closed)",
        )


class ProjectedGuard(Guard[C]):
    """A limit on the projected portfolio. Orders that reduce ``|position|`` without flipping it
    always pass; no usable price → ``NO_MARKET_DATA``; NAV not positive → ``nav_code`` (nothing can
    be sized against it); otherwise ``judge`` decides."""

    #: The reason code given when NAV is not positive.
    nav_code: ClassVar[str] = ""

    @hookimpl
    def ais_guard_check(self, order: Order, portfolio: PortfolioSnapshot, context: GuardContext) -> Verdict:
        before, after = positions(order, portfolio)
        if reduces(before, after):
            return self._ok
        price = usable_price(context.market, order.symbol)
        if price is None:
            return self._no_market_data(order)
        if not portfolio.nav > 0.0:
            return self._reject(
                self.nav_code, f"NAV {portfolio.nav:.2f} is not positive: no exposure can be added"
            )
        return self.judge(order, portfolio, before, after, price)

    def judge(
        self, order: Order, portfolio: PortfolioSnapshot, before: float, after: float, price: float
    ) -> Verdict:
        raise NotImplementedError


class BreachGuard(Guard[C]):
    """A portfolio limit. While ``breached``, orders that add exposure are rejected with ``code``
    (reducing ones pass); ``ais_guard_assess`` reports the breach with ``action`` (REDUCE_ONLY or
    HALT). ``breached`` must treat NaN as breached (fail closed)."""

    code: ClassVar[str] = ""
    action: Action = Action.HALT

    def breached(self, portfolio: PortfolioSnapshot) -> bool:
        raise NotImplementedError

    def why(self, portfolio: PortfolioSnapshot) -> str:
        raise NotImplementedError

    def consequence(self) -> str:
        return "kill switch" if self.action is Action.HALT else "only exposure-reducing orders pass"

    def breach_nav(self, portfolio: PortfolioSnapshot) -> float | None:
        """The NAV at or below which ``breached`` holds, the portfolio's levels (day start, peak)
        staying the same; ``None`` if the limit is not a NAV level."""
        return None

    @hookimpl
    def ais_guard_assess(self, portfolio: PortfolioSnapshot, context: GuardContext) -> Verdict | None:
        if not self.breached(portfolio):
            return None
        return Verdict(self.name, self.action, self.code, f"{self.why(portfolio)}: {self.consequence()}")

    @hookimpl
    def ais_guard_nav_floor(self, portfolio: PortfolioSnapshot, context: GuardContext) -> float | None:
        level = self.breach_nav(portfolio)
        if level is None:
            return None
        return level + abs(level) * NAV_FLOOR_MARGIN  # rounded up: never below the breach level

    @hookimpl
    def ais_guard_check(self, order: Order, portfolio: PortfolioSnapshot, context: GuardContext) -> Verdict:
        if not self.breached(portfolio):
            return self._ok
        before, after = positions(order, portfolio)
        if reduces(before, after):
            return self._ok
        return self._reject(self.code, f"{describe(order)} adds exposure while {self.why(portfolio)}")


def describe(order: Order) -> str:
    """``buy 0.1 ETH/BTC``: how messages name an order."""
    return f"{order.side.value} {order.quantity:g} {order.symbol}"
