"""The ``regime`` detector: each symbol's market regime, published in the run's shared state."""

from __future__ import annotations

from collections.abc import Sequence
from math import log
from typing import Literal, Self, get_args

from pydantic import Field, model_validator

from ais import PluginConfig
from ais.agentkit import RESET, SKIP, bar_step
from ais.context import AgentContext
from ais.domain.market import Candle, MarketSnapshot
from ais.domain.signals import Signal
from ais.indicators import RollingMoments, RollingRegression
from ais.markers import hookimpl
from ais.plugins.base import Plugin

#: The regimes published with ``shared.publish(topic, symbol, regime)``. They must match, string for
#: string, the ``Regime`` of the weighted arbitration (``ais_arbitration_weighted.scoring``), which reads
#: them to scale agents' scores (``regime_weights``). Restated here: this plugin does not depend on that one.
Regime = Literal["trending_up", "trending_down", "ranging", "high_volatility"]
REGIMES: tuple[str, ...] = get_args(Regime)
TRENDING_UP: Regime = "trending_up"
TRENDING_DOWN: Regime = "trending_down"
RANGING: Regime = "ranging"
HIGH_VOLATILITY: Regime = "high_volatility"

_NONE: tuple[Signal, ...] = ()


class RegimeConfig(PluginConfig):
    """``[agents.<instance>]`` with ``plugin = "regime"``."""

    short: int = Field(default=24, ge=2, description="bars of log returns in the short-window volatility")
    long: int = Field(
        default=288, gt=2, description="bars of log returns in the baseline volatility; must be > short"
    )
    vol_ratio: float = Field(
        default=2.0,
        gt=1.0,
        description="short / long volatility at or above which the regime is high_volatility",
    )
    trend: int = Field(
        default=72, ge=3, description="bars in the rolling regression of log close on time (trend strength)"
    )
    min_r2: float = Field(
        default=0.7,
        gt=0.0,
        lt=1.0,
        description="R² of that regression at or above which the regime is trending (up or down by the "
        "slope's sign)",
    )
    hysteresis: float = Field(
        default=0.25,
        ge=0.0,
        lt=1.0,
        description="a regime is kept until its own measure falls below its threshold × (1 − hysteresis); "
        "0: no hysteresis",
    )
    topic: str = Field(
        default="regime",
        min_length=1,
        description='shared-state topic published to; the weighted arbitration reads "regime"',
    )

    @model_validator(mode="after")
    def _long_above_short(self) -> Self:
        if self.long <= self.short:
            raise ValueError(
                f"`long` must be greater than `short` (got short = {self.short}, long = {self.long})"
            )
        return self

    @property
    def warm_up_bars(self) -> int:
        """Bars before the first regime: ``long`` returns need ``long + 1`` closes."""
        return max(self.long + 1, self.trend)


class _SymbolState:
    """Everything the detector knows about one symbol. Never shared across symbols."""

    __slots__ = ("index", "last_log", "last_open", "long", "regime", "short", "trend")

    def __init__(self, short: int, long: int, trend: int) -> None:
        self.short = RollingMoments(short)  # log returns
        self.long = RollingMoments(long)  # log returns
        self.trend = RollingRegression(trend)  # log close on bar index
        self.index = 0  # bar index since the last reset (x of the regression)
        self.last_log: float | None = None  # log close of the previous bar
        self.last_open: int | None = None  # open time (ms) of the last bar consumed
        self.regime: str | None = None  # the regime this detector last published

    def reset(self) -> None:
        """Start warming up again (missing bars: the windows would span the hole)."""
        self.short.reset()
        self.long.reset()
        self.trend.reset()
        self.index = 0
        self.last_log = None


class RegimeDetector(Plugin[RegimeConfig]):
    """Classifies each symbol's regime from its returns, volatility and trend strength; one independent
    state per symbol, O(1) per bar.

    With ``r`` the log returns of closes:

    1. ``high_volatility`` if ``std(r over short) ≥ vol_ratio × std(r over long)``;
    2. else ``trending_up`` / ``trending_down`` if the regression of ``log(close)`` on the bar index over
       ``trend`` bars has ``R² ≥ min_r2``, by the sign of its slope;
    3. else ``ranging``.

    Hysteresis: the regime in force is kept while its own measure stays at or above its threshold
    × (1 − ``hysteresis``) (for a trend: with the same slope sign). Each change is published with
    ``context.shared.publish(topic, symbol, regime)`` (core records it as a ``shared.update`` event;
    ``ais status`` shows it). Nothing is published before the windows are full (``max(long + 1,
    trend)`` bars); a gap resets the windows and withdraws the symbol's regime (publishes ``None``)
    until they are full again. Returns no trading signals.
    """

    Config = RegimeConfig

    def __init__(self, name: str, config: RegimeConfig) -> None:
        super().__init__(name, config)
        self._states: dict[str, _SymbolState] = {}
        # resolved once: the hot path reads locals, not the pydantic model
        self._short = config.short
        self._long = config.long
        self._trend = config.trend
        self._vol_ratio2 = config.vol_ratio * config.vol_ratio  # compared on variances
        keep = 1.0 - config.hysteresis
        self._stay_vol_ratio2 = (config.vol_ratio * keep) ** 2
        self._min_r2 = config.min_r2
        self._stay_r2 = config.min_r2 * keep
        self._topic = config.topic

    def indicators(self, symbol: str) -> tuple[float, float, float, float] | None:
        """``(short volatility, long volatility, slope, R²)`` of ``symbol`` after its warm-up, else
        ``None``: population standard deviations of log returns, the regression slope of log close per
        bar and its R²."""
        state = self._states.get(symbol)
        if state is None or not (state.long.full and state.trend.full):
            return None
        return state.short.std, state.long.std, state.trend.beta, state.trend.r_squared

    def regime(self, symbol: str) -> str | None:
        """The regime this detector last published for ``symbol`` (``None`` while warming up)."""
        state = self._states.get(symbol)
        return state.regime if state is not None else None

    @hookimpl
    def ais_agent_signals(self, snapshot: MarketSnapshot, context: AgentContext) -> Sequence[Signal]:
        bar_ms = snapshot.bar_ms
        gaps = snapshot.gaps
        states = self._states
        for symbol, bar in snapshot.candles.items():
            state = states.get(symbol)
            if state is None:
                state = states[symbol] = _SymbolState(self._short, self._long, self._trend)
            regime = self._update(state, bar, bar_ms, symbol in gaps)
            if regime != state.regime:
                state.regime = regime
                context.shared.publish(self._topic, symbol, regime)
        return _NONE

    def _update(self, state: _SymbolState, bar: Candle, bar_ms: int, gap: bool) -> str | None:
        """The symbol's regime after ``bar`` (``None`` while warming up)."""
        step = bar_step(state.last_open, bar.ts, bar_ms, gap)
        if step == SKIP:
            return state.regime
        state.last_open = bar.ts
        close = bar.close
        if step == RESET or close <= 0.0:  # a non-positive close has no log: treat it as missing data
            state.reset()
            if close <= 0.0:
                return None
        log_close = log(close)
        index = state.index
        state.index = index + 1
        trend = state.trend
        trend.push(index, log_close)
        last = state.last_log
        state.last_log = log_close
        if last is None:
            return None
        ret = log_close - last
        short = state.short
        long = state.long
        short.push(ret)
        long.push(ret)
        if not (long.full and trend.full):
            return None  # warming up
        current = state.regime
        long_var = long.variance
        if long_var > 0.0:
            limit = self._stay_vol_ratio2 if current == HIGH_VOLATILITY else self._vol_ratio2
            if short.variance >= limit * long_var:
                return HIGH_VOLATILITY
        r2 = trend.r_squared
        if r2 >= self._stay_r2 and current in (TRENDING_UP, TRENDING_DOWN):
            slope = trend.beta
            if (slope > 0.0 and current == TRENDING_UP) or (slope < 0.0 and current == TRENDING_DOWN):
                return current  # hysteresis: the trend in force holds on a weaker fit
        if r2 >= self._min_r2:
            slope = trend.beta
            if slope > 0.0:
                return TRENDING_UP
            if slope < 0.0:
                return TRENDING_DOWN
        return RANGING
