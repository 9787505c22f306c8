"""The ``grid`` agent: levels around a rolling reference price, buying below and selling above."""

from __future__ import annotations

from math import ceil, floor

from pydantic import Field

from ais import PluginConfig
from ais.agentkit import Outcomes, SymbolAgent, bar_signal, liquidity_score
from ais.domain.market import Candle
from ais.domain.signals import Direction, Signal
from ais.indicators import RollingMean, WindowMean

_NONE: tuple[Signal, ...] = ()


class GridConfig(PluginConfig):
    """``[agents.<instance>]`` with ``plugin = "grid"``."""

    window: int = Field(
        default=100, gt=1, description="bars in the moving average of closes the grid is centred on"
    )
    spacing: float = Field(
        default=0.005,
        gt=0.0,
        le=0.5,
        description="distance between two levels as a fraction of the reference price (0.005 = 0.5 %)",
    )
    max_levels: int = Field(
        default=4,
        ge=1,
        le=100,
        description="levels on each side of the reference, and the bound on the inventory (in levels)",
    )
    horizon: int | None = Field(
        default=None,
        gt=0,
        description="bars after which a level trade's outcome is measured; default: window",
    )
    allow_short: bool = Field(
        default=True, description="false: the inventory never goes below 0 (sells above only unwind buys)"
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

    __slots__ = ("inventory", "last_open", "level", "mean", "outcomes", "quote_volume", "reference")

    def __init__(self, window: int) -> None:
        self.mean = RollingMean(window)
        self.quote_volume = WindowMean(window)
        self.last_open: int | None = None  # open time (ms) of the last bar consumed
        self.reference = 0.0  # the grid's centre; 0.0: no grid (warming up)
        self.level = 0  # the level of the last fill (or the one nearest the price at centring)
        self.inventory = 0  # levels held: > 0 bought, < 0 sold
        self.outcomes = Outcomes()  # the track record survives resets: it is about the agent, not the data

    def reset(self) -> None:
        """Start warming up again (missing bars: the windows would span the hole); the grid is gone."""
        self.mean.reset()
        self.quote_volume.reset()
        self.reference = 0.0
        self.inventory = self.level = 0


class Grid(SymbolAgent[GridConfig, _SymbolState]):
    """A grid of levels ``R × (1 + i × spacing)``, ``i = −max_levels … max_levels``, around a reference
    ``R``: the SMA of closes over ``window`` bars at the moment the grid was centred.

    Per bar and symbol (O(1)), with ``u = (close / R − 1) / spacing`` (the close in level units) and
    ``j`` the level of the last fill (0 at centring):

    - ``u ≤ j − 1``: the close crossed down through levels ``j − 1 … ceil(u)``: ``j = ceil(u)``, one
      level bought per level crossed;
    - ``u ≥ j + 1``: it crossed up through ``j + 1 … floor(u)``: ``j = floor(u)``, one level sold each;
    - the inventory is ``−j`` levels: long below ``R``, short above, flat at ``R``'s level; without
      ``allow_short`` it is ``max(0, −j)`` (sells above ``R`` only unwind). ``|j| ≤ max_levels``, so the
      inventory is bounded by ``max_levels`` on each side;
    - ``|u| ≥ max_levels + 1`` (one spacing past the outermost level): the price has left the grid;
      the inventory is closed (FLAT) and the grid dropped. A grid is (re)centred on the SMA on the
      first bar whose close is within one level of it (``|close / SMA − 1| < spacing``), with ``j = 0``.

    A signal is emitted when the inventory changes: LONG for ``inventory > 0``, SHORT for ``< 0``,
    FLAT for 0, with ``leg_weight = |inventory| / max_levels`` (the share of the full grid position the
    allocator should hold; FLAT: 1.0). Nothing before ``window`` bars (warm-up). A gap resets the SMA
    and drops the grid: a non-zero inventory is closed at once (FLAT on the first bar after the gap).

    Signal fields come from the data: every inventory change made by crossing levels is a trade
    (sign +1 bought, −1 sold, at that close) whose outcome is measured after ``horizon`` bars;
    ``confidence = (hits + 1) / (n + 2)`` is the Bayesian hit rate of those trades on this symbol,
    ``expected_return`` their mean move floored at 0 (``spacing`` before any has settled; 0 for FLAT),
    and ``liquidity = 1 − exp(−mean(close × volume over window bars) / liquidity_ref)``.
    """

    Config = GridConfig

    def __init__(self, name: str, config: GridConfig) -> None:
        super().__init__(name, config)
        # resolved once: the hot path reads locals, not the pydantic model
        self._window = config.window
        self._spacing = config.spacing
        self._max_levels = config.max_levels
        self._bound = config.max_levels + 1  # a close this many levels from R has left the grid
        self._allow_short = config.allow_short
        self._horizon = config.horizon_bars
        self._liquidity_ref = config.liquidity_ref

    def indicators(self, symbol: str) -> tuple[float, float, int, int] | None:
        """``(SMA, reference R, level j of the last fill, inventory)`` of ``symbol`` after its warm-up,
        else ``None``. ``R`` is 0.0 while the price is outside every grid centred on the SMA."""
        state = self._states.get(symbol)
        if state is None or not state.mean.full:
            return None
        return state.mean.mean, state.reference, state.level, state.inventory

    def new_state(self) -> _SymbolState:
        return _SymbolState(self._window)

    def _gap(self, state: _SymbolState) -> int | None:
        """Reset after missing bars; the inventory held (to close now), or ``None`` if flat."""
        dropped = state.inventory
        state.reset()
        return dropped or None

    def _update(
        self, symbol: str, state: _SymbolState, bar: Candle, bar_ms: int, closed: int | None
    ) -> Signal | None:
        close = bar.close
        close_ms = bar.ts + bar_ms
        mean_window = state.mean
        sma = mean_window.push(close)
        state.quote_volume.push(close * bar.volume)
        if closed:  # the grid cannot be supervised across missing bars: close its inventory now
            note = f", gap before this bar: inventory {closed:+d} dropped, warming up again"
            return self._signal(symbol, state, -closed, close, sma, 0.0, note, close_ms, bar_ms)
        if not mean_window.full or sma <= 0.0:
            return None  # warming up (or not a price series)
        spacing = self._spacing
        before = state.inventory
        note = ""
        reference = state.reference
        if reference > 0.0:
            u = (close / reference - 1.0) / spacing
            j = state.level
            if -self._bound < u < self._bound:
                if u <= j - 1:
                    j = ceil(u)  # crossed down through levels j − 1 … ceil(u)
                elif u >= j + 1:
                    j = floor(u)  # crossed up through levels j + 1 … floor(u)
                else:
                    return None  # between the fill level's neighbours: nothing to do
                state.level = j
                state.inventory = -j if self._allow_short or j < 0 else 0
            else:
                note = f", left the grid at {u:+.2f} levels"
                state.reference = reference = 0.0
                state.inventory = state.level = 0
        if reference <= 0.0:  # (re)centre on the SMA once the close is within one level of it
            u = (close / sma - 1.0) / spacing
            if -1.0 < u < 1.0:
                state.reference = sma
                state.level = 0
                if note:
                    note += ", recentred"
        inventory = state.inventory
        if inventory == before:
            return None
        return self._signal(symbol, state, inventory - before, close, sma, u, note, close_ms, bar_ms)

    def _signal(
        self,
        symbol: str,
        state: _SymbolState,
        traded: int,
        close: float,
        sma: float,
        u: float,
        note: str,
        close_ms: int,
        bar_ms: int,
    ) -> Signal:
        outcomes = state.outcomes
        inventory = state.inventory
        if traded and not note:  # a level trade (not a drop to 0 on a gap or leaving the grid): tracked
            outcomes.open(close_ms + self._horizon * bar_ms, 1 if traded > 0 else -1, close)
        if inventory > 0:
            direction = Direction.LONG
        elif inventory < 0:
            direction = Direction.SHORT
        else:
            direction = Direction.FLAT
        expected = 0.0 if direction is Direction.FLAT else outcomes.mean_move(prior=self._spacing)
        action = f"{'bought' if traded > 0 else 'sold'} {abs(traded)}" if traded and not note else "flattened"
        if state.reference > 0.0 or not note:
            grid = f"{u:+.2f} levels of {self._spacing:.2%} around R {state.reference:.6g}"
            where = f"close {close:.6g} at {grid}"
        else:
            where = f"close {close:.6g}, no grid (SMA{self._window} {sma:.6g})"
        rationale = (
            f"{where}, {action}: inventory {inventory:+d}/{self._max_levels}"
            f", hit rate {outcomes.hits}/{outcomes.count}{note}"
        )
        liquidity = liquidity_score(state.quote_volume.mean, self._liquidity_ref)
        leg_weight = abs(inventory) / self._max_levels if inventory else 1.0
        return bar_signal(
            self.name, symbol, direction, outcomes.hit_rate, expected, self._horizon, bar_ms, liquidity,
            rationale, close_ms, leg_weight,
        )
