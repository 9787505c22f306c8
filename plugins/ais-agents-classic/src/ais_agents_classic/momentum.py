"""The ``momentum`` agent: a moving-average crossover with trend strength, calibrated on its own record."""

from __future__ import annotations

from math import tanh
from typing import Self

from pydantic import Field, model_validator

from ais import PluginConfig
from ais.agentkit import Outcomes, SymbolAgent, bar_signal, liquidity_score
from ais.domain.market import Candle
from ais.domain.signals import Direction, Signal
from ais.indicators import DualMean, WindowMean
from ais_agents_classic.common import close_view, gap_exit

_NONE: tuple[Signal, ...] = ()
_SIGN = {Direction.LONG: 1, Direction.SHORT: -1}


class MomentumConfig(PluginConfig):
    """``[agents.<instance>]`` with ``plugin = "momentum"``."""

    fast: int = Field(default=10, gt=0, description="bars in the fast simple moving average of closes")
    slow: int = Field(default=50, gt=1, description="bars in the slow moving average; must be > fast")
    horizon: int | None = Field(
        default=None, gt=0, description="bars over which a signal's outcome is measured; default: slow"
    )
    min_strength: float = Field(
        default=0.0,
        ge=0.0,
        description="minimum trend strength |fast − slow| / slow to go long or short; below it: flat",
    )
    allow_short: bool = Field(default=True, description="false: a bearish cross gives FLAT instead of SHORT")
    strength_scale: float = Field(
        default=0.01,
        gt=0.0,
        description="strength at which confidence reaches tanh(1) ≈ 76 % of the hit rate",
    )
    liquidity_ref: float = Field(
        default=1.0,
        gt=0.0,
        description="mean quote volume per bar (close × volume) at which liquidity is 1 − 1/e ≈ 0.63",
    )

    @model_validator(mode="after")
    def _slow_above_fast(self) -> Self:
        if self.slow <= self.fast:
            got = f"fast = {self.fast}, slow = {self.slow}"
            raise ValueError(f"`slow` must be greater than `fast` (got {got})")
        return self

    @property
    def horizon_bars(self) -> int:
        return self.horizon if self.horizon is not None else self.slow


class _SymbolState:
    """Everything the agent knows about one symbol. Never shared across symbols."""

    __slots__ = ("last_open", "means", "outcomes", "quote_volume", "view")

    def __init__(self, fast: int, slow: int) -> None:
        self.means = DualMean(fast, slow)  # SMA(fast) and SMA(slow) of the closes, one push a bar
        self.quote_volume = WindowMean(slow)
        self.last_open: int | None = None  # open time (ms) of the last bar consumed
        self.view: Direction | None = None  # the view last emitted since the last reset
        self.outcomes = Outcomes()  # the track record survives resets: it is about the agent, not the data

    def reset(self) -> None:
        """Start warming up again (missing bars: the windows would span the hole)."""
        self.means.reset()
        self.quote_volume.reset()
        self.view = None


class Momentum(SymbolAgent[MomentumConfig, _SymbolState]):
    """SMA(fast) / SMA(slow) crossover, one independent state per symbol.

    Per bar and symbol (O(1)): ``strength = (SMA_fast − SMA_slow) / SMA_slow``; the view is LONG if
    ``strength > min_strength``, SHORT (FLAT without ``allow_short``) if ``strength < −min_strength``,
    else FLAT. A signal is emitted when the view changes (edge-triggered); nothing before ``slow``
    bars (warm-up), and a gap (the symbol in ``snapshot.gaps``, or a bar further than ``bar_ms``
    after the previous one) resets the indicators and starts the warm-up again; a LONG or SHORT view
    is closed at once (a FLAT on the first bar after the gap: without its averages the agent cannot
    supervise the position), as every classic agent does.

    Signal fields come from the data:

    - ``confidence = (hits + 1) / (n + 2) × tanh(|strength| / strength_scale)``, the Bayesian hit
      rate of this agent's past LONG/SHORT signals on this symbol (settled after ``horizon`` bars)
      scaled by the trend strength;
    - ``expected_return`` (LONG/SHORT) = the mean move of past signals in their own direction,
      floored at 0, or ``|strength|`` before any has settled; 0 for FLAT;
    - ``liquidity = 1 − exp(−mean(close × volume over slow bars) / liquidity_ref)``;
    - ``horizon_s = horizon × bar_ms / 1000``; ``ts`` = the bar's close time (ms).
    """

    Config = MomentumConfig

    def __init__(self, name: str, config: MomentumConfig) -> None:
        super().__init__(name, config)
        # resolved once: the hot path reads locals, not the pydantic model
        self._fast = config.fast
        self._slow = config.slow
        self._horizon = config.horizon_bars
        self._min_strength = config.min_strength
        self._allow_short = config.allow_short
        self._strength_scale = config.strength_scale
        self._liquidity_ref = config.liquidity_ref

    def indicators(self, symbol: str) -> tuple[float, float] | None:
        """``(SMA_fast, SMA_slow)`` of ``symbol`` after its warm-up, else ``None``."""
        state = self._states.get(symbol)
        if state is None or not state.means.full:
            return None
        return state.means.fast_mean, state.means.slow_mean

    def new_state(self) -> _SymbolState:
        return _SymbolState(self._fast, self._slow)

    def _gap(self, state: _SymbolState) -> Direction | None:
        return close_view(state)

    def _update(
        self, symbol: str, state: _SymbolState, bar: Candle, bar_ms: int, closed: Direction | None
    ) -> Signal | None:
        close = bar.close
        close_ms = bar.ts + bar_ms
        means = state.means
        means.push(close)
        state.quote_volume.push(close * bar.volume)
        if not means.full:
            if closed is not None:  # the first bar after a gap closes the open view
                liquidity = liquidity_score(state.quote_volume.mean, self._liquidity_ref)
                record = state.outcomes
                return gap_exit(self.name, symbol, closed, record, self._horizon, liquidity, close_ms, bar_ms)
            return None  # warming up
        fast = means.fast_sum / self._fast
        slow = means.slow_sum / self._slow
        if slow <= 0.0:
            return None  # not a price series: no meaningful strength
        strength = (fast - slow) / slow
        if strength > self._min_strength:
            view = Direction.LONG
        elif strength < -self._min_strength:
            view = Direction.SHORT if self._allow_short else Direction.FLAT
        else:
            view = Direction.FLAT
        if view is state.view:
            return None  # edge-triggered: the view has not changed
        state.view = view
        return self._signal(symbol, state, view, fast, slow, strength, close, close_ms, bar_ms)

    def _signal(
        self,
        symbol: str,
        state: _SymbolState,
        view: Direction,
        fast: float,
        slow: float,
        strength: float,
        close: float,
        close_ms: int,
        bar_ms: int,
    ) -> Signal:
        outcomes = state.outcomes
        magnitude = abs(strength)
        confidence = outcomes.hit_rate * tanh(magnitude / self._strength_scale)
        sign = _SIGN.get(view)
        if sign is not None:
            expected = outcomes.mean_move(prior=magnitude)
            outcomes.open(close_ms + self._horizon * bar_ms, sign, close)
        else:
            expected = 0.0
        liquidity = liquidity_score(state.quote_volume.mean, self._liquidity_ref)
        relation = ">" if fast > slow else "<" if fast < slow else "="
        rationale = (
            f"SMA{self._fast} {fast:.6g} {relation} SMA{self._slow} {slow:.6g} ({strength:+.2%}), "
            f"hit rate {outcomes.hits}/{outcomes.count}"
        )
        if view is Direction.FLAT:
            rationale += (
                ", shorting disabled"
                if strength < -self._min_strength
                else (f", inside ±{self._min_strength:.2%}")
            )
        return bar_signal(
            self.name, symbol, view, confidence, expected, self._horizon, bar_ms, liquidity, rationale,
            close_ms,
        )
