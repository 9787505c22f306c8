"""What the classic agents do the same way beyond ``ais.agentkit``: closing a view after a gap, and the
entry/exit bands of the reversion agents."""

from __future__ import annotations

from math import tanh
from typing import Protocol, Self

from pydantic import Field, model_validator

from ais import PluginConfig
from ais.agentkit import Outcomes, bar_signal
from ais.domain.signals import Direction, Signal

_LONG, _SHORT, _FLAT = Direction.LONG, Direction.SHORT, Direction.FLAT


class _Viewing(Protocol):
    view: Direction | None

    def reset(self) -> None: ...


def close_view(state: _Viewing) -> Direction | None:
    """``SymbolAgent._gap`` of an agent that holds a view: reset the state; a LONG or SHORT view is
    returned (the agent closes it on this bar, see ``gap_exit``) and becomes FLAT, a FLAT one stays."""
    was = state.view
    state.reset()
    if was is not None:
        state.view = _FLAT
    return was if was is _LONG or was is _SHORT else None

def band_forecast(
    outcomes: Outcomes, view: Direction, z: float, z_scale: float, close: float, centre: float, due_ms: int
) -> tuple[float, float]:
    """``(confidence, expected return)`` of a reversion agent's new view. LONG/SHORT: the hit rate ×
    ``tanh(|z| / z_scale)``, and the mean move of past signals (before any: the distance from the close
    back to the band's ``centre``, as a fraction); the signal is tracked until ``due_ms``. FLAT: the hit
    rate and 0. Shared by the mean-reversion and VWAP-reversion agents."""
    sign = 1 if view is Direction.LONG else -1 if view is Direction.SHORT else 0
    if not sign:
        return outcomes.hit_rate, 0.0
    confidence = outcomes.hit_rate * tanh(abs(z) / z_scale)
    expected = outcomes.mean_move(prior=abs(close - centre) / close if close > 0.0 else 0.0)
    outcomes.open(due_ms, sign, close)
    return confidence, expected


def band_view(
    z: float, current: Direction | None, entry: float, exit_: float, allow_short: bool
) -> Direction:
    """The counter-trend view for a distance ``z`` (in volatility units) from the centre, with hysteresis.

    ``z ≤ −entry`` → LONG; ``z ≥ entry`` → SHORT (FLAT without ``allow_short``); otherwise a LONG view
    is held while ``z < −exit``, a SHORT one while ``z > exit``, and anything else is FLAT (back inside
    the exit band, or past the centre). Shared by ``mean_reversion`` and ``vwap_reversion``.
    """
    if z <= -entry:
        return _LONG
    if z >= entry:
        return _SHORT if allow_short else _FLAT
    if current is _LONG and z < -exit_:
        return _LONG
    if current is _SHORT and z > exit_:
        return _SHORT
    return _FLAT


def gap_exit(
    agent: str,
    symbol: str,
    view: Direction,
    outcomes: Outcomes,
    horizon: int,
    liquidity: float,
    close_ms: int,
    bar_ms: int,
) -> Signal:
    """The FLAT that closes a LONG/SHORT ``view`` on the first bar after a gap: without its indicators
    the agent cannot supervise the exit. Confidence is the hit rate, as for every FLAT; ``liquidity``
    comes from that bar alone (the windows start again). Shared by the classic reversion agents.
    """
    rationale = (
        f"gap before this bar: indicators reset, {view.name} view closed, "
        f"hit rate {outcomes.hits}/{outcomes.count}"
    )
    hit_rate = outcomes.hit_rate
    return bar_signal(agent, symbol, _FLAT, hit_rate, 0.0, horizon, bar_ms, liquidity, rationale, close_ms)


def check_bands(entry_z: float, exit_z: float) -> None:
    """The exit band must lie inside the entry band (else a view would be closed as soon as opened)."""
    if exit_z >= entry_z:
        raise ValueError(f"`exit_z` must be less than `entry_z` (got entry_z = {entry_z}, exit_z = {exit_z})")


class BandConfig(PluginConfig):
    """The keys the reversion agents share: entry and exit bands on ``z``, the distance of the close
    from its centre (mean, VWAP) in volatility units, over ``window`` bars."""

    window: int = Field(
        default=20, gt=1, description="bars in the rolling mean and standard deviation of closes"
    )
    entry_z: float = Field(
        default=2.0, gt=0.0, description="|z| at or beyond which the agent takes the counter-trend view"
    )
    exit_z: float = Field(
        default=0.5,
        ge=0.0,
        description="a LONG/SHORT view turns FLAT once z is back inside ±exit_z (or past the centre); "
        "must be < entry_z",
    )
    horizon: int | None = Field(
        default=None, gt=0, description="bars over which a signal's outcome is measured; default: window"
    )
    allow_short: bool = Field(default=True, description="false: z above +entry_z gives FLAT instead of SHORT")
    z_scale: float | None = Field(
        default=None,
        gt=0.0,
        description="|z| at which confidence reaches tanh(1) ≈ 76 % of the hit rate; default: entry_z",
    )
    liquidity_ref: float = Field(
        default=1.0,
        gt=0.0,
        description="mean quote volume per bar (close × volume) at which liquidity is 1 − 1/e ≈ 0.63",
    )

    @model_validator(mode="after")
    def _exit_inside_entry(self) -> Self:
        check_bands(self.entry_z, self.exit_z)
        return self

    @property
    def horizon_bars(self) -> int:
        return self.horizon if self.horizon is not None else self.window

    @property
    def z_scale_value(self) -> float:
        return self.z_scale if self.z_scale is not None else self.entry_z
