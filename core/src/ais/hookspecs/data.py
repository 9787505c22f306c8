"""Data providers (entry-point group ``ais.data``): market snapshots for a set of symbols."""

from __future__ import annotations

from collections.abc import Iterator

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


@hookspec
def ais_data_stream(symbols: tuple[str, ...], after_ms: int) -> Iterator[MarketSnapshot] | None:
    """Return an iterator of this provider's snapshots for every time of its timeline after ``after_ms``.

    Optional, for a provider with a recorded timeline (``ais_data_next_time``). Semantics: used only
    under the simulated clock when this is the run's only data provider; the run then takes one
    snapshot from it per cycle instead of calling ``ais_data_next_time`` and ``ais_data_snapshot``
    (a generator resumes for less than two hook calls cost). It must yield, in order, exactly what
    ``ais_data_snapshot(symbols, t)`` returns for each successive ``t = ais_data_next_time(...)`` from
    ``after_ms`` on (an empty ``MarketSnapshot(t)`` where that is ``None``), and stop at the end.
    The run may stop reading before the end. ``None``: not available (the per-bar hooks are used).
    May: keep its cursors in the generator. May not: yield a time that does not advance.

    Example::

        @hookimpl
        def ais_data_stream(self, symbols, after_ms):
            times = self.times_after(after_ms)
            return (self.ais_data_snapshot(symbols, t) or MarketSnapshot(t) for t in times)

    .. versionadded:: 1.0
    """
