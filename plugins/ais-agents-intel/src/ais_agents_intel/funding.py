"""The ``funding_rate`` agent: crowded positioning read from perpetual funding rates."""

from __future__ import annotations

from collections.abc import Sequence
from math import sqrt, tanh
from typing import Literal, Self

from pydantic import Field, model_validator

from ais import PluginConfig
from ais.agentkit import RESET, SKIP, Outcomes, bar_signal, bar_step, liquidity_score
from ais.context import AgentContext
from ais.domain.market import Candle, FundingRate, MarketSnapshot
from ais.domain.signals import Direction, Signal
from ais.indicators import RollingMoments, WindowMean
from ais.markers import hookimpl
from ais.plugins.base import Plugin

_NONE: tuple[Signal, ...] = ()
_SIGN = {Direction.LONG: 1, Direction.SHORT: -1}
_HOUR_MS = 3_600_000
#: a funding observation further than this many intervals after the previous one means one was missed
_MISSED = 1.5
#: a window whose rates' std is below this has no dispersion (rounding residue aside): its z-score is 0
MIN_STD = 1e-12


class FundingRateConfig(PluginConfig):
    """``[agents.<instance>]`` with ``plugin = "funding_rate"``."""

    mode: Literal["contrarian", "carry"] = Field(
        default="contrarian",
        description='"contrarian": fade the crowded side, expected return from the agent\'s record; '
        '"carry": hold the side that receives funding, expected return = rate × funding periods',
    )
    window: int = Field(default=21, ge=2, description="funding observations in the rolling mean and std")
    threshold: float = Field(
        default=0.0005,
        gt=0.0,
        description="|rate| per funding interval at or above which funding is extreme whatever its z-score",
    )
    entry_z: float = Field(
        default=2.0,
        gt=0.0,
        description="z-score of the rate (in the direction it is paid) at or above which funding is extreme",
    )
    exit_z: float = Field(
        default=0.5,
        ge=0.0,
        description="a position is held while the z-score stays at or above this; below it: FLAT",
    )
    horizon: int = Field(
        default=96, gt=0, description="bars over which a signal's outcome is measured and carry is counted"
    )
    funding_interval_h: float = Field(
        default=8.0, gt=0.0, description="hours between two funding payments of the venue"
    )
    liquidity_window: int = Field(
        default=12, gt=0, description="bars of quote volume (close × volume) averaged for the liquidity score"
    )
    liquidity_ref: float = Field(
        default=1.0,
        gt=0.0,
        description="mean quote volume per bar (close × volume) at which liquidity is 1 − 1/e ≈ 0.63",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.exit_z >= self.entry_z:
            got = f"entry_z = {self.entry_z}, exit_z = {self.exit_z}"
            raise ValueError(f"`exit_z` must be below `entry_z` (got {got})")
        bound = sqrt(self.window - 1)
        if self.entry_z >= bound:
            raise ValueError(
                f"`entry_z` must be below sqrt(window − 1) = {bound:.4g}, the largest z-score the newest "
                f"of `window` rates can reach (got entry_z = {self.entry_z}, window = {self.window})"
            )
        return self


class _SymbolState:
    """Everything the agent knows about one symbol. Never shared across symbols."""

    __slots__ = (
        "cum_funding",
        "funding",
        "funding_ts",
        "last_open",
        "mean",
        "outcomes",
        "quote_volume",
        "rate",
        "std",
        "strength",
        "target",
        "view",
        "z",
    )

    def __init__(self, window: int, liquidity_window: int) -> None:
        self.funding = RollingMoments(window)  # funding rates, one per funding observation
        self.quote_volume = WindowMean(liquidity_window)
        self.funding_ts: int | None = None  # ts of the last funding observation counted
        self.cum_funding = 0.0  # sum of every funding rate counted (for outcomes)
        self.last_open: int | None = None  # open time (ms) of the last bar consumed
        # the view the latest funding observation calls for, and its figures (None: warming up)
        self.target: Direction | None = None
        self.rate = self.mean = self.std = self.z = self.strength = 0.0
        self.view: Direction | None = None  # the view last emitted since the last reset
        self.outcomes = Outcomes()  # the track record survives resets: it is about the agent, not the data

    def reset_bars(self) -> None:
        """Missing bars: the quote-volume window would span the hole; warm it up again."""
        self.quote_volume.reset()
        self.view = None

    def reset_funding(self) -> None:
        """A missed funding observation: the rate window would span it; warm it up again."""
        self.funding.reset()
        self.target = None
        self.view = None


class FundingRateAgent(Plugin[FundingRateConfig]):
    """Flags crowded positioning from a perpetual's funding rate; one independent state per symbol.

    Reads ``snapshot.funding[symbol]`` (the latest rate known at the bar's close) for the symbols that
    also have a bar. Each new funding observation (a new ``ts``, counted once however many bars repeat
    it) enters a rolling window of ``window`` rates: ``z = (rate − mean) / std`` (population std, the
    newest rate included). The side paying funding is crowded (positive: longs pay, so longs are
    crowded). Funding is **extreme** when ``|rate| ≥ threshold`` or ``sign(rate) × z ≥ entry_z``; the
    view is then SHORT for a positive rate, LONG for a negative one (both modes: fading the crowd and
    collecting the carry point the same way). A position is held while ``sign(rate) × z ≥ exit_z`` with
    the rate's sign unchanged, else the view is FLAT (funding has normalised). Edge-triggered; nothing
    before ``window`` funding observations and ``liquidity_window`` bars.

    Signal fields:

    - ``confidence`` = ``(hits + 1) / (n + 2)`` × ``tanh(strength)`` for LONG/SHORT, × ``1 − tanh(strength)``
      for FLAT, with ``strength = max(|rate| / threshold, sign(rate) × z / entry_z, 0)``;
    - ``expected_return``: carry = ``|rate| × horizon / funding interval``; contrarian = mean move of the
      agent's settled outcomes (price move plus funding received), floored at 0, that carry before any
      has settled; FLAT: 0;
    - ``liquidity = 1 − exp(−mean(close × volume over liquidity_window bars) / liquidity_ref)``.

    A gap in the bars (``snapshot.gaps`` or a hole in time) resets the quote-volume window; a missed
    funding observation (more than 1.5 intervals after the previous one) resets the rate window.
    """

    Config = FundingRateConfig

    def __init__(self, name: str, config: FundingRateConfig) -> None:
        super().__init__(name, config)
        self._states: dict[str, _SymbolState] = {}
        # resolved once: the hot path reads locals, not the pydantic model
        self._carry = config.mode == "carry"
        self._window = config.window
        self._threshold = config.threshold
        self._entry_z = config.entry_z
        self._exit_z = config.exit_z
        self._horizon = config.horizon
        self._interval_ms = config.funding_interval_h * _HOUR_MS
        self._interval_h = config.funding_interval_h
        self._missed_ms = _MISSED * self._interval_ms
        self._liquidity_window = config.liquidity_window
        self._liquidity_ref = config.liquidity_ref

    def indicators(self, symbol: str) -> tuple[float, float, float] | None:
        """``(mean, std, z)`` of ``symbol``'s funding window at its latest observation, after the
        warm-up (``window`` observations), else ``None``."""
        state = self._states.get(symbol)
        if state is None or state.target is None:
            return None
        return state.mean, state.std, state.z

    def track_record(self, symbol: str) -> tuple[int, int]:
        """``(hits, settled signals)`` of this agent on ``symbol``."""
        state = self._states.get(symbol)
        return (state.outcomes.hits, state.outcomes.count) if state is not None else (0, 0)

    @hookimpl
    def ais_agent_signals(self, snapshot: MarketSnapshot, context: AgentContext) -> Sequence[Signal]:
        funding = snapshot.funding
        if not funding:
            return _NONE
        out: list[Signal] | None = None
        candles = snapshot.candles
        bar_ms = snapshot.bar_ms
        gaps = snapshot.gaps
        states = self._states
        for symbol, rate in funding.items():
            bar = candles.get(symbol)
            if bar is None:
                continue  # no price this cycle: nothing to act on
            state = states.get(symbol)
            if state is None:
                state = states[symbol] = _SymbolState(self._window, self._liquidity_window)
            signal = self._update(symbol, state, bar, rate, bar_ms, symbol in gaps)
            if signal is not None:
                if out is None:
                    out = []
                out.append(signal)
        return out if out is not None else _NONE

    def _update(
        self, symbol: str, state: _SymbolState, bar: Candle, rate: FundingRate, bar_ms: int, gap: bool
    ) -> Signal | None:
        step = bar_step(state.last_open, bar.ts, bar_ms, gap)
        if step == SKIP:
            return None
        if step == RESET:
            state.reset_bars()
        state.last_open = bar.ts
        close = bar.close
        close_ms = bar.ts + bar_ms
        last_ts = state.funding_ts
        if (last_ts is None or rate.ts > last_ts) and rate.ts <= close_ms:
            if last_ts is not None and rate.ts - last_ts > self._missed_ms:
                state.reset_funding()
            state.funding_ts = rate.ts
            state.cum_funding += rate.rate
            self._observe(state, rate.rate)
        outcomes = state.outcomes
        if outcomes.pending and outcomes.pending[0][0] <= close_ms:
            outcomes.settle(close_ms, close, bar_ms, state.cum_funding)
        quote_volume = state.quote_volume
        quote_volume.push(close * bar.volume)
        target = state.target
        if target is None or not quote_volume.full:
            return None  # warming up
        if target is state.view:
            return None  # edge-triggered: the view has not changed
        state.view = target
        return self._signal(symbol, state, target, close, close_ms, bar_ms)

    def _observe(self, state: _SymbolState, rate: float) -> None:
        """A new funding observation: update the window and the view it calls for."""
        window = state.funding
        window.push(rate)
        if not window.full:
            return
        mean = window.mean
        std = window.std
        z = (rate - mean) / std if std > MIN_STD else 0.0
        side = 1 if rate > 0.0 else -1 if rate < 0.0 else 0
        paid_z = side * z  # z in the direction funding is paid: > 0 when the paying side grew more crowded
        strength = max(abs(rate) / self._threshold, paid_z / self._entry_z, 0.0) if side else 0.0
        crowded = Direction.SHORT if side > 0 else Direction.LONG  # the side that receives funding
        if side and strength >= 1.0:
            target = crowded  # extreme
        elif side and state.view is crowded and paid_z >= self._exit_z:
            target = crowded  # still elevated on the same side: hold
        else:
            target = Direction.FLAT  # normalised
        state.target = target
        state.rate, state.mean, state.std, state.z, state.strength = rate, mean, std, z, strength

    def _signal(
        self, symbol: str, state: _SymbolState, view: Direction, close: float, close_ms: int, bar_ms: int
    ) -> Signal:
        outcomes = state.outcomes
        rate = state.rate
        strength = state.strength
        sign = _SIGN.get(view)
        periods = self._horizon * bar_ms / self._interval_ms
        carry = abs(rate) * periods
        if sign is not None:
            confidence = outcomes.hit_rate * tanh(strength)
            expected = carry if self._carry else outcomes.mean_move(prior=carry)
            outcomes.open(close_ms + self._horizon * bar_ms, sign, close, state.cum_funding)
        else:
            confidence = outcomes.hit_rate * (1.0 - tanh(strength))
            expected = 0.0
        liquidity = liquidity_score(state.quote_volume.mean, self._liquidity_ref)
        rationale = (
            f"funding {rate:+.4%}/{self._interval_h:g}h, mean {state.mean:+.4%}, "
            f"z {state.z:+.2f} over {self._window}"
        )
        if view is Direction.FLAT:
            rationale += ", normalised"
        else:
            crowd = "longs" if view is Direction.SHORT else "shorts"
            how = "carry" if self._carry else "contrarian"
            rationale += f", crowded {crowd}: {how} {view.value}, carry {carry:.4%} in {periods:.3g} periods"
        rationale += f", hit rate {outcomes.hits}/{outcomes.count}"
        return bar_signal(
            self.name, symbol, view, confidence, expected, self._horizon, bar_ms, liquidity, rationale,
            close_ms,
        )
