"""The ``volatility_breakout`` agent: a Donchian channel widened by ATR, broken with volume confirmation."""

from __future__ import annotations

from math import tanh

from pydantic import Field

from ais import PluginConfig
from ais.agentkit import Outcomes, SymbolAgent, bar_signal, liquidity_score
from ais.domain.market import Candle
from ais.domain.signals import Direction, Signal
from ais.indicators import Atr, RollingExtremes, RollingMean, WindowMean

_NONE: tuple[Signal, ...] = ()
_LONG, _SHORT, _FLAT = Direction.LONG, Direction.SHORT, Direction.FLAT


class VolatilityBreakoutConfig(PluginConfig):
    """``[agents.<instance>]`` with ``plugin = "volatility_breakout"``."""

    window: int = Field(
        default=20, ge=2, description="bars in the Donchian channel (the previous bars, not the current one)"
    )
    atr_period: int = Field(default=14, gt=0, description="bars in Wilder's average true range")
    k: float = Field(
        default=0.5, ge=0.0, description="the channel is widened by k × ATR on each side; 0: plain Donchian"
    )
    volume_factor: float = Field(
        default=1.5,
        ge=0.0,
        description="a break counts only if the bar's volume ≥ volume_factor × the mean volume of the "
        "previous `window` bars; 0 disables the confirmation",
    )
    horizon: int | None = Field(
        default=None,
        gt=0,
        description="bars a position is held at most (then FLAT) and over which a signal's outcome is "
        "measured; default: window",
    )
    allow_short: bool = Field(default=True, description="false: a downside break gives FLAT instead of SHORT")
    strength_scale: float = Field(
        default=1.0,
        gt=0.0,
        description="close beyond the Donchian edge, in ATR, at which confidence is tanh(1) ≈ 76 % of "
        "the hit rate",
    )
    liquidity_ref: float = Field(
        default=1.0,
        gt=0.0,
        description="mean quote volume per bar (close × volume) at which liquidity is 1 − 1/e ≈ 0.63",
    )

    @property
    def horizon_bars(self) -> int:
        return self.horizon if self.horizon is not None else self.window


class _SymbolState:
    """Everything the agent knows about one symbol. Never shared across symbols."""

    __slots__ = ("atr", "channel", "held", "last_open", "outcomes", "quote_volume", "view", "volume")

    def __init__(self, window: int, atr_period: int) -> None:
        self.channel = RollingExtremes(window)  # highs / lows of the previous `window` bars
        self.atr = Atr(atr_period)
        self.volume = RollingMean(window)
        self.quote_volume = WindowMean(window)
        self.last_open: int | None = None  # open time (ms) of the last bar consumed
        self.view = _FLAT  # FLAT: no position; LONG/SHORT: the position taken
        self.held = 0  # bars since the entry of the current LONG/SHORT
        self.outcomes = Outcomes()  # the track record survives resets: it is about the agent, not the data

    def reset(self) -> None:
        """Start warming up again (missing bars: the windows would span the hole)."""
        self.channel.reset()
        self.atr.reset()
        self.volume.reset()
        self.quote_volume.reset()
        self.view = _FLAT
        self.held = 0


class VolatilityBreakout(SymbolAgent[VolatilityBreakoutConfig, _SymbolState]):
    """A close beyond the previous ``window`` bars' range widened by ``k`` × ATR, with volume.

    Per bar ``t`` and symbol (O(1) amortised), from the bars *before* ``t``::

        H = max(high[t−window … t−1])        L = min(low[t−window … t−1])
        ATR = Wilder ATR(atr_period) as of bar t−1          V = mean(volume[t−window … t−1])
        upper = H + k × ATR      lower = L − k × ATR      mid = (H + L) / 2
        confirmed = volume[t] ≥ volume_factor × V

    FLAT → LONG when ``close > upper`` and confirmed; FLAT → SHORT (``allow_short``) when
    ``close < lower`` and confirmed. A LONG is closed (FLAT) when ``close ≤ mid`` or after ``horizon``
    bars, and turned SHORT by a confirmed downside break (SHORT symmetrically). Only changes are
    emitted. Nothing before ``max(window, atr_period)`` bars (warm-up). A gap resets the indicators;
    an open position cannot be supervised without them and is closed at once (FLAT on the first bar
    after the gap).

    Signal fields come from the data:

    - ``confidence`` (LONG/SHORT) = ``(hits + 1) / (n + 2) × tanh(e / strength_scale)`` with
      ``e = (close − H) / ATR`` (``(L − close) / ATR`` for SHORT), the break beyond the Donchian edge
      in ATR; the hit rate of this agent's past entries on this symbol after ``horizon`` bars. FLAT:
      the hit rate alone;
    - ``expected_return`` (LONG/SHORT) = the mean move of past entries, floored at 0, or ``ATR / close``
      before any has settled; 0 for FLAT;
    - ``liquidity = 1 − exp(−mean(close × volume over window bars) / liquidity_ref)``.
    """

    Config = VolatilityBreakoutConfig

    def __init__(self, name: str, config: VolatilityBreakoutConfig) -> None:
        super().__init__(name, config)
        # resolved once: the hot path reads locals, not the pydantic model
        self._window = config.window
        self._atr_period = config.atr_period
        self._k = config.k
        self._volume_factor = config.volume_factor
        self._horizon = config.horizon_bars
        self._allow_short = config.allow_short
        self._strength_scale = config.strength_scale
        self._liquidity_ref = config.liquidity_ref

    def indicators(self, symbol: str) -> tuple[float, float, float, float, float, float] | None:
        """``(upper, lower, H, L, ATR, mean volume)`` the *next* bar of ``symbol`` will be tested
        against (they include the latest bar), or ``None`` while warming up."""
        state = self._states.get(symbol)
        if state is None or not (state.channel.full and state.atr.ready and state.volume.full):
            return None
        high, low, atr = state.channel.high, state.channel.low, state.atr.value
        return high + self._k * atr, low - self._k * atr, high, low, atr, state.volume.mean

    def new_state(self) -> _SymbolState:
        return _SymbolState(self._window, self._atr_period)

    def _gap(self, state: _SymbolState) -> Direction | None:
        """Reset after missing bars; the position held (to close now), or ``None`` if flat."""
        was = state.view
        state.reset()
        return was if was is not _FLAT else None

    def _update(
        self, symbol: str, state: _SymbolState, bar: Candle, bar_ms: int, closed: Direction | None
    ) -> Signal | None:
        _, _, high, low, close, volume = bar
        close_ms = bar.ts + bar_ms
        state.quote_volume.push(close * volume)  # liquidity includes this bar
        channel = state.channel
        atr_state = state.atr
        volume_mean = state.volume
        signal = None
        if channel.full and atr_state.ready and volume_mean.full:
            # the test of bar t against bars t−window … t−1, before they take bar t in
            top, bottom, atr = channel.high, channel.low, atr_state.value
            signal = self._decide(
                symbol, state, close, volume, top, bottom, atr, volume_mean.mean, close_ms, bar_ms
            )
        channel.push(high, low)
        atr_state.push(high, low, close)
        volume_mean.push(volume)
        if closed is not None:  # no channel to supervise the position across missing bars: close it now
            reason = "gap before this bar: position closed, warming up again"
            band = f"close {close:.6g}"
            return self._signal(
                symbol, state, _FLAT, reason, close, volume, 0.0, 0.0, 0.0, 0.0, close_ms, bar_ms, band
            )
        return signal

    def _decide(
        self,
        symbol: str,
        state: _SymbolState,
        close: float,
        volume: float,
        top: float,
        bottom: float,
        atr: float,
        mean_volume: float,
        close_ms: int,
        bar_ms: int,
    ) -> Signal | None:
        view = state.view
        widen = self._k * atr
        confirmed = volume >= self._volume_factor * mean_volume
        if confirmed and close > top + widen:
            wanted = _LONG
        elif confirmed and close < bottom - widen:
            wanted = _SHORT if self._allow_short else _FLAT
        else:
            wanted = None  # no confirmed break
        mid = 0.5 * (top + bottom)
        reason = ""
        if view is _LONG:
            state.held += 1
            if wanted is _SHORT or wanted is _FLAT:
                reason = "break down" if wanted is _SHORT else "break down, shorting disabled"
            elif close <= mid:
                wanted, reason = _FLAT, "back to the midline"
            elif state.held >= self._horizon:
                wanted, reason = _FLAT, f"held {state.held} bars"
            else:
                return None
        elif view is _SHORT:
            state.held += 1
            if wanted is _LONG:
                reason = "break up"
            elif close >= mid:
                wanted, reason = _FLAT, "back to the midline"
            elif state.held >= self._horizon:
                wanted, reason = _FLAT, f"held {state.held} bars"
            else:
                return None
        elif wanted is None or wanted is view:
            return None  # flat, and no confirmed break (or a downside one with shorting disabled)
        state.view = wanted
        state.held = 0
        return self._signal(
            symbol, state, wanted, reason, close, volume, top, bottom, atr, mean_volume, close_ms, bar_ms
        )

    def _signal(
        self,
        symbol: str,
        state: _SymbolState,
        view: Direction,
        reason: str,
        close: float,
        volume: float,
        top: float,
        bottom: float,
        atr: float,
        mean_volume: float,
        close_ms: int,
        bar_ms: int,
        band: str = "",
    ) -> Signal:
        outcomes = state.outcomes
        k = self._k
        if view is _FLAT:
            confidence = outcomes.hit_rate
            expected = 0.0
            band = band or f"close {close:.6g}, mid {0.5 * (top + bottom):.6g}"
        else:
            if view is _LONG:
                excess, sign = close - top, 1
                edge = f"> upper {top + k * atr:.6g} (high {top:.6g} + {k:g}×ATR {atr:.3g})"
            else:
                excess, sign = bottom - close, -1
                edge = f"< lower {bottom - k * atr:.6g} (low {bottom:.6g} − {k:g}×ATR {atr:.3g})"
            band = f"close {close:.6g} {edge}"
            strength = excess / atr / self._strength_scale if atr > 0.0 else 1.0
            confidence = outcomes.hit_rate * tanh(strength)
            expected = outcomes.mean_move(prior=atr / close if close > 0.0 else 0.0)
            outcomes.open(close_ms + self._horizon * bar_ms, sign, close)
        if mean_volume > 0.0:
            band += f", volume {volume / mean_volume:.2f}× mean"
        rationale = f"{band}, hit rate {outcomes.hits}/{outcomes.count}"
        if reason:
            rationale += f", {reason}"
        liquidity = liquidity_score(state.quote_volume.mean, self._liquidity_ref)
        return bar_signal(
            self.name, symbol, view, confidence, expected, self._horizon, bar_ms, liquidity, rationale,
            close_ms,
        )
