"""What agent plugins need beside indicators: one state per symbol (``SymbolAgent``), accepting a
symbol's next bar (repeats, gaps), scoring liquidity from volume, and keeping the track record that
calibrates confidence and expected return.

Used by the agents of ``ais-agents-classic`` and ``ais-agents-intel``; public for third-party agents.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from math import exp
from typing import Any, Generic, Protocol, TypeVar

from ais.context import AgentContext
from ais.domain.market import Candle, MarketSnapshot
from ais.domain.signals import Direction, Signal
from ais.markers import hookimpl
from ais.plugins.base import C, Plugin

__all__ = ["RESET", "SKIP", "USE", "Outcomes", "SymbolAgent", "bar_signal", "bar_step", "liquidity_score"]

#: ``bar_step`` answers: ignore the bar, use it, or reset the indicators first and then use it.
SKIP, USE, RESET = 0, 1, 2


def bar_step(last_open: int | None, bar_ts: int, bar_ms: int, gap: bool) -> int:
    """How to treat a symbol's bar opening at ``bar_ts`` (ms) after the one opening at ``last_open``.

    ``SKIP`` a bar already consumed (a provider repeating its latest bar); ``RESET`` after missing data
    (the provider flagged a gap, or the bar opens more than ``bar_ms`` after the previous one): a window
    must never silently span the hole; ``USE`` otherwise.
    """
    if last_open is None:
        return USE
    if bar_ts <= last_open:
        return SKIP
    if gap or bar_ts - last_open > bar_ms:
        return RESET
    return USE


def bar_signal(
    agent: str,
    symbol: str,
    direction: Direction,
    confidence: float,
    expected_return: float,
    horizon_bars: int,
    bar_ms: int,
    liquidity: float,
    rationale: str,
    close_ms: int,
    leg_weight: float = 1.0,
) -> Signal:
    """The signal of an agent that decides on a bar's close: confidence clamped to [0, 1], liquidity
    capped at 1, the horizon given in bars (at least one second), stamped with the close time."""
    return Signal(
        symbol,
        direction,
        min(1.0, max(0.0, confidence)),
        expected_return,
        max(1, horizon_bars * bar_ms // 1000),
        min(1.0, liquidity),
        rationale,
        close_ms,
        agent,
        None,
        leg_weight,
    )


def liquidity_score(mean_quote_volume: float, reference: float) -> float:
    """``1 − exp(−mean quote volume per bar / reference)`` in [0, 1): 0 for no trading, 0.63 at the
    reference, → 1 for volume well above it."""
    return 1.0 - exp(-max(0.0, mean_quote_volume) / reference)


class Outcomes:
    """An agent's track record on one symbol: how its past directional signals turned out.

    A signal opened at close price ``p0`` with direction sign ``d`` (+1 long, −1 short) settles at its
    due time (signal time + horizon) with the close ``p1`` then. Its move is
    ``d × (p1 / p0 − 1) − d × (c1 − c0)`` (a fraction, positive when the position gained), where ``c`` is
    a cumulative carry per unit of notional that a long position pays (a perpetual's funding rates;
    0 for spot, the default). It is a hit when the move is > 0. If the bar at the due time is missing,
    the outcome is dropped rather than measured at the wrong time. Due times increase with the signals,
    so a deque settles in O(1) amortised per bar. An agent with its own notion of a move (a pair of
    legs) counts it with ``add``.
    """

    __slots__ = ("count", "hits", "pending", "total_move")

    def __init__(self) -> None:
        self.pending: deque[tuple[int, int, float, float]] = deque()  # (due ms, sign, price, carry)
        self.hits = 0
        self.count = 0
        self.total_move = 0.0

    def open(self, due_ms: int, sign: int, price: float, carry: float = 0.0) -> None:
        """Track a signal; ``carry`` is the cumulative carry at entry (see the class)."""
        self.pending.append((due_ms, sign, price, carry))

    def settle(self, now_ms: int, price: float, bar_ms: int, carry: float = 0.0) -> None:
        """Settle every outcome due at or before ``now_ms`` (ms) with the close ``price`` and the
        cumulative ``carry`` of now."""
        pending = self.pending
        while pending and pending[0][0] <= now_ms:
            due_ms, sign, entry, carried = pending.popleft()
            if now_ms - due_ms >= bar_ms:
                continue  # the bar at the horizon is missing: no honest measurement
            self.add(sign * (price / entry - 1.0) - sign * (carry - carried))

    def add(self, move: float) -> None:
        """Count one settled outcome of ``move`` (a fraction; a hit when > 0)."""
        self.count += 1
        self.total_move += move
        if move > 0.0:
            self.hits += 1

    @property
    def hit_rate(self) -> float:
        """Bayesian hit rate with a uniform prior: ``(hits + 1) / (count + 2)`` (0.5 with no outcome)."""
        return (self.hits + 1) / (self.count + 2)

    def mean_move(self, prior: float) -> float:
        """Mean move of the settled outcomes, floored at 0; ``prior`` (floored at 0) before any settles."""
        if not self.count:
            return max(0.0, prior)
        return max(0.0, self.total_move / self.count)


class _Tracked(Protocol):
    """What ``SymbolAgent`` needs of a symbol's state."""

    last_open: int | None  # open time (ms) of the last bar consumed; None before the first

    @property
    def outcomes(self) -> Outcomes: ...

    def reset(self) -> None:
        """Forget the indicators (after missing bars); the track record stays."""


S = TypeVar("S", bound=_Tracked)
_NONE: tuple[Signal, ...] = ()


class SymbolAgent(Plugin[C], Generic[C, S]):
    """An agent with one independent state per symbol, never shared. Per symbol and bar, in order:

    1. ``bar_step``: a bar already consumed is skipped; after missing bars (flagged, or a bar further
       than ``bar_ms`` after the last) ``_gap(state)`` resets the state and returns what the agent had
       open, which must now be closed (``None``: nothing);
    2. the track record settles the outcomes due at this bar's close;
    3. ``_update(symbol, state, bar, bar_ms, closed)`` updates the indicators and returns a signal or
       ``None``; ``closed`` is what ``_gap`` returned on the first bar after a gap, else ``None``.

    ``new_state()`` makes a symbol's state on its first bar; ``track_record`` reads its outcomes.
    """

    def __init__(self, name: str, config: C) -> None:
        super().__init__(name, config)
        self._states: dict[str, S] = {}

    def new_state(self) -> S:
        raise NotImplementedError

    def _gap(self, state: S) -> Any:
        """Reset ``state`` after missing bars; return what must be closed (default: nothing)."""
        state.reset()
        return None

    def _update(self, symbol: str, state: S, bar: Candle, bar_ms: int, closed: Any) -> Signal | None:
        raise NotImplementedError

    def track_record(self, symbol: str) -> tuple[int, int]:
        """``(hits, settled signals)`` of this agent on ``symbol``."""
        state = self._states.get(symbol)
        return (state.outcomes.hits, state.outcomes.count) if state is not None else (0, 0)

    @hookimpl
    def ais_agent_signals(self, snapshot: MarketSnapshot, context: AgentContext) -> Sequence[Signal]:
        out: list[Signal] | None = None
        bar_ms = snapshot.bar_ms
        gaps = snapshot.gaps
        states = self._states
        update = self._update
        for symbol, bar in snapshot.candles.items():
            state = states.get(symbol)
            if state is None:
                state = states[symbol] = self.new_state()
            ts = bar.ts
            last = state.last_open
            if last is not None and ts - last == bar_ms and symbol not in gaps:
                closed = None  # the usual step, the next bar: what bar_step answers USE to, inline
            else:
                step = bar_step(last, ts, bar_ms, symbol in gaps)
                if step == SKIP:
                    continue
                closed = self._gap(state) if step == RESET else None
            state.last_open = ts
            close_ms = ts + bar_ms
            pending = state.outcomes.pending
            if pending and pending[0][0] <= close_ms:
                state.outcomes.settle(close_ms, bar.close, bar_ms)
            signal = update(symbol, state, bar, bar_ms, closed)
            if signal is not None:
                if out is None:
                    out = []
                out.append(signal)
        return out if out is not None else _NONE  # nothing allocated on a silent bar
