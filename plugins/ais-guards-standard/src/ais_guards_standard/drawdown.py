"""MaxDrawdown: stop adding risk once NAV has fallen a set fraction below its peak."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ais import PluginConfig, hookimpl
from ais.context import GuardContext
from ais.domain import Action, Order, PortfolioSnapshot, Verdict
from ais_guards_standard.guard import Guard, describe
from ais_guards_standard.projection import positions, reduces
from ais_guards_standard.reasons import MAX_DRAWDOWN


class MaxDrawdownConfig(PluginConfig):
    max_drawdown: float = Field(
        gt=0, lt=1, description="drawdown limit as a fraction below peak NAV (0.2 = 20 % down)"
    )
    action: Literal["reduce", "halt"] = Field(
        "reduce",
        description="at the limit: 'reduce' moves the risk state to REDUCING, 'halt' trips the kill switch",
    )


class MaxDrawdown(Guard[MaxDrawdownConfig]):
    """Drawdown limit on ``portfolio.drawdown = (peak_nav − nav) / peak_nav`` (computed by core).

    - assess: ``drawdown ≥ max_drawdown`` → ``REDUCE_ONLY`` (state REDUCING) or ``HALT`` (per
      ``action``), reason ``MAX_DRAWDOWN``;
    - check: while ``drawdown ≥ max_drawdown``, reject any order that does not reduce ``|position|``
      (``MAX_DRAWDOWN``); reducing orders always pass.

    A NaN drawdown counts as breached (fail closed).
    """

    Config = MaxDrawdownConfig
    reason_codes = (MAX_DRAWDOWN,)

    def __init__(self, name: str, config: MaxDrawdownConfig) -> None:
        super().__init__(name, config)
        self._limit = float(config.max_drawdown)
        self._action = Action.HALT if config.action == "halt" else Action.REDUCE_ONLY

    def _breached(self, portfolio: PortfolioSnapshot) -> bool:
        # `not <` rather than `>=` so that a NaN drawdown counts as breached.
        return not portfolio.drawdown < self._limit

    def _why(self, portfolio: PortfolioSnapshot) -> str:
        return f"drawdown {portfolio.drawdown:.2%} ≥ limit {self._limit:.2%}"

    @hookimpl
    def ais_guard_assess(self, portfolio: PortfolioSnapshot, context: GuardContext) -> Verdict | None:
        if not self._breached(portfolio):
            return None
        then = "only exposure-reducing orders pass" if self._action is Action.REDUCE_ONLY else "halting"
        return Verdict(self.name, self._action, MAX_DRAWDOWN, f"{self._why(portfolio)}: {then}")

    @hookimpl
    def ais_guard_check(self, order: Order, portfolio: PortfolioSnapshot, context: GuardContext) -> Verdict:
        if not self._breached(portfolio):
            return self._ok
        before, after = positions(order, portfolio)
        if reduces(before, after):
            return self._ok
        return self._reject(MAX_DRAWDOWN, f"{describe(order)} adds exposure while {self._why(portfolio)}")
