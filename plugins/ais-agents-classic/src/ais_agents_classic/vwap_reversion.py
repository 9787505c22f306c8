"""The ``vwap_reversion`` agent: distance of the close from a rolling VWAP in volatility units,
counter-trend, calibrated on its own record."""

from __future__ import annotations

from math import sqrt
from typing import Literal

from pydantic import Field

from ais.agentkit import Outcomes, SymbolAgent, bar_signal, liquidity_score
from ais.domain.market import Candle
from ais.domain.signals import Direction, Signal
from ais.indicators import Atr, RollingMoments, RollingSums
from ais_agents_classic.common import BandConfig, band_forecast, band_view, close_view, gap_exit

_NONE: tuple[Signal, ...] = ()
_LONG, _SHORT, _FLAT = Direction.LONG, Direction.SHORT, Direction.FLAT


class VwapReversionConfig(BandConfig):
    """``[agents.<instance>]`` with ``plugin = "vwap_reversion"``: z is the close's distance from the
    rolling VWAP in volatility units (the band keys are ``BandConfig``'s)."""

    window: int = Field(
        default=48,
        gt=1,
        description="bars in the rolling VWAP (and in the standard deviation of closes with "
        "volatility = std)",
    )
    volatility: Literal["std", "atr"] = Field(
        default="std",
        description="volatility unit of the distance: `std` of closes over window, or `atr` (Wilder's ATR)",
    )
    atr_period: int = Field(default=14, gt=0, description="bars in Wilder's ATR (volatility = atr only)")


class _SymbolState:
    """Everything the agent knows about one symbol. Never shared across symbols."""

    __slots__ = ("atr", "last", "last_open", "moments", "outcomes", "sums", "view")

    def __init__(self, window: int, atr_period: int, use_atr: bool) -> None:
        self.sums = RollingSums(window, 3)  # typical price × volume, volume, close × volume
        self.moments: RollingMoments | None = None if use_atr else RollingMoments(window)
        self.atr: Atr | None = Atr(atr_period) if use_atr else None
        self.last_open: int | None = None  # open time (ms) of the last bar consumed
        self.view: Direction | None = None  # the view last emitted since the last reset
        self.last: tuple[float, float, float] | None = None  # (vwap, volatility, z) of the last bar
        self.outcomes = Outcomes()  # the track record survives resets: it is about the agent, not the data

    def reset(self) -> None:
        """Start warming up again (missing bars: the windows would span the hole)."""
        self.sums.reset()
        if self.moments is not None:
            self.moments.reset()
        if self.atr is not None:
            self.atr.reset()
        self.view = None
        self.last = None


class VwapReversion(SymbolAgent[VwapReversionConfig, _SymbolState]):
    """Reversion to a rolling VWAP, one independent state per symbol.

    Per bar and symbol (O(1)): typical price ``tp = (high + low + close) / 3``,
    ``VWAP = Σ(tp × volume) / Σ volume`` over the last ``window`` bars, volatility ``σ`` = the
    population standard deviation of the last ``window`` closes (``volatility = "std"``) or Wilder's
    ATR(``atr_period``) (``"atr"``), and the distance ``z = (close − VWAP) / σ`` (0 when ``σ`` is 0).
    The view follows the same bands as ``mean_reversion``: LONG at ``z ≤ −entry_z``, SHORT at
    ``z ≥ entry_z`` (FLAT without ``allow_short``), held until ``z`` is back inside ``±exit_z`` or past
    the VWAP, then FLAT. Edge-triggered; the first view after the warm-up is emitted too; a window
    without volume has no VWAP and the bar leaves the view as it is. A gap resets every indicator; an
    open LONG/SHORT view is closed at once (FLAT on the first bar after the gap), and the view is FLAT
    until the warm-up is over.

    Signal fields come from the data:

    - ``confidence`` (LONG/SHORT) ``= (hits + 1) / (n + 2) × tanh(|z| / z_scale)``, the Bayesian hit
      rate of this agent's past LONG/SHORT signals on this symbol (settled after ``horizon`` bars)
      scaled by the distance; FLAT: the hit rate alone;
    - ``expected_return`` (LONG/SHORT) = the mean move of past signals in their own direction, floored
      at 0, or the distance back to the VWAP ``|close − VWAP| / close`` before any has settled;
      0 for FLAT;
    - ``liquidity = 1 − exp(−mean(close × volume over window bars) / liquidity_ref)``;
    - ``horizon_s = horizon × bar_ms / 1000``; ``ts`` = the bar's close time (ms).
    """

    Config = VwapReversionConfig

    def __init__(self, name: str, config: VwapReversionConfig) -> None:
        super().__init__(name, config)
        # resolved once: the hot path reads locals, not the pydantic model
        self._window = config.window
        self._use_atr = config.volatility == "atr"
        self._atr_period = config.atr_period
        self._entry = config.entry_z
        self._exit = config.exit_z
        self._horizon = config.horizon_bars
        self._allow_short = config.allow_short
        self._z_scale = config.z_scale_value
        self._liquidity_ref = config.liquidity_ref
        self._unit = f"ATR{config.atr_period}" if self._use_atr else f"std{config.window}"

    def indicators(self, symbol: str) -> tuple[float, float, float] | None:
        """``(VWAP, volatility, z)`` of ``symbol``'s last bar after its warm-up, else ``None``."""
        state = self._states.get(symbol)
        return state.last if state is not None else None

    def new_state(self) -> _SymbolState:
        return _SymbolState(self._window, self._atr_period, self._use_atr)

    def _gap(self, state: _SymbolState) -> Direction | None:
        return close_view(state)

    def _update(
        self, symbol: str, state: _SymbolState, bar: Candle, bar_ms: int, closed: Direction | None
    ) -> Signal | None:
        _, _, high, low, close, volume = bar
        close_ms = bar.ts + bar_ms
        sums = state.sums
        sums.push((high + low + close) / 3.0 * volume, volume, close * volume)
        if closed is not None:  # the first bar after a gap closes the open view
            liquidity = liquidity_score(sums.sums[2] / sums.count, self._liquidity_ref)
            record = state.outcomes
            closing = gap_exit(self.name, symbol, closed, record, self._horizon, liquidity, close_ms, bar_ms)
        else:
            closing = None
        moments = state.moments
        if moments is not None:
            moments.push(close)
            if not sums.full:
                return closing  # warming up (after a gap: the FLAT that closes the open view)
            vol = sqrt(moments.variance)
        else:
            atr = state.atr
            assert atr is not None
            value = atr.push(high, low, close)
            if value is None or not sums.full:
                return closing  # warming up (after a gap: the FLAT that closes the open view)
            vol = value
        pv, v, _ = sums.sums
        if not v > 0.0:
            state.last = None
            return None  # no volume in the window: no VWAP, the view stands
        vwap = pv / v
        z = (close - vwap) / vol if vol > 0.0 else 0.0
        state.last = (vwap, vol, z)
        view = band_view(z, state.view, self._entry, self._exit, self._allow_short)
        if view is state.view:
            return None  # edge-triggered: the view has not changed
        state.view = view
        return self._signal(symbol, state, view, close, vwap, vol, z, close_ms, bar_ms)

    def _signal(
        self,
        symbol: str,
        state: _SymbolState,
        view: Direction,
        close: float,
        vwap: float,
        vol: float,
        z: float,
        close_ms: int,
        bar_ms: int,
    ) -> Signal:
        outcomes = state.outcomes
        due_ms = close_ms + self._horizon * bar_ms
        confidence, expected = band_forecast(outcomes, view, z, self._z_scale, close, vwap, due_ms)
        liquidity = liquidity_score(state.sums.sums[2] / state.sums.count, self._liquidity_ref)
        rationale = (
            f"close {close:.6g} is {z:+.2f} {self._unit} ({vol:.3g}) from VWAP{self._window} {vwap:.6g} "
            f"(entry ±{self._entry:g}, exit ±{self._exit:g}), hit rate {outcomes.hits}/{outcomes.count}"
        )
        if view is _FLAT and z >= self._entry:
            rationale += ", shorting disabled"
        return bar_signal(
            self.name, symbol, view, confidence, expected, self._horizon, bar_ms, liquidity, rationale,
            close_ms,
        )
