"""How one signal is scored: plain float arithmetic, no allocation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

from ais.domain import Direction, Signal

#: The regimes a detector publishes with ``shared.publish("regime", symbol, regime)``.
Regime = Literal["trending_up", "trending_down", "ranging", "high_volatility"]
REGIMES: tuple[str, ...] = get_args(Regime)


def score(signal: Signal, weight: float, regime_multiplier: float) -> float:
    """``weight × regime_multiplier × confidence × expected_return × liquidity``.

    ``expected_return`` is the expected gain of acting in the signal's direction (a fraction over
    ``horizon_s``; ≥ 0 when worth acting), so a negative one scores below zero and is never selected.
    A FLAT signal closes a position and has no return to expect: it scores
    ``weight × regime_multiplier × confidence × liquidity``.
    """
    base = weight * regime_multiplier * signal.confidence * signal.liquidity
    if signal.direction is Direction.FLAT:
        return base
    return base * signal.expected_return


def regime_multiplier(
    table: Mapping[str, Mapping[str, float]], agent: str, regime: object
) -> float:
    """The multiplier ``table[agent][regime]``; 1.0 when the agent, the regime or the published
    regime is absent."""
    by_regime = table.get(agent)
    if by_regime is None or not isinstance(regime, str):
        return 1.0
    return by_regime.get(regime, 1.0)
