"""The funding agent's track record on one symbol: how its past LONG/SHORT signals turned out.

Like ``ais_agents_classic.outcomes`` (restated: this distribution does not depend on that one), with one
addition: a position in a perpetual also pays or receives funding, so an outcome's move includes the
funding the position would have received over its horizon.
"""

from __future__ import annotations

from collections import deque


class Outcomes:
    """Pending and settled outcomes of past signals.

    A signal opened at close price ``p0`` with direction sign ``d`` (+1 long, −1 short) settles at its
    due time (signal time + horizon) with the close ``p1`` then. Its move is
    ``d × (p1 / p0 − 1) − d × F``, where ``F`` is the sum of the funding rates paid in between (funding
    is paid by longs to shorts when positive): the return of holding the perpetual in the signal's
    direction. It is a hit when the move is > 0. If the bar at the due time is missing, the outcome is
    dropped rather than measured at the wrong time. Due times increase with the signals, so a deque
    settles in O(1) amortised per bar.
    """

    __slots__ = ("count", "hits", "pending", "total_move")

    def __init__(self) -> None:
        # (due ms, sign, entry price, cumulative funding at entry)
        self.pending: deque[tuple[int, int, float, float]] = deque()
        self.hits = 0
        self.count = 0
        self.total_move = 0.0

    def open(self, due_ms: int, sign: int, price: float, funding_mark: float) -> None:
        """Track a signal; ``funding_mark`` is the symbol's cumulative funding rate at entry."""
        self.pending.append((due_ms, sign, price, funding_mark))

    def settle(self, now_ms: int, price: float, bar_ms: int, funding_mark: float) -> None:
        """Settle every outcome due at or before ``now_ms`` (ms) with the close ``price`` of now and the
        cumulative funding rate ``funding_mark`` of now."""
        pending = self.pending
        while pending and pending[0][0] <= now_ms:
            due_ms, sign, entry, mark = pending.popleft()
            if now_ms - due_ms >= bar_ms:
                continue  # the bar at the horizon is missing: no honest measurement
            move = sign * (price / entry - 1.0) - sign * (funding_mark - mark)
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
