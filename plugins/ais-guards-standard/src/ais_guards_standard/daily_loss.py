"""DailyLoss: the kill switch for a bad day."""

from __future__ import annotations

from pydantic import Field

from ais import PluginConfig
from ais.domain import PortfolioSnapshot
from ais_guards_standard.guard import BreachGuard
from ais_guards_standard.reasons import DAILY_LOSS


class DailyLossConfig(PluginConfig):
    max_daily_loss: float = Field(
        gt=0, le=1, description="loss limit as a fraction of the day's starting NAV (0.03 = 3 %)"
    )


class DailyLoss(BreachGuard[DailyLossConfig]):
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

    code = DAILY_LOSS

    def __init__(self, name: str, config: DailyLossConfig) -> None:
        super().__init__(name, config)
        self._limit = float(config.max_daily_loss)

    def breached(self, portfolio: PortfolioSnapshot) -> bool:
        # `not >` rather than `<=` so that NaN counts as breached.
        return not portfolio.daily_pnl > -self._limit * portfolio.day_start_nav

    def breach_nav(self, portfolio: PortfolioSnapshot) -> float:
        return portfolio.day_start_nav * (1.0 - self._limit)

    def why(self, portfolio: PortfolioSnapshot) -> str:
        return (
            f"daily P&L {portfolio.daily_pnl:.2f} ≤ −{self._limit:.2%} of the day's starting NAV "
            f"{portfolio.day_start_nav:.2f}"
        )
