"""The ``mean_reversion`` agent: Bollinger z-score of the close, counter-trend, calibrated on its own
record."""

from __future__ import annotations

from ais.agentkit import Outcomes, SymbolAgent, bar_signal, liquidity_score
from ais.domain.market import Candle
from ais.domain.signals import Direction, Signal
from ais.indicators import RollingMoments, WindowMean
from ais_agents_classic.common import BandConfig, band_forecast, band_view, close_view, gap_exit

_NONE: tuple[Signal, ...] = ()
_LONG, _SHORT, _FLAT = Direction.LONG, Direction.SHORT, Direction.FLAT


class MeanReversionConfig(BandConfig):
    """``[agents.<instance>]`` with ``plugin = "mean_reversion"``: z is the close's distance from its
    rolling mean in standard deviations (every key in ``BandConfig``)."""


class _SymbolState:
    """Everything the agent knows about one symbol. Never shared across symbols."""

    __slots__ = ("last_open", "moments", "outcomes", "quote_volume", "view", "z")

    def __init__(self, window: int) -> None:
        self.moments = RollingMoments(window)
        self.quote_volume = WindowMean(window)
        self.last_open: int | None = None  # open time (ms) of the last bar consumed
        self.view: Direction | None = None  # the view last emitted since the last reset
        self.z = 0.0  # z-score of the last bar (valid once the window is full)
        self.outcomes = Outcomes()  # the track record survives resets: it is about the agent, not the data

    def reset(self) -> None:
        """Start warming up again (missing bars: the window would span the hole)."""
        self.moments.reset()
        self.quote_volume.reset()
        self.view = None


class MeanReversion(SymbolAgent[MeanReversionConfig, _SymbolState]):
    """Bollinger-band mean reversion on closes, one independent state per symbol.

    Per bar and symbol (O(1)): ``mean``, ``std`` (population) of the last ``window`` closes and
    ``z = (close − mean) / std`` (0 when the window is flat). The view follows ``band_view``:
    LONG at ``z ≤ −entry_z``, SHORT at ``z ≥ entry_z`` (FLAT without ``allow_short``), held until
    ``z`` is back inside ``±exit_z`` or past the mean, then FLAT. A signal is emitted when the view
    changes (edge-triggered; the first view after the warm-up is emitted too); nothing before
    ``window`` bars. A gap resets the window and starts the warm-up again; an open LONG/SHORT view is
    closed at once (FLAT on the first bar after the gap: the exit cannot be watched without the
    indicators), and the view is FLAT until the warm-up is over.

    Signal fields come from the data:

    - ``confidence`` (LONG/SHORT) ``= (hits + 1) / (n + 2) × tanh(|z| / z_scale)``, the Bayesian hit
      rate of this agent's past LONG/SHORT signals on this symbol (settled after ``horizon`` bars)
      scaled by how far the close is outside the band; FLAT: the hit rate alone;
    - ``expected_return`` (LONG/SHORT) = the mean move of past signals in their own direction, floored
      at 0, or the distance back to the mean ``|close − mean| / close`` before any has settled;
      0 for FLAT;
    - ``liquidity = 1 − exp(−mean(close × volume over window bars) / liquidity_ref)``;
    - ``horizon_s = horizon × bar_ms / 1000``; ``ts`` = the bar's close time (ms).
    """

    Config = MeanReversionConfig

    def __init__(self, name: str, config: MeanReversionConfig) -> None:
        super().__init__(name, config)
        # resolved once: the hot path reads locals, not the pydantic model
        self._window = config.window
        self._entry = config.entry_z
        self._exit = config.exit_z
        self._horizon = config.horizon_bars
        self._allow_short = config.allow_short
        self._z_scale = config.z_scale_value
        self._liquidity_ref = config.liquidity_ref

    def indicators(self, symbol: str) -> tuple[float, float, float] | None:
        """``(mean, std, z)`` of ``symbol``'s last bar after its warm-up, else ``None``."""
        state = self._states.get(symbol)
        if state is None or not state.moments.full:
            return None
        return state.moments.mean, state.moments.std, state.z

    def new_state(self) -> _SymbolState:
        return _SymbolState(self._window)

    def _gap(self, state: _SymbolState) -> Direction | None:
        return close_view(state)

    def _update(
        self, symbol: str, state: _SymbolState, bar: Candle, bar_ms: int, closed: Direction | None
    ) -> Signal | None:
        close = bar.close
        close_ms = bar.ts + bar_ms
        outcomes = state.outcomes
        moments = state.moments
        moments.push(close)
        state.quote_volume.push(close * bar.volume)
        if not moments.full:
            if closed is not None:  # the first bar after a gap closes the open view
                liquidity = liquidity_score(state.quote_volume.mean, self._liquidity_ref)
                horizon = self._horizon
                return gap_exit(self.name, symbol, closed, outcomes, horizon, liquidity, close_ms, bar_ms)
            return None  # warming up
        mean = moments.mean
        std = moments.std
        z = (close - mean) / std if std > 0.0 else 0.0
        state.z = z
        view = band_view(z, state.view, self._entry, self._exit, self._allow_short)
        if view is state.view:
            return None  # edge-triggered: the view has not changed
        state.view = view
        return self._signal(symbol, state, view, close, mean, std, z, close_ms, bar_ms)

    def _signal(
        self,
        symbol: str,
        state: _SymbolState,
        view: Direction,
        close: float,
        mean: float,
        std: float,
        z: float,
        close_ms: int,
        bar_ms: int,
    ) -> Signal:
        outcomes = state.outcomes
        due_ms = close_ms + self._horizon * bar_ms
        confidence, expected = band_forecast(outcomes, view, z, self._z_scale, close, mean, due_ms)
        liquidity = liquidity_score(state.quote_volume.mean, self._liquidity_ref)
        rationale = (
            f"close {close:.6g} z {z:+.2f} vs SMA{self._window} {mean:.6g} ± {std:.3g} "
            f"(entry ±{self._entry:g}, exit ±{self._exit:g}), hit rate {outcomes.hits}/{outcomes.count}"
        )
        if view is _FLAT and z >= self._entry:
            rationale += ", shorting disabled"
        return bar_signal(
            self.name, symbol, view, confidence, expected, self._horizon, bar_ms, liquidity, rationale,
            close_ms,
        )
