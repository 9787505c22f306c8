"""What both agents do the same way: accepting a symbol's next bar, and scoring liquidity.

The same rules as ``ais_agents_classic.common``, restated here because this distribution does not
depend on that one.
"""

from __future__ import annotations

from math import exp

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


def liquidity_score(mean_quote_volume: float, reference: float) -> float:
    """``1 − exp(−mean quote volume per bar / reference)`` in [0, 1): 0 for no trading, 0.63 at the
    reference, → 1 for volume well above it."""
    return 1.0 - exp(-max(0.0, mean_quote_volume) / reference)
