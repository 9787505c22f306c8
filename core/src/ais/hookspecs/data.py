"""Data providers (entry-point group ``ais.data``): market snapshots for a set of symbols."""

from __future__ import annotations

from ais.domain.market import MarketSnapshot
from ais.markers import hookspec


@hookspec
def ais_data_snapshot(symbols: tuple[str, ...], now_ms: int) -> MarketSnapshot | None:
    """Return what this provider knows about ``symbols`` at ``now_ms`` (ms since the epoch, UTC).

    Semantics: all results collected, in ais.toml order, and merged per symbol; for a symbol two
    providers both supply, the first in ais.toml order wins. ``None`` means "nothing for these symbols".
    May: return only the symbols it serves; include candles, tickers, books and funding rates; mark a
    symbol in ``gaps`` when its previous bar is missing. May not: return data stamped after ``now_ms``
    (no look-ahead), block for more than a cycle, or see credentials of other plugins.

    Example::

        @hookimpl
        def ais_data_snapshot(self, symbols, now_ms):
            bars = {s: self.bar_at(s, now_ms) for s in symbols if s in self.files}
            return MarketSnapshot(ts=now_ms, candles=bars, bar_ms=300_000)

    .. versionadded:: 1.0
    """


@hookspec
def ais_data_next_time(after_ms: int) -> int | None:
    """Return the time (ms) of this provider's next bar strictly after ``after_ms``, or ``None``.

    Semantics: all results collected; the simulated clock (backtest, replay) advances to the smallest
    one and ends the run when every provider returns ``None``. Under the wall clock it is not called.
    May: read its own index. May not: return a time ≤ ``after_ms``.

    Example::

        @hookimpl
        def ais_data_next_time(self, after_ms):
            i = bisect.bisect_right(self.times, after_ms)
            return self.times[i] if i < len(self.times) else None

    .. versionadded:: 1.0
    """
