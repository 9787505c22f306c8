"""DailyLoss: the kill switch for a bad day."""

from __future__ import annotations

from pydantic import Field

from ais import PluginConfig, hookimpl
from ais.context import GuardContext
from ais.domain import Action, Order, PortfolioSnapshot, Verdict
from ais_guards_standard.guard import Guard, describe
from ais_guards_standard.projection import positions, reduces
from ais_guards_standard.reasons import DAILY_LOSS


class DailyLossConfig(PluginConfig):
    max_daily_loss: float = Field(
        gt=0, le=1, description="loss limit as a fraction of the day's starting NAV (0.03 = 3 %)"
    )


class DailyLoss(Guard[DailyLossConfig]):
    """Daily loss limit: breached when ``daily_pnl ≤ −max_daily_loss × day_start_nav``.

    Core computes ``daily_pnl`` (NAV now minus NAV at the start of the calendar day in the run's
    timezone, on equity including unrealised P&L); this guard only compares.

    - assess: breached → ``HALT`` (the kill switch: HALTED, open orders cancelled; only an
      operator's re-arm leaves it), reason ``DAILY_LOSS``;
    - check: while breached, reject any order that does not reduce ``|position|`` (``DAILY_LOSS``).

    A NaN ``daily_pnl`` counts as breached (fail closed).
    """

    Config = DailyLossConfig
    reason_codes = (DAILY_LOSS,)

    def __init__(self, name: str, config: DailyLossConfig) -> None:
        super().__init__(name, config)
        self._limit = float(config.max_daily_loss)

    def _breached(self, portfolio: PortfolioSnapshot) -> bool:
        # `not >` rather than `<=` so that NaN counts as breached.
        return not portfolio.daily_pnl > -self._limit * portfolio.day_start_nav

    def _why(self, portfolio: PortfolioSnapshot) -> str:
        return (
            f"daily P&L {portfolio.daily_pnl:.2f} ≤ −{self._limit:.2%} of the day's starting NAV "
            f"{portfolio.day_start_nav:.2f}"
        )

    @hookimpl
    def ais_guard_assess(self, portfolio: PortfolioSnapshot, context: GuardContext) -> Verdict | None:
        if not self._breached(portfolio):
            return None
        return Verdict(self.name, Action.HALT, DAILY_LOSS, f"{self._why(portfolio)}: kill switch")

    @hookimpl
    def ais_guard_check(self, order: Order, portfolio: PortfolioSnapshot, context: GuardContext) -> Verdict:
        if not self._breached(portfolio):
            return self._ok
        before, after = positions(order, portfolio)
        if reduces(before, after):
            return self._ok
        return self._reject(DAILY_LOSS, f"{describe(order)} adds exposure while {self._why(portfolio)}")
