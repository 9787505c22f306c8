"""Exposure guards on the projected portfolio: leverage, gross/net exposure, one position's weight.

All three judge the portfolio as it would be right after the order (see ``projection``), let any
order that reduces ``|position|`` without flipping it pass, and reject when the symbol has no
usable price (``NO_MARKET_DATA``) or NAV is not positive (nothing can be sized against it).
"""

from __future__ import annotations

from pydantic import Field, model_validator

from ais import PluginConfig
from ais.domain import Order, PortfolioSnapshot, Verdict
from ais_guards_standard.guard import ProjectedGuard, describe
from ais_guards_standard.projection import gross_after, net_after
from ais_guards_standard.reasons import (
    GROSS_EXPOSURE,
    MAX_LEVERAGE,
    MAX_POSITION_WEIGHT,
    NET_EXPOSURE,
    NO_MARKET_DATA,
)

_INF = float("inf")


class MaxLeverageConfig(PluginConfig):
    max_leverage: float = Field(gt=0, description="limit on gross exposure / NAV after the order (2 = 2×)")


class MaxLeverage(ProjectedGuard[MaxLeverageConfig]):
    """Rejects (``MAX_LEVERAGE``) when ``gross_after / nav > max_leverage``, with
    ``gross_after = gross_exposure + (|position after| − |position before|) × price``."""

    Config = MaxLeverageConfig
    reason_codes = (MAX_LEVERAGE, NO_MARKET_DATA)
    nav_code = MAX_LEVERAGE

    def __init__(self, name: str, config: MaxLeverageConfig) -> None:
        super().__init__(name, config)
        self._limit = float(config.max_leverage)

    def judge(
        self, order: Order, portfolio: PortfolioSnapshot, before: float, after: float, price: float
    ) -> Verdict:
        nav = portfolio.nav
        leverage = gross_after(portfolio, before, after, price) / nav
        if not leverage <= self._limit:
            return self._reject(
                MAX_LEVERAGE,
                f"{describe(order)} would take leverage to {leverage:.3f}× > limit {self._limit:g}×",
            )
        return self._ok


class ExposureConfig(PluginConfig):
    max_gross: float | None = Field(
        None, gt=0, description="limit on gross exposure after the order as a fraction of NAV (1.5 = 150 %)"
    )
    max_net: float | None = Field(
        None, gt=0, description="limit on |net exposure| after the order as a fraction of NAV (1 = 100 %)"
    )

    @model_validator(mode="after")
    def _one_limit(self) -> ExposureConfig:
        if self.max_gross is None and self.max_net is None:
            raise ValueError("set max_gross, max_net or both (got neither)")
        return self


class Exposure(ProjectedGuard[ExposureConfig]):
    """Gross and net exposure limits, as fractions of NAV, on the projected portfolio:

    - ``gross_after / nav > max_gross`` → ``GROSS_EXPOSURE`` (checked first);
    - ``|net_after| / nav > max_net`` → ``NET_EXPOSURE``, ``net_after = net_exposure + Δposition × price``.

    A limit left unset is not checked.
    """

    Config = ExposureConfig
    reason_codes = (GROSS_EXPOSURE, NET_EXPOSURE, NO_MARKET_DATA)
    nav_code = GROSS_EXPOSURE

    def __init__(self, name: str, config: ExposureConfig) -> None:
        super().__init__(name, config)
        self._max_gross = _INF if config.max_gross is None else float(config.max_gross)
        self._max_net = _INF if config.max_net is None else float(config.max_net)

    def judge(
        self, order: Order, portfolio: PortfolioSnapshot, before: float, after: float, price: float
    ) -> Verdict:
        nav = portfolio.nav
        gross = gross_after(portfolio, before, after, price) / nav
        if not gross <= self._max_gross:
            return self._reject(
                GROSS_EXPOSURE,
                f"{describe(order)} would take gross exposure to {gross:.2%} of NAV "
                f"> limit {self._max_gross:.2%}",
            )
        net = abs(net_after(portfolio, before, after, price)) / nav
        if not net <= self._max_net:
            return self._reject(
                NET_EXPOSURE,
                f"{describe(order)} would take |net exposure| to {net:.2%} of NAV "
                f"> limit {self._max_net:.2%}",
            )
        return self._ok


class MaxPositionWeightConfig(PluginConfig):
    max_weight: float = Field(
        gt=0, description="limit on one position's |value| after the order as a fraction of NAV (0.25 = 25 %)"
    )


class MaxPositionWeight(ProjectedGuard[MaxPositionWeightConfig]):
    """Rejects (``MAX_POSITION_WEIGHT``) when ``|position after| × price / nav > max_weight``."""

    Config = MaxPositionWeightConfig
    reason_codes = (MAX_POSITION_WEIGHT, NO_MARKET_DATA)
    nav_code = MAX_POSITION_WEIGHT

    def __init__(self, name: str, config: MaxPositionWeightConfig) -> None:
        super().__init__(name, config)
        self._limit = float(config.max_weight)

    def judge(
        self, order: Order, portfolio: PortfolioSnapshot, before: float, after: float, price: float
    ) -> Verdict:
        nav = portfolio.nav
        weight = abs(after) * price / nav
        if not weight <= self._limit:
            return self._reject(
                MAX_POSITION_WEIGHT,
                f"{describe(order)} would make {order.symbol} {weight:.2%} of NAV > limit {self._limit:.2%}",
            )
        return self._ok
