"""MaxDrawdown: stop adding risk once NAV has fallen a set fraction below its peak."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ais import PluginConfig
from ais.domain import Action, PortfolioSnapshot
from ais_guards_standard.guard import BreachGuard
from ais_guards_standard.reasons import MAX_DRAWDOWN


class MaxDrawdownConfig(PluginConfig):
    max_drawdown: float = Field(
        gt=0, lt=1, description="drawdown limit as a fraction below peak NAV (0.2 = 20 % down)"
    )
    action: Literal["reduce", "halt"] = Field(
        "reduce",
        description="at the limit: 'reduce' moves the risk state to REDUCING, 'halt' trips the kill switch",
    )


class MaxDrawdown(BreachGuard[MaxDrawdownConfig]):
    """Drawdown limit on ``portfolio.drawdown = (peak_nav − nav) / peak_nav`` (computed by core).

    - assess: ``drawdown ≥ max_drawdown`` → ``REDUCE_ONLY`` (state REDUCING) or ``HALT`` (per
      ``action``), reason ``MAX_DRAWDOWN``;
    - check: while ``drawdown ≥ max_drawdown``, reject any order that does not reduce ``|position|``
      (``MAX_DRAWDOWN``); reducing orders always pass.

    A NaN drawdown counts as breached (fail closed).
    """

    Config = MaxDrawdownConfig
    reason_codes = (MAX_DRAWDOWN,)

    code = MAX_DRAWDOWN

    def __init__(self, name: str, config: MaxDrawdownConfig) -> None:
        super().__init__(name, config)
        self._limit = float(config.max_drawdown)
        self.action = Action.HALT if config.action == "halt" else Action.REDUCE_ONLY

    def breached(self, portfolio: PortfolioSnapshot) -> bool:
        # `not <` rather than `>=` so that a NaN drawdown counts as breached.
        return not portfolio.drawdown < self._limit

    def breach_nav(self, portfolio: PortfolioSnapshot) -> float | None:
        peak = portfolio.peak_nav
        return peak * (1.0 - self._limit) if peak > 0.0 else None  # no peak: drawdown is taken as 0

    def why(self, portfolio: PortfolioSnapshot) -> str:
        return f"drawdown {portfolio.drawdown:.2%} ≥ limit {self._limit:.2%}"
