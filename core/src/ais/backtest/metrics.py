"""Performance metrics of a backtest, from its equity curve and its trades. Plain Python, no numpy.

Conventions (docs/backtesting.md): returns are simple returns from bar to bar of the NAV; a year is
365.25 days, so a series of ``bar_ms`` bars has ``365.25 × 86,400,000 / bar_ms`` bars per year
(crypto trades every day); the risk-free rate is 0. Volatility uses the sample standard deviation.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ais.backtest.equity import EquityCurve
from ais.backtest.trades import Trade

YEAR_MS = 365.25 * 86_400_000


@dataclass(frozen=True)
class Drawdown:
    depth: float  # deepest fall from a running peak, as a fraction of the peak
    duration_ms: int  # longest time from a peak until NAV regains it (or the end, if it never does)
    peak_ts: int | None  # where the deepest drawdown began ...
    trough_ts: int | None  # ... and bottomed


def bar_returns(nav: Sequence[float], initial: float) -> list[float]:
    """Simple returns per bar, the first against the initial equity."""
    out: list[float] = []
    prev = initial
    for value in nav:
        out.append(value / prev - 1.0 if prev > 0 else 0.0)
        prev = value
    return out


def drawdown(ts: Sequence[int], nav: Sequence[float], initial: float) -> Drawdown:
    """The deepest fall from a running peak (starting at the initial equity) and the longest time
    spent below a peak: from the peak to the bar that regains it, or to the end."""
    peak = initial
    peak_at = ts[0] if ts else None
    under = False
    depth = 0.0
    deepest_peak = deepest_trough = None
    longest = 0
    for t, value in zip(ts, nav, strict=True):
        if value >= peak:
            if under:
                longest = max(longest, t - peak_at)  # type: ignore[operator]
                under = False
            peak, peak_at = value, t
            continue
        under = True
        dd = 1.0 - value / peak if peak > 0 else 0.0
        if dd > depth:
            depth, deepest_peak, deepest_trough = dd, peak_at, t
    if under:
        longest = max(longest, ts[-1] - peak_at)  # type: ignore[operator]
    return Drawdown(depth, longest, deepest_peak, deepest_trough)


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if values else 0.0


def _sample_std(values: Sequence[float], mean: float) -> float:
    n = len(values)
    if n < 2:
        return 0.0
    # a generator, not a list of deviations: the list would be the run's peak memory (16 MB a 500k)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def compute_metrics(
    curve: EquityCurve,
    trades: Sequence[Trade],
    *,
    fees: float = 0.0,
    traded_notional: float = 0.0,
    rejections: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Every figure of the report, as plain JSON-ready values (``None`` where undefined, e.g. a
    Sharpe ratio of a flat curve)."""
    ts, nav, initial = curve.ts, curve.nav, curve.initial
    bar_ms = curve.bar_ms
    final = nav[-1] if nav else initial
    returns = bar_returns(nav, initial)
    per_year = YEAR_MS / bar_ms if bar_ms else 0.0
    span_ms = (ts[-1] - ts[0] + bar_ms) if ts else 0
    years = span_ms / YEAR_MS
    growth = final / initial if initial > 0 else 0.0
    cagr = growth ** (1.0 / years) - 1.0 if years > 0 and growth > 0 else None
    mean = _mean(returns)
    std = _sample_std(returns, mean)
    losses_sq = [r * r for r in returns if r < 0.0]
    downside = math.sqrt(math.fsum(losses_sq) / len(returns)) if returns else 0.0
    root = math.sqrt(per_year)
    dd = drawdown(ts, nav, initial)
    closed = [t for t in trades if not t.open]
    wins = [t.pnl for t in closed if t.pnl > 0]
    losses = [t.pnl for t in closed if t.pnl <= 0]
    gross_loss = -math.fsum(losses)
    exposed = len(curve.gross) - curve.gross.count(0.0)  # gross exposure is never negative
    mean_nav = _mean(nav) if nav else initial
    sharpe = _ratio(mean, std)
    sortino = _ratio(mean, downside)
    return {
        "start": _iso(ts[0]) if ts else None,
        "end": _iso(ts[-1]) if ts else None,
        "bars": len(ts),
        "bar_seconds": bar_ms / 1000,
        "initial_equity": initial,
        "final_equity": final,
        "total_return": growth - 1.0,
        "cagr": cagr,
        "volatility": std * root,
        "sharpe": sharpe * root if sharpe is not None else None,
        "sortino": sortino * root if sortino is not None else None,
        "max_drawdown": dd.depth,
        "max_drawdown_duration_days": dd.duration_ms / 86_400_000,
        "calmar": cagr / dd.depth if cagr is not None and dd.depth > 0 else None,
        "trades": len(closed),
        "open_trades": len(trades) - len(closed),
        "win_rate": len(wins) / len(closed) if closed else None,
        "profit_factor": math.fsum(wins) / gross_loss if gross_loss > 0 else None,
        "average_trade": _mean([t.pnl for t in closed]) if closed else None,
        "average_trade_return": _mean([t.return_pct for t in closed]) if closed else None,
        "exposure_time": exposed / len(ts) if ts else 0.0,
        "turnover": traded_notional / mean_nav if mean_nav > 0 else 0.0,
        "fees": fees,
        "rejections": dict(sorted((rejections or {}).items())),
    }


def attribution(trades: Iterable[Trade], key: str) -> dict[str, dict[str, Any]]:
    """Per agent (``key="agent"``) or per symbol: trades, wins, P&L after fees, fees."""
    table: dict[str, dict[str, Any]] = {}
    counts: Counter[str] = Counter()
    for t in trades:
        name = t.agent if key == "agent" else t.symbol
        row = table.setdefault(name, {"trades": 0, "open_trades": 0, "wins": 0, "pnl": 0.0, "fees": 0.0})
        counts[name] += 1
        row["open_trades" if t.open else "trades"] += 1
        row["wins"] += 1 if (t.pnl > 0 and not t.open) else 0
        row["pnl"] += t.pnl
        row["fees"] += t.fees
    for row in table.values():
        row["win_rate"] = row["wins"] / row["trades"] if row["trades"] else None
    return dict(sorted(table.items(), key=lambda kv: -kv[1]["pnl"]))


def monthly_returns(curve: EquityCurve) -> dict[str, float]:
    """``"YYYY-MM"`` -> return of the NAV over that calendar month (UTC), from the month's first
    NAV before it (the initial equity for the first month) to its last. A month's end is found by
    binary search in the bar times: a date is built per month, not per bar."""
    ts, nav = curve.ts, curve.nav
    out: dict[str, float] = {}
    start = curve.initial
    i, n = 0, len(ts)
    while i < n:
        day = datetime.fromtimestamp(ts[i] / 1000, UTC)
        following = datetime(day.year + day.month // 12, day.month % 12 + 1, 1, tzinfo=UTC)
        j = bisect_left(ts, int(following.timestamp() * 1000), i)
        last = nav[j - 1]
        out[day.strftime("%Y-%m")] = last / start - 1.0 if start > 0 else 0.0
        start = last
        i = j
    return out


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
