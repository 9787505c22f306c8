"""The equity curve of a run, recorded once per bar: NAV, gross exposure and each symbol's close.

Arrays of machine numbers, appended in O(1): 500,000 bars cost a few megabytes, not a list of
objects per bar.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: importing the engine costs start-up time
    from ais.engine.coordinator import Coordinator
    from ais.portfolio.ledger import Ledger


@dataclass
class EquityCurve:
    """Per bar (the cycle's time ``ts``, ms): ``nav`` and ``gross`` exposure after the cycle, in the
    quote currency. ``closes[symbol]`` holds ``(ts, close)`` pairs of the bars that symbol had."""

    initial: float
    ts: array[int] = field(default_factory=lambda: array("q"))
    nav: array[float] = field(default_factory=lambda: array("d"))
    gross: array[float] = field(default_factory=lambda: array("d"))
    closes: dict[str, tuple[array[int], array[float]]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def bar_ms(self) -> int:
        """The most common step between bars (the data's bar length); 0 with fewer than 2 bars."""
        ts = self.ts
        if len(ts) < 2:
            return 0
        steps: dict[int, int] = {}
        for i in range(1, min(len(ts), 10_001)):
            step = ts[i] - ts[i - 1]
            steps[step] = steps.get(step, 0) + 1
        return max(steps, key=lambda s: (steps[s], -s))


class EquityRecorder:
    """Keeps ``curve``: the ledger appends time, NAV and gross exposure at each mark (once a cycle,
    ``Ledger.record_path``); with ``closes``, ``record`` (for ``Run.on_bar``, else ``None``) appends
    each bar's closes after the cycle (what the report draws trades on)."""

    __slots__ = ("_curve", "_ledger", "record")

    def __init__(self, ledger: Ledger, coordinator: Coordinator, initial: float, closes: bool = True) -> None:
        curve = self._curve = EquityCurve(initial)
        self._ledger = ledger
        ledger.record_path(curve.ts, curve.nav, curve.gross)
        self.record: Callable[[int], None] | None = None
        if not closes:
            return
        series_of = curve.closes
        adders: dict[str, tuple[Callable[[int], None], Callable[[float], None]]] = {}

        def record(now: int) -> None:
            snapshot = coordinator.snapshot
            if snapshot is None:
                return
            for symbol, candle in snapshot.candles.items():
                add = adders.get(symbol)
                if add is None:
                    series = series_of[symbol] = (array("q"), array("d"))
                    add = adders[symbol] = (series[0].append, series[1].append)
                add[0](now)
                add[1](candle.close)

        self.record = record

    @property
    def curve(self) -> EquityCurve:
        """The curve up to the last mark (the ledger buffers the current day's marks)."""
        self._ledger.flush_path()
        return self._curve
