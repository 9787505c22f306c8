"""The ``pairs`` agent: the z-score of a hedged log-price spread of two symbols, traded as two legs."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from math import log, tanh
from typing import Self

from pydantic import Field, field_validator, model_validator

from ais import PluginConfig
from ais.agentkit import RESET, SKIP, Outcomes, bar_step, liquidity_score
from ais.context import AgentContext
from ais.domain.market import Candle, MarketSnapshot
from ais.domain.signals import Direction, Signal
from ais.indicators import RollingMoments, RollingRegression, WindowMean
from ais.markers import hookimpl
from ais.plugins.base import Plugin

_NONE: tuple[Signal, ...] = ()
_LONG, _SHORT, _FLAT = Direction.LONG, Direction.SHORT, Direction.FLAT


class PairsConfig(PluginConfig):
    """``[agents.<instance>]`` with ``plugin = "pairs"``."""

    legs: list[str] = Field(
        description="the two symbols of the pair, [a, b]: the spread is log(a) − beta × log(b) (− alpha)",
    )
    window: int = Field(
        default=288, ge=3, description="bars in the rolling regression of log(a) on log(b) (hedge ratio beta)"
    )
    intercept: bool = Field(
        default=True,
        description="subtract the regression's intercept alpha from the spread (the OLS residual); false: "
        "spread = log(a) − beta × log(b), whose level moves with beta × log(b) whenever beta does",
    )
    z_window: int = Field(default=96, ge=2, description="bars of spread history in the z-score")
    entry_z: float = Field(default=2.0, gt=0.0, description="|z| at or above which the pair is entered")
    exit_z: float = Field(
        default=0.5, ge=0.0, description="|z| at or below which both legs are closed; must be < entry_z"
    )
    horizon: int | None = Field(
        default=None,
        gt=0,
        description="bars after which an entry's outcome is measured; default: z_window",
    )
    z_scale: float = Field(
        default=2.0, gt=0.0, description="|z| at which confidence is tanh(1) ≈ 76 % of the hit rate"
    )
    liquidity_ref: float = Field(
        default=1.0,
        gt=0.0,
        description="mean quote volume per bar (close × volume) at which a leg's liquidity is 1 − 1/e ≈ 0.63",
    )

    @field_validator("legs")
    @classmethod
    def _two_symbols(cls, legs: list[str]) -> list[str]:
        if len(legs) != 2:
            raise ValueError(f"`legs` must name exactly two symbols, [a, b] (got {len(legs)}: {legs})")
        if any(not leg.strip() for leg in legs):
            raise ValueError(f"`legs` must not contain an empty symbol (got {legs})")
        if legs[0] == legs[1]:
            raise ValueError(f"`legs` must name two different symbols (got {legs[0]} twice)")
        return legs

    @model_validator(mode="after")
    def _exit_inside_entry(self) -> Self:
        if self.exit_z >= self.entry_z:
            got = f"exit_z = {self.exit_z}, entry_z = {self.entry_z}"
            raise ValueError(f"`exit_z` must be smaller than `entry_z` (got {got})")
        return self

    @property
    def horizon_bars(self) -> int:
        return self.horizon if self.horizon is not None else self.z_window


class _PairOutcomes(Outcomes):
    """The track record of the pair's entries: the hedged move of both legs over the horizon.

    An entry with sign ``d`` (+1: long a, short b; −1: short a, long b) and notional shares
    ``wa``, ``wb`` of the legs, opened at prices ``a0``, ``b0``, settles at ``a1``, ``b1`` with the move
    ``d × (wa × (a1 / a0 − 1) − wb × (b1 / b0 − 1))``: the return on the pair's gross notional.
    """

    __slots__ = ("entries",)

    def __init__(self) -> None:
        super().__init__()
        self.entries: deque[tuple[int, int, float, float, float, float]] = deque()

    def open_pair(self, due_ms: int, sign: int, a: float, b: float, wa: float, wb: float) -> None:
        self.entries.append((due_ms, sign, a, b, wa, wb))

    def settle_pair(self, now_ms: int, a: float, b: float, bar_ms: int) -> None:
        entries = self.entries
        while entries and entries[0][0] <= now_ms:
            due_ms, sign, a0, b0, wa, wb = entries.popleft()
            if now_ms - due_ms >= bar_ms:
                continue  # the joint bar at the horizon is missing: no honest measurement
            self.add(sign * (wa * (a / a0 - 1.0) - wb * (b / b0 - 1.0)))


class _PairState:
    """Everything the agent knows about its pair (one pair per instance)."""

    __slots__ = (
        "beta",
        "last_open",
        "outcomes",
        "position",
        "quote_a",
        "quote_b",
        "regression",
        "spread",
        "spreads",
        "weights",
        "z",
    )

    def __init__(self, window: int, z_window: int) -> None:
        self.regression = RollingRegression(window)  # y = log(a) on x = log(b)
        self.spreads = RollingMoments(z_window)  # log(a) − beta × log(b), each with the beta of its bar
        self.quote_a = WindowMean(window)
        self.quote_b = WindowMean(window)
        self.last_open: int | None = None  # open time (ms) of the last joint bar consumed
        self.beta = 0.0  # of the latest joint bar, once the regression is full
        self.spread = 0.0
        self.z: float | None = None  # of the latest joint bar, once z_window spreads were seen
        self.position = 0  # +1 long a / short b, −1 short a / long b, 0 flat
        self.weights = (0.5, 0.5)  # (wa, wb) of the open position, reused by its FLAT legs
        self.outcomes = _PairOutcomes()  # survives resets: it is about the agent, not the data

    def reset(self) -> None:
        """Start warming up again (a missing bar of either symbol: the windows would span the hole)."""
        self.regression.reset()
        self.spreads.reset()
        self.quote_a.reset()
        self.quote_b.reset()
        self.z = None


class Pairs(Plugin[PairsConfig]):
    """Pairs trading on the spread of ``legs = [a, b]``.

    On each timestamp at which both symbols have a bar (O(1)):

        alpha, beta = OLS intercept and slope of log(a) on log(b) over the last ``window`` joint bars
        spread = log(a) − beta × log(b) − alpha     (``intercept = false``: without − alpha)
        z = (spread − mean) / std over the last ``z_window`` spreads (population std, this one included)

    Each spread is computed with the alpha and beta of its own bar. With the intercept the spread is
    the regression residual, centred near 0 whatever beta does; without it, its level moves by
    ``Δbeta × log(b)`` whenever beta moves, which on 5-minute crypto pairs dwarfs the mispricing.

    ``z ≥ entry_z``: a is rich: SHORT a, LONG b; ``z ≤ −entry_z``: LONG a, SHORT b (a flip from one
    side to the other is emitted directly); ``|z| ≤ exit_z``: both legs FLAT. An entry needs
    ``beta > 0`` (a negative hedge ratio is no hedge). Both legs carry the same ``group``
    (``"<instance>:<a>|<b>"``), so arbitration and the coordinator take them all or nothing, and split
    the pair's notional by ``leg_weight``: ``1 / (1 + beta)`` for a, ``beta / (1 + beta)`` for b (the
    FLAT legs repeat the entry's split). Only changes are emitted.

    Warm-up: ``window`` joint bars for beta, then ``z_window`` spreads: the first z comes on joint bar
    ``window + z_window − 1``. A timestamp with only one of the two bars, a flagged gap or a hole in
    time resets both windows; an open pair is closed at once then (FLAT legs on that bar).

    Signal fields come from the data: every entry is an outcome measured after ``horizon`` joint bars
    as the hedged return on gross notional (see ``_PairOutcomes``);
    ``confidence = (hits + 1) / (n + 2) × tanh(|z| / z_scale)`` (FLAT legs: the hit rate alone),
    ``expected_return`` = the mean settled move floored at 0, or ``|spread − mean| / (1 + beta)`` (the
    gain on a's share if the spread returns to its mean) before any has settled, 0 for FLAT; each leg's
    ``liquidity = 1 − exp(−mean(close × volume over window joint bars) / liquidity_ref)`` of its symbol.
    """

    Config = PairsConfig

    def __init__(self, name: str, config: PairsConfig) -> None:
        super().__init__(name, config)
        self._a, self._b = config.legs
        self._group = f"{name}:{self._a}|{self._b}"
        self._state = _PairState(config.window, config.z_window)
        # resolved once: the hot path reads locals, not the pydantic model
        self._intercept = config.intercept
        self._entry_z = config.entry_z
        self._exit_z = config.exit_z
        self._horizon = config.horizon_bars
        self._z_scale = config.z_scale
        self._liquidity_ref = config.liquidity_ref

    @property
    def legs(self) -> tuple[str, str]:
        return self._a, self._b

    @property
    def group(self) -> str:
        """The ``group`` of this instance's legs."""
        return self._group

    def indicators(self) -> tuple[float, float, float | None] | None:
        """``(beta, spread, z)`` after the latest joint bar; ``None`` before ``window`` joint bars,
        ``z`` is ``None`` until ``z_window`` spreads were seen."""
        state = self._state
        if not state.regression.full:
            return None
        return state.beta, state.spread, state.z

    def track_record(self) -> tuple[int, int]:
        """``(hits, settled entries)`` of this instance's pair."""
        outcomes = self._state.outcomes
        return outcomes.hits, outcomes.count

    @hookimpl
    def ais_agent_signals(self, snapshot: MarketSnapshot, context: AgentContext) -> Sequence[Signal]:
        candles = snapshot.candles
        bar_a = candles.get(self._a)
        bar_b = candles.get(self._b)
        if bar_a is None and bar_b is None:
            return _NONE
        state = self._state
        bar_ms = snapshot.bar_ms
        if bar_a is None or bar_b is None or bar_a.ts != bar_b.ts:
            # one leg without the bar of this time: the pair has a hole
            ts = max(bar.ts for bar in (bar_a, bar_b) if bar is not None)
            if state.last_open is not None and ts <= state.last_open:
                return _NONE  # a repeated bar
            closing = self._close_on_gap(bar_a, bar_b, ts + bar_ms, bar_ms)  # with the last liquidity
            state.reset()
            state.last_open = ts
            return closing
        gaps = snapshot.gaps
        step = bar_step(state.last_open, bar_a.ts, bar_ms, self._a in gaps or self._b in gaps)
        if step == SKIP:
            return _NONE
        state.last_open = bar_a.ts
        if step == RESET:
            closing = self._close_on_gap(bar_a, bar_b, bar_a.ts + bar_ms, bar_ms)  # with the last liquidity
            state.reset()
            self._push(state, bar_a, bar_b, bar_a.ts + bar_ms, bar_ms)  # warming up: no signal
            return closing
        return self._push(state, bar_a, bar_b, bar_a.ts + bar_ms, bar_ms)

    def _push(
        self, state: _PairState, bar_a: Candle, bar_b: Candle, close_ms: int, bar_ms: int
    ) -> Sequence[Signal]:
        price_a = bar_a.close
        price_b = bar_b.close
        if price_a <= 0.0 or price_b <= 0.0:
            return _NONE  # no logarithm: not a price series
        outcomes = state.outcomes
        if outcomes.entries and outcomes.entries[0][0] <= close_ms:
            outcomes.settle_pair(close_ms, price_a, price_b, bar_ms)
        state.quote_a.push(price_a * bar_a.volume)
        state.quote_b.push(price_b * bar_b.volume)
        log_a = log(price_a)
        log_b = log(price_b)
        regression = state.regression
        regression.push(log_b, log_a)
        if not regression.full:
            return _NONE  # warming up: no hedge ratio yet
        beta = regression.beta
        spread = log_a - beta * log_b
        if self._intercept:
            spread -= regression.alpha
        state.beta = beta
        state.spread = spread
        spreads = state.spreads
        spreads.push(spread)
        if not spreads.full:
            return _NONE  # warming up: no z-score yet
        mean = spreads.mean
        std = spreads.std
        z = state.z = (spread - mean) / std if std > 0.0 else 0.0
        position = state.position
        if z >= self._entry_z and beta > 0.0:
            wanted = -1
        elif z <= -self._entry_z and beta > 0.0:
            wanted = 1
        elif -self._exit_z <= z <= self._exit_z:
            wanted = 0
        else:
            return _NONE  # between the bands, or no hedge: hold
        if wanted == position:
            return _NONE
        state.position = wanted
        detail = f"beta {beta:.4f}, spread {spread:.6g} (mean {mean:.6g}, std {std:.3g})"
        if wanted == 0:
            rationale = f"z {z:+.2f} within ±{self._exit_z:g}: close the pair; {detail}"
            return self._legs(state, 0, state.weights, rationale, close_ms, bar_ms, 0.0, outcomes.hit_rate)
        weights = (1.0 / (1.0 + beta), beta / (1.0 + beta))
        state.weights = weights
        rich, cheap = (self._a, self._b) if wanted < 0 else (self._b, self._a)
        relation = "≥" if z > 0 else "≤"
        bound = self._entry_z if z > 0 else -self._entry_z
        rationale = f"z {z:+.2f} {relation} {bound:+g}: short {rich}, long {cheap}; {detail}"
        confidence = outcomes.hit_rate * tanh(abs(z) / self._z_scale)
        expected = outcomes.mean_move(prior=abs(spread - mean) / (1.0 + beta))
        outcomes.open_pair(close_ms + self._horizon * bar_ms, wanted, price_a, price_b, *weights)
        return self._legs(state, wanted, weights, rationale, close_ms, bar_ms, expected, confidence)

    def _close_on_gap(
        self, bar_a: Candle | None, bar_b: Candle | None, close_ms: int, bar_ms: int
    ) -> Sequence[Signal]:
        state = self._state
        if not state.position:
            return _NONE
        state.position = 0
        missing = [symbol for symbol, bar in ((self._a, bar_a), (self._b, bar_b)) if bar is None]
        why = f"no bar of {' and '.join(missing)}" if missing else "gap before this bar"
        rationale = f"{why}: close the pair, warming up again"
        return self._legs(state, 0, state.weights, rationale, close_ms, bar_ms, 0.0, state.outcomes.hit_rate)

    def _legs(
        self,
        state: _PairState,
        position: int,
        weights: tuple[float, float],
        rationale: str,
        close_ms: int,
        bar_ms: int,
        expected: float,
        confidence: float,
    ) -> tuple[Signal, Signal]:
        if position > 0:
            dir_a, dir_b = _LONG, _SHORT
        elif position < 0:
            dir_a, dir_b = _SHORT, _LONG
        else:
            dir_a = dir_b = _FLAT
        outcomes = state.outcomes
        rationale = f"{rationale}, hit rate {outcomes.hits}/{outcomes.count}"
        confidence = min(1.0, max(0.0, confidence))
        horizon_s = max(1, self._horizon * bar_ms // 1000)
        reference = self._liquidity_ref
        group = self._group
        return (
            Signal(
                symbol=self._a,
                direction=dir_a,
                confidence=confidence,
                expected_return=expected,
                horizon_s=horizon_s,
                liquidity=min(1.0, liquidity_score(state.quote_a.mean, reference)),
                rationale=rationale,
                ts=close_ms,
                agent=self.name,
                group=group,
                leg_weight=weights[0],
            ),
            Signal(
                symbol=self._b,
                direction=dir_b,
                confidence=confidence,
                expected_return=expected,
                horizon_s=horizon_s,
                liquidity=min(1.0, liquidity_score(state.quote_b.mean, reference)),
                rationale=rationale,
                ts=close_ms,
                agent=self.name,
                group=group,
                leg_weight=weights[1],
            ),
        )
