"""The ``rsi_divergence`` agent: a new price extreme that Wilder's RSI does not confirm, calibrated on its
own record."""

from __future__ import annotations

from math import tanh

from pydantic import Field

from ais import PluginConfig
from ais.agentkit import Outcomes, SymbolAgent, bar_signal, liquidity_score
from ais.domain.market import Candle
from ais.domain.signals import Direction, Signal
from ais.indicators import RollingExtremes, Rsi, WindowMean
from ais_agents_classic.common import close_view, gap_exit

_NONE: tuple[Signal, ...] = ()
_LONG, _SHORT, _FLAT = Direction.LONG, Direction.SHORT, Direction.FLAT

#: RSI midline: a LONG view exits when RSI is back at or above it, a SHORT one at or below it.
MIDLINE = 50.0


class RsiDivergenceConfig(PluginConfig):
    """``[agents.<instance>]`` with ``plugin = "rsi_divergence"``."""

    period: int = Field(default=14, gt=0, description="bars in Wilder's RSI of closes")
    lookback: int = Field(
        default=20,
        gt=1,
        description="bars before the current one over which price and RSI extremes are taken",
    )
    min_divergence: float = Field(
        default=2.0,
        ge=0.0,
        lt=100.0,
        description="RSI points by which RSI must fall short of its lookback extreme to count as divergence",
    )
    horizon: int | None = Field(
        default=None,
        gt=0,
        description="bars a LONG/SHORT view is held at most (time stop) and over which its outcome is "
        "measured; default: lookback",
    )
    allow_short: bool = Field(
        default=True, description="false: a bearish divergence gives FLAT instead of SHORT"
    )
    divergence_scale: float = Field(
        default=10.0,
        gt=0.0,
        description="divergence (RSI points) at which confidence reaches tanh(1) ≈ 76 % of the hit rate",
    )
    liquidity_ref: float = Field(
        default=1.0,
        gt=0.0,
        description="mean quote volume per bar (close × volume) at which liquidity is 1 − 1/e ≈ 0.63",
    )

    @property
    def horizon_bars(self) -> int:
        return self.horizon if self.horizon is not None else self.lookback


class _SymbolState:
    """Everything the agent knows about one symbol. Never shared across symbols."""

    __slots__ = (
        "held",
        "last",
        "last_open",
        "outcomes",
        "price_ext",
        "quote_volume",
        "rsi",
        "rsi_ext",
        "view",
    )

    def __init__(self, period: int, lookback: int) -> None:
        self.rsi = Rsi(period)
        self.price_ext = RollingExtremes(lookback)  # closes of the previous `lookback` bars
        self.rsi_ext = RollingExtremes(lookback)  # RSI of the previous `lookback` bars
        self.quote_volume = WindowMean(lookback)
        self.last_open: int | None = None  # open time (ms) of the last bar consumed
        self.view: Direction | None = None  # the view last emitted since the last reset
        self.held = 0  # bars since the current LONG/SHORT view was entered or confirmed again
        # (rsi, price high, price low, rsi high, rsi low) of the last bar after warm-up
        self.last: tuple[float, float, float, float, float] | None = None
        self.outcomes = Outcomes()  # the track record survives resets: it is about the agent, not the data

    def reset(self) -> None:
        """Start warming up again (missing bars: the windows would span the hole)."""
        self.rsi.reset()
        self.price_ext.reset()
        self.rsi_ext.reset()
        self.quote_volume.reset()
        self.view = None
        self.held = 0
        self.last = None


class RsiDivergence(SymbolAgent[RsiDivergenceConfig, _SymbolState]):
    """RSI divergence on closes, one independent state per symbol.

    Per bar ``t`` and symbol (O(1) amortised), with ``RSI`` Wilder's RSI(``period``) of closes and the
    extremes of the *previous* ``lookback`` bars ``P_hi = max close``, ``P_lo = min close``,
    ``R_hi = max RSI``, ``R_lo = min RSI`` (the current bar excluded):

    - bearish divergence: ``close > P_hi`` (a new high) and ``RSI < R_hi − min_divergence`` (RSI does
      not confirm it) and ``RSI > 50``; divergence ``= R_hi − RSI``;
    - bullish divergence: ``close < P_lo`` and ``RSI > R_lo + min_divergence`` and ``RSI < 50``;
      divergence ``= RSI − R_lo``.

    A bullish divergence gives LONG, a bearish one SHORT (FLAT without ``allow_short``); one in the
    direction already held restarts its hold count. A LONG view turns FLAT when ``RSI ≥ 50``, a SHORT
    one when ``RSI ≤ 50``, and either after ``horizon`` bars without a new divergence (time stop).
    The first view, on bar ``period + lookback + 1``, is emitted too (FLAT unless the bar diverges);
    signals are edge-triggered. A gap resets every indicator and starts the warm-up again; an open
    LONG/SHORT view is closed at once (FLAT on the first bar after the gap), and the view is FLAT
    until the warm-up is over.

    Signal fields come from the data:

    - ``confidence`` (LONG/SHORT) ``= (hits + 1) / (n + 2) × tanh(divergence / divergence_scale)``,
      the Bayesian hit rate of this agent's past LONG/SHORT signals on this symbol (settled after
      ``horizon`` bars) scaled by the divergence; FLAT: the hit rate alone;
    - ``expected_return`` (LONG/SHORT) = the mean move of past signals in their own direction, floored
      at 0, or the distance to the middle of the lookback range ``|close − (P_hi + P_lo)/2| / close``
      before any has settled; 0 for FLAT;
    - ``liquidity = 1 − exp(−mean(close × volume over lookback bars) / liquidity_ref)``;
    - ``horizon_s = horizon × bar_ms / 1000``; ``ts`` = the bar's close time (ms).
    """

    Config = RsiDivergenceConfig

    def __init__(self, name: str, config: RsiDivergenceConfig) -> None:
        super().__init__(name, config)
        # resolved once: the hot path reads locals, not the pydantic model
        self._period = config.period
        self._lookback = config.lookback
        self._min_divergence = config.min_divergence
        self._horizon = config.horizon_bars
        self._allow_short = config.allow_short
        self._scale = config.divergence_scale
        self._liquidity_ref = config.liquidity_ref

    def indicators(self, symbol: str) -> tuple[float, float, float, float, float] | None:
        """``(RSI, P_hi, P_lo, R_hi, R_lo)`` of ``symbol``'s last bar after its warm-up, else ``None``;
        the extremes are those of the ``lookback`` bars before it."""
        state = self._states.get(symbol)
        return state.last if state is not None else None

    def new_state(self) -> _SymbolState:
        return _SymbolState(self._period, self._lookback)

    def _gap(self, state: _SymbolState) -> Direction | None:
        return close_view(state)

    def _update(
        self, symbol: str, state: _SymbolState, bar: Candle, bar_ms: int, closed: Direction | None
    ) -> Signal | None:
        close = bar.close
        close_ms = bar.ts + bar_ms
        outcomes = state.outcomes
        state.quote_volume.push(close * bar.volume)
        rsi = state.rsi.push(close)
        price_ext = state.price_ext
        rsi_ext = state.rsi_ext
        if rsi is None:
            price_ext.push(close, close)
            if closed is not None:  # the first bar after a gap closes the open view
                liquidity = liquidity_score(state.quote_volume.mean, self._liquidity_ref)
                horizon = self._horizon
                return gap_exit(self.name, symbol, closed, outcomes, horizon, liquidity, close_ms, bar_ms)
            return None  # warming up: RSI not defined yet
        if not rsi_ext.full:
            price_ext.push(close, close)
            rsi_ext.push(rsi, rsi)
            return None  # warming up: fewer than `lookback` RSI values before this bar
        # extremes of the previous `lookback` bars, read before this bar enters the windows
        p_hi = price_ext.high
        p_lo = price_ext.low
        r_hi = rsi_ext.high
        r_lo = rsi_ext.low
        price_ext.push(close, close)
        rsi_ext.push(rsi, rsi)
        state.last = (rsi, p_hi, p_lo, r_hi, r_lo)

        current = state.view
        view = _FLAT if current is None else current
        divergence = 0.0
        reason = ""
        if close > p_hi and rsi > MIDLINE and rsi < r_hi - self._min_divergence:
            divergence = r_hi - rsi
            if self._allow_short:
                view = _SHORT
                state.held = 0
            else:
                view = _FLAT
                reason = ", shorting disabled"
        elif close < p_lo and MIDLINE > rsi > r_lo + self._min_divergence:
            divergence = rsi - r_lo
            view = _LONG
            state.held = 0
        elif current is _LONG or current is _SHORT:
            state.held += 1
            if (rsi >= MIDLINE) if current is _LONG else (rsi <= MIDLINE):
                view = _FLAT
                reason = f" back to {MIDLINE:g} after {state.held} bars"
            elif state.held >= self._horizon:
                view = _FLAT
                reason = f", time stop after {state.held} bars"
        else:
            view = _FLAT
            reason = ", no divergence"
        if view is current:
            return None  # edge-triggered: the view has not changed
        state.view = view
        return self._signal(
            symbol, state, view, close, rsi, p_hi, p_lo, r_hi, r_lo, divergence, reason, close_ms, bar_ms
        )

    def _signal(
        self,
        symbol: str,
        state: _SymbolState,
        view: Direction,
        close: float,
        rsi: float,
        p_hi: float,
        p_lo: float,
        r_hi: float,
        r_lo: float,
        divergence: float,
        reason: str,
        close_ms: int,
        bar_ms: int,
    ) -> Signal:
        outcomes = state.outcomes
        period = self._period
        lookback = self._lookback
        if view is _LONG or view is _SHORT:
            confidence = outcomes.hit_rate * tanh(divergence / self._scale)
            distance = abs(close - 0.5 * (p_hi + p_lo)) / close if close > 0.0 else 0.0
            expected = outcomes.mean_move(prior=distance)
            outcomes.open(close_ms + self._horizon * bar_ms, 1 if view is _LONG else -1, close)
        else:
            confidence = outcomes.hit_rate
            expected = 0.0
        if divergence > 0.0 and view is not _LONG:
            what = (
                f"bearish divergence: close {close:.6g} > {lookback}-bar high {p_hi:.6g}, "
                f"RSI{period} {rsi:.1f} < RSI high {r_hi:.1f}"
            )
        elif divergence > 0.0:
            what = (
                f"bullish divergence: close {close:.6g} < {lookback}-bar low {p_lo:.6g}, "
                f"RSI{period} {rsi:.1f} > RSI low {r_lo:.1f}"
            )
        else:
            what = f"close {close:.6g} ({lookback}-bar range {p_lo:.6g}..{p_hi:.6g}), RSI{period} {rsi:.1f}"
        rationale = f"{what}{reason}, hit rate {outcomes.hits}/{outcomes.count}"
        liquidity = liquidity_score(state.quote_volume.mean, self._liquidity_ref)
        return bar_signal(
            self.name, symbol, view, confidence, expected, self._horizon, bar_ms, liquidity, rationale,
            close_ms,
        )
