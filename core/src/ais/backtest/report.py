"""The HTML report of a backtest: one self-contained file (inline CSS and inline SVG drawn here, no
script, no font, no image, nothing fetched), readable offline and safe to mail or archive.

Sections (``SECTIONS``): headline metrics, equity curve, drawdown, trades marked on price (one small
chart per traded symbol), monthly returns, per-agent contribution, per-symbol results, rejections by
reason code, the trade list and the run's facts. Long series are reduced for drawing to the minimum
and maximum of each pixel column (at most ``MAX_POINTS`` points per chart), so a 500,000-bar run
gives a file of a few hundred kilobytes; every figure in a table is the exact value of the result.
Every string from the run (agent, symbol, reason code, path) is HTML-escaped; a figure that is
undefined (``None``, NaN) is shown as "—". See docs/backtesting-report.md.
"""

from __future__ import annotations

import html
import json
import math
import os
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from itertools import accumulate
from operator import truediv
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ais.errors import AisError

if TYPE_CHECKING:
    from ais.backtest.run import BacktestResult
    from ais.backtest.trades import Trade

SECTIONS: tuple[tuple[str, str], ...] = (
    ("metrics", "Headline metrics"),
    ("equity", "Equity curve"),
    ("drawdown", "Drawdown"),
    ("trades-on-price", "Trades on price"),
    ("monthly", "Monthly returns"),
    ("agents", "Per-agent contribution"),
    ("symbols", "Per-symbol results"),
    ("rejections", "Rejections by reason"),
    ("trade-list", "Trade list"),
    ("run", "Run facts"),
)
# Shown only when the result has them (``result.extra["monte_carlo"]``, ``ais backtest --monte-carlo``).
OPTIONAL_SECTIONS: tuple[tuple[str, str], ...] = (("monte-carlo", "Monte Carlo"),)

DASH = "—"
MAX_POINTS = 2000  # per drawn series
MAX_MARKERS = 200  # trades drawn on one symbol's chart (evenly chosen beyond that)
MAX_TRADE_ROWS = 1000  # rows of the trade list (the CSV export has them all)

LONG = "#2563eb"
SHORT = "#ea580c"
GAIN = "#16a34a"
LOSS = "#dc2626"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# ---------------------------------------------------------------------------------------------- formats


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _num(value: object) -> float | None:
    """A finite number, or None (for None, NaN, ±inf, booleans and anything not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def fmt_pct(value: object, digits: int = 2, sign: bool = False) -> str:
    x = _num(value)
    if x is None:
        return DASH
    return f"{x * 100:{'+' if sign else ''},.{digits}f}%"


def fmt_ratio(value: object) -> str:
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "−∞"
    x = _num(value)
    return DASH if x is None else f"{x:,.2f}"


def fmt_times(value: object) -> str:
    x = _num(value)
    return DASH if x is None else f"{x:,.2f}×"


def fmt_int(value: object) -> str:
    x = _num(value)
    return DASH if x is None else f"{round(x):,}"


def fmt_amount(value: object, sign: bool = False) -> str:
    """A money amount or a price: two decimals from 1,000 up, four from 1, six significant below."""
    x = _num(value)
    if x is None:
        return DASH
    plus = "+" if sign else ""
    size = abs(x)
    if size >= 1000:
        return f"{x:{plus},.2f}"
    if size >= 1 or x == 0:
        return f"{x:{plus}.4f}"
    if size >= 1e-6:
        decimals = min(12, 5 - math.floor(math.log10(size)))
        return f"{x:{plus}.{decimals}f}"
    return f"{x:{plus}.3e}"


def fmt_days(value: object) -> str:
    x = _num(value)
    return DASH if x is None else f"{x:,.2f} days"


def fmt_seconds(value: object) -> str:
    """A bar length: ``5 min``, ``1 h``, ``1 d``, ``30 s``."""
    x = _num(value)
    if x is None or x <= 0:
        return DASH
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if x >= size and x % size == 0:
            return f"{int(x // size)} {unit}"
    return f"{x:g} s"


def fmt_text(value: object) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return DASH
    return str(value)


def fmt_any(value: object) -> str:
    """A figure of unknown kind (a metric added later): numbers as amounts, the rest as text."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return fmt_int(value)
    if isinstance(value, float):
        return fmt_amount(value)
    if isinstance(value, dict | list | tuple):
        return json.dumps(_clean(value), default=str, separators=(", ", ": "))
    return fmt_text(value)


def fmt_ts(ms: object, seconds: bool = False) -> str:
    x = _num(ms)
    if x is None:
        return DASH
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return datetime.fromtimestamp(x / 1000, UTC).strftime(fmt)


def _clean(value: Any) -> Any:
    """JSON-ready, with every non-finite float replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _sign_class(value: object) -> str:
    x = _num(value)
    if x is None or x == 0:
        return ""
    return "pos" if x > 0 else "neg"


# The metrics table: key, label, format, whether the sign is colored, what it means.
METRICS: tuple[tuple[str, str, Callable[[object], str], bool, str], ...] = (
    ("start", "Start", fmt_text, False, "close time of the first bar (UTC)"),
    ("end", "End", fmt_text, False, "close time of the last bar (UTC)"),
    ("bars", "Bars", fmt_int, False, "cycles of the run, one per bar"),
    ("bar_seconds", "Bar length", fmt_seconds, False, "most common step between bars"),
    ("initial_equity", "Initial equity", fmt_amount, False, "NAV at the start, quote currency"),
    ("final_equity", "Final equity", fmt_amount, False, "NAV after the last bar, open positions marked"),
    ("total_return", "Total return", fmt_pct, True, "final / initial equity − 1"),
    ("cagr", "CAGR", fmt_pct, True, "compound annual growth rate over the run's span (365.25-day year)"),
    ("volatility", "Volatility (ann.)", fmt_pct, False, "sample std of bar returns × √(bars per year)"),
    ("sharpe", "Sharpe (ann.)", fmt_ratio, True, "mean / std of bar returns × √(bars per year), risk-free 0"),
    ("sortino", "Sortino (ann.)", fmt_ratio, True, "mean / downside deviation × √(bars per year)"),
    ("max_drawdown", "Max drawdown", fmt_pct, False, "deepest fall of NAV from a running peak"),
    ("max_drawdown_duration_days", "Max drawdown duration", fmt_days, False,
     "longest time from a peak until NAV regains it (or the end)"),
    ("calmar", "Calmar", fmt_ratio, True, "CAGR / max drawdown"),
    ("trades", "Closed trades", fmt_int, False, "round trips closed during the run"),
    ("open_trades", "Open trades", fmt_int, False,
     "round trips still open at the end, marked at the last close"),
    ("win_rate", "Win rate", fmt_pct, False, "closed trades with a positive P&L after fees"),
    ("profit_factor", "Profit factor", fmt_ratio, False, "gross profit / gross loss of closed trades"),
    ("average_trade", "Average trade", lambda v: fmt_amount(v, sign=True), True,
     "mean P&L of a closed trade after fees, quote currency"),
    ("average_trade_return", "Average trade return", lambda v: fmt_pct(v, sign=True), True,
     "mean P&L of a closed trade over its entry notional"),
    ("exposure_time", "Exposure time", fmt_pct, False, "share of bars with a position open"),
    ("turnover", "Turnover", fmt_times, False, "traded notional / mean NAV"),
    ("fees", "Fees", fmt_amount, False, "fees paid, quote currency"),
)
HEADLINE = (
    "total_return", "cagr", "sharpe", "sortino", "max_drawdown", "win_rate", "profit_factor", "trades",
)


# ------------------------------------------------------------------------------------------- geometry


def downsample(xs: Sequence[int], ys: Sequence[float], columns: int) -> list[tuple[int, float]]:
    """At most ``2 × columns + 2`` points that draw like the whole series: per column of equal time
    the minimum and the maximum (in their order), plus the first and the last point. Non-finite
    values are dropped."""
    n = len(xs)
    if n <= 2 * columns + 2:
        return [(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(y)]
    t0, t1 = xs[0], xs[-1]
    out: list[tuple[int, float]] = [(t0, ys[0])]
    lo = 1
    for column in range(1, columns + 1):
        edge = t0 + (t1 - t0) * column / columns
        hi = n - 1 if column == columns else max(lo, bisect_right(xs, edge, lo, n - 1))
        if hi <= lo:
            continue
        segment = ys[lo:hi]
        low, high = min(segment), max(segment)
        i_low, i_high = segment.index(low), segment.index(high)
        if i_low == i_high:
            out.append((xs[lo + i_low], low))
        else:
            for i in sorted((i_low, i_high)):
                out.append((xs[lo + i], segment[i]))
        lo = hi
    out.append((t1, ys[-1]))
    return [(x, y) for x, y in out if math.isfinite(y)]


def nice_ticks(lo: float, hi: float, count: int = 5) -> tuple[list[float], int]:
    """Round tick values between ``lo`` and ``hi`` and the decimals to print them with."""
    if not hi > lo:
        return [lo], 2
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    mult = next(m for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * magnitude >= raw)
    step = mult * magnitude
    decimals = max(0, -math.floor(math.log10(step) + 1e-9) + (1 if mult == 2.5 else 0))
    first = math.ceil(lo / step - 1e-9)
    ticks = []
    k = first
    while k * step <= hi + step * 1e-9:
        ticks.append(k * step)
        k += 1
    return ticks, decimals


_TIME_STEPS_MS = tuple(
    s * 60_000 for s in (1, 5, 15, 30, 60, 180, 360, 720, 1440, 2 * 1440, 7 * 1440, 14 * 1440, 28 * 1440,
                         91 * 1440, 182 * 1440, 364 * 1440, 728 * 1440, 1820 * 1440)
)


def time_ticks(t0: int, t1: int, count: int = 6) -> tuple[list[int], str]:
    """Tick times aligned to round UTC steps, and the strftime format to label them."""
    span = t1 - t0
    if span <= 0:
        return [t0], "%Y-%m-%d %H:%M"
    step = next((s for s in _TIME_STEPS_MS if s * count >= span), _TIME_STEPS_MS[-1])
    first = -(-t0 // step) * step
    ticks = list(range(first, t1 + 1, step))
    fmt = "%Y-%m-%d" if step >= 86_400_000 else ("%m-%d %H:%M" if span > 86_400_000 else "%H:%M")
    return ticks, fmt


class _Frame:
    """The plot area of one chart: data coordinates to SVG user units."""

    def __init__(self, width: float, height: float, margins: tuple[float, float, float, float],
                 xr: tuple[float, float], yr: tuple[float, float]) -> None:
        self.width, self.height = width, height
        self.top, self.right, self.bottom, self.left = margins
        self.x0, self.x1 = xr
        if self.x1 <= self.x0:
            self.x0, self.x1 = self.x0 - 1, self.x0 + 1
        y0, y1 = yr
        if y1 <= y0:
            pad = abs(y0) * 0.01 or 1.0
            y0, y1 = y0 - pad, y1 + pad
        self.y0, self.y1 = y0, y1

    @property
    def plot_bottom(self) -> float:
        return self.height - self.bottom

    def x(self, t: float) -> float:
        return self.left + (t - self.x0) / (self.x1 - self.x0) * (self.width - self.left - self.right)

    def y(self, v: float) -> float:
        return self.top + (self.y1 - v) / (self.y1 - self.y0) * (self.height - self.top - self.bottom)

    def points(self, series: Iterable[tuple[float, float]]) -> str:
        return " ".join(f"{self.x(t):.1f},{self.y(v):.1f}" for t, v in series)

    def axes(self, y_format: Callable[[float, int], str], *, y_ticks: int = 5, x_ticks: int = 6) -> str:
        parts = ['<g class="axis">']
        ticks, decimals = nice_ticks(self.y0, self.y1, y_ticks)
        for v in ticks:
            y = self.y(v)
            parts.append(
                f'<line class="grid" x1="{self.left:.1f}" y1="{y:.1f}" x2="{self.width - self.right:.1f}" '
                f'y2="{y:.1f}"/><text x="{self.left - 6:.1f}" y="{y + 3.5:.1f}" text-anchor="end">'
                f"{_e(y_format(v, decimals))}</text>"
            )
        times, fmt = time_ticks(int(self.x0), int(self.x1), x_ticks)
        for t in times:
            x = self.x(t)
            parts.append(
                f'<line class="tick" x1="{x:.1f}" y1="{self.plot_bottom:.1f}" x2="{x:.1f}" '
                f'y2="{self.plot_bottom + 4:.1f}"/><text x="{x:.1f}" y="{self.plot_bottom + 16:.1f}" '
                f'text-anchor="middle">{_e(datetime.fromtimestamp(t / 1000, UTC).strftime(fmt))}</text>'
            )
        parts.append(
            f'<line class="frame" x1="{self.left:.1f}" y1="{self.plot_bottom:.1f}" '
            f'x2="{self.width - self.right:.1f}" y2="{self.plot_bottom:.1f}"/></g>'
        )
        return "".join(parts)


def _svg_open(width: float, height: float, label: str, kind: str) -> str:
    return (
        f'<svg class="chart {kind}" data-chart="{kind}" viewBox="0 0 {width:g} {height:g}" '
        f'role="img" aria-label="{_e(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{_e(label)}</title>"
    )


def _tick_number(v: float, decimals: int) -> str:
    return f"{v:,.{decimals}f}"


def _tick_pct(v: float, decimals: int) -> str:
    return f"{v * 100:,.{max(0, decimals - 2)}f}%"


def _no_data(what: str) -> str:
    return f'<p class="empty">No {_e(what)}: the run recorded no bars.</p>'


# ---------------------------------------------------------------------------------------------- charts


def equity_chart(ts: Sequence[int], nav: Sequence[float], initial: float) -> str:
    """NAV over time, the initial equity as a dashed line."""
    width, height = 960.0, 280.0
    series = downsample(ts, nav, MAX_POINTS // 2 - 1)
    if not series:
        return _no_data("equity curve")
    values = [v for _, v in series]
    lo, hi = min([*values, initial]), max([*values, initial])
    pad = (hi - lo) * 0.06
    frame = _Frame(width, height, (12, 16, 28, 72), (series[0][0], series[-1][0]), (lo - pad, hi + pad))
    line = frame.points(series)
    base = frame.y(initial)
    area = (
        f"M{frame.x(series[0][0]):.1f},{frame.plot_bottom:.1f} L{line.replace(' ', ' L')} "
        f"L{frame.x(series[-1][0]):.1f},{frame.plot_bottom:.1f} Z"
    )
    return (
        _svg_open(width, height, "Equity curve: NAV per bar", "line-chart")
        + frame.axes(_tick_number)
        + f'<path class="area nav-area" d="{area}"/>'
        + f'<line class="baseline" x1="{frame.left:.1f}" y1="{base:.1f}" x2="{width - frame.right:.1f}" '
        f'y2="{base:.1f}"><title>initial equity {_e(fmt_amount(initial))}</title></line>'
        + f'<polyline class="line nav" points="{line}"/>'
        + "</svg>"
    )


def _peak_ratios(nav: Sequence[float], initial: float) -> list[float]:
    """Per bar, NAV over its running peak (starting at the initial equity): 1 at a peak, below under it."""
    peaks = accumulate(nav, max, initial=initial)
    next(peaks)
    if initial > 0:  # every peak is positive: divide at C speed
        return list(map(truediv, nav, peaks))
    return [v / p if p > 0 else 1.0 for v, p in zip(nav, peaks, strict=True)]


def drawdown_series(nav: Sequence[float], initial: float) -> list[float]:
    """Per bar, NAV over its running peak (starting at the initial equity) minus one: 0 or negative."""
    return [r - 1.0 for r in _peak_ratios(nav, initial)]


def drawdown_chart(ts: Sequence[int], nav: Sequence[float], initial: float) -> str:
    """The fall below the running peak as a filled area under zero; the deepest point labelled."""
    width, height = 960.0, 190.0
    series = [(t, r - 1.0) for t, r in downsample(ts, _peak_ratios(nav, initial), MAX_POINTS // 2 - 1)]
    if not series:
        return _no_data("drawdown")
    deepest = min(series, key=lambda p: p[1])
    lo = min(deepest[1], -1e-4)
    frame = _Frame(width, height, (14, 16, 28, 72), (series[0][0], series[-1][0]), (lo * 1.22, 0.0))
    line = frame.points(series)
    zero = frame.y(0.0)
    area = (
        f"M{frame.x(series[0][0]):.1f},{zero:.1f} L{line.replace(' ', ' L')} "
        f"L{frame.x(series[-1][0]):.1f},{zero:.1f} Z"
    )
    mark = ""
    if deepest[1] < 0:
        x, y = frame.x(deepest[0]), frame.y(deepest[1])
        anchor = "end" if x > width * 0.8 else "start"
        dx = -6 if anchor == "end" else 6
        mark = (
            f'<circle class="dd-mark" cx="{x:.1f}" cy="{y:.1f}" r="3.5"><title>deepest: '
            f"{_e(fmt_pct(deepest[1]))} at {_e(fmt_ts(deepest[0]))}</title></circle>"
            f'<text class="dd-label" x="{x + dx:.1f}" y="{y + 14:.1f}" '
            f'text-anchor="{anchor}">{_e(fmt_pct(deepest[1]))}</text>'
        )
    return (
        _svg_open(width, height, "Drawdown: NAV below its running peak", "line-chart")
        + frame.axes(_tick_pct, y_ticks=4)
        + f'<path class="area dd-area" d="{area}"/>'
        + f'<polyline class="line dd" points="{line}"/>'
        + mark
        + "</svg>"
    )


def _marker(kind: str, x: float, y: float, direction: int) -> str:
    if kind == "entry":  # a triangle pointing the way of the trade
        if direction > 0:
            d = f"M{x:.1f},{y - 5:.1f} L{x - 4.5:.1f},{y + 3.5:.1f} L{x + 4.5:.1f},{y + 3.5:.1f} Z"
        else:
            d = f"M{x:.1f},{y + 5:.1f} L{x - 4.5:.1f},{y - 3.5:.1f} L{x + 4.5:.1f},{y - 3.5:.1f} Z"
        return f'<path class="entry {"long" if direction > 0 else "short"}" d="{d}"/>'
    if kind == "open":
        return f'<rect class="exit open" x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6"/>'
    return f'<circle class="exit" cx="{x:.1f}" cy="{y:.1f}" r="3"/>'


def _trade_title(t: Trade) -> str:
    side = "long" if t.direction > 0 else "short"
    end = "open, marked" if t.open else "exit"
    return (
        f"{t.symbol} {side} by {t.agent}: entry {fmt_ts(t.entry_ts)} @ {fmt_amount(t.entry_price)}, "
        f"{end} {fmt_ts(t.exit_ts)} @ {fmt_amount(t.exit_price)}, P&L {fmt_amount(t.pnl, sign=True)} "
        f"({fmt_pct(t.return_pct, sign=True)})"
    )


def _evenly(items: Sequence[Trade], limit: int) -> list[Trade]:
    if len(items) <= limit:
        return list(items)
    return [items[round(i * (len(items) - 1) / (limit - 1))] for i in range(limit)]


def price_chart(symbol: str, closes: tuple[Sequence[int], Sequence[float]] | None, trades: Sequence[Trade],
                *, wide: bool) -> str:
    """One symbol's close with its trades: entry triangles (up long, down short), exit circles (open
    trades: a square at the last close), and a segment from entry to exit, green won, red lost."""
    width, height = (960.0, 280.0) if wide else (340.0, 190.0)
    columns = (MAX_POINTS // 2 - 1) if wide else 300
    series = downsample(closes[0], closes[1], columns) if closes is not None else []
    shown = _evenly(trades, MAX_MARKERS)
    points = [*series]
    for t in shown:
        points += [(t.entry_ts, t.entry_price), (t.exit_ts, t.exit_price)]
    points = [(x, y) for x, y in points if _num(y) is not None and _num(x) is not None]
    if not points:
        return _no_data(f"prices for {symbol}")
    values = [v for _, v in points]
    times = [t for t, _ in points]
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.08
    margins = (12.0, 12.0, 26.0, 72.0) if wide else (10.0, 8.0, 24.0, 62.0)
    frame = _Frame(width, height, margins, (min(times), max(times)), (lo - pad, hi + pad))
    parts = [_svg_open(width, height, f"{symbol}: close and trades", "price-chart"),
             frame.axes(_tick_number, y_ticks=4 if not wide else 5, x_ticks=3 if not wide else 6)]
    if series:
        parts.append(f'<polyline class="line price" points="{frame.points(series)}"/>')
    for t in shown:
        x0, y0 = frame.x(t.entry_ts), frame.y(t.entry_price)
        x1, y1 = frame.x(t.exit_ts), frame.y(t.exit_price)
        outcome = "won" if t.pnl > 0 else "lost"
        parts.append(
            f'<g class="trade {outcome}"><title>{_e(_trade_title(t))}</title>'
            f'<line class="span" x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}"/>'
            f'{_marker("entry", x0, y0, t.direction)}'
            f'{_marker("open" if t.open else "exit", x1, y1, t.direction)}</g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bars_chart(rows: Sequence[tuple[str, float, str]], *, kind: str, label: str) -> str:
    """Horizontal bars from a zero line (negative to the left, red), one row per (name, value, text)."""
    if not rows:
        return ""
    width, row_h, name_w, value_w = 960.0, 24.0, 200.0, 150.0
    height = row_h * len(rows) + 12
    lo = min(0.0, *(v for _, v, _ in rows))
    hi = max(0.0, *(v for _, v, _ in rows))
    span = (hi - lo) or 1.0
    left, right = name_w, width - value_w
    zero = left + (0.0 - lo) / span * (right - left)
    parts = [_svg_open(width, height, label, f"bar-chart {kind}")]
    for i, (name, value, text) in enumerate(rows):
        y = 6 + i * row_h
        x = left + (min(value, 0.0) - lo) / span * (right - left)
        w = abs(value) / span * (right - left)
        short = name if len(name) <= 28 else name[:27] + "…"
        parts.append(
            f'<g class="bar-row"><title>{_e(name)}: {_e(text)}</title>'
            f'<text class="bar-name" x="{left - 8:.1f}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end">'
            f"{_e(short)}</text>"
            f'<rect class="bar {"neg" if value < 0 else "pos"}" x="{x:.1f}" y="{y + 3:.1f}" '
            f'width="{max(w, 0.5):.1f}" height="{row_h - 8:.1f}"/>'
            f'<text class="bar-value" x="{right + 8:.1f}" y="{y + row_h / 2 + 4:.1f}">{_e(text)}</text></g>'
        )
    parts.append(
        f'<line class="zero" x1="{zero:.1f}" y1="2" x2="{zero:.1f}" y2="{height - 4:.1f}"/></svg>'
    )
    return "".join(parts)


# -------------------------------------------------------------------------------------------- sections


def _section(key: str, body: str, note: str = "") -> str:
    title = dict(SECTIONS + OPTIONAL_SECTIONS)[key]
    lead = f'<p class="note">{note}</p>' if note else ""
    return f'<section id="{key}"><h2>{_e(title)}</h2>{lead}{body}</section>'


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """``head`` and cells are HTML already (escaped by the caller); a head given as ``<th ...>`` is
    used as it is."""
    header = "".join(h if h.startswith("<th") else f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(rows_cell for rows_cell in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>'


def _td(text: str, cls: str = "", title: str = "") -> str:
    attrs = (f' class="{cls}"' if cls else "") + (f' title="{_e(title)}"' if title else "")
    return f"<td{attrs}>{_e(text)}</td>"


def _metrics_section(metrics: dict[str, Any]) -> str:
    cards = []
    by_key = {m[0]: m for m in METRICS}
    for key in HEADLINE:
        _, label, fmt, signed, hint = by_key[key]
        value = metrics.get(key)
        cls = _sign_class(value) if signed else ""
        cards.append(
            f'<div class="card" data-key="{key}" title="{_e(hint)}"><div class="card-label">{_e(label)}</div>'
            f'<div class="card-value {cls}">{_e(fmt(value))}</div></div>'
        )
    rows = []
    for key, label, fmt, signed, hint in METRICS:
        value = metrics.get(key)
        rows.append(
            f'<tr data-key="{key}"><th scope="row" title="{_e(hint)}">{_e(label)}</th>'
            f"{_td(fmt(value), _sign_class(value) if signed else 'num')}"
            f'<td class="hint">{_e(hint)}</td></tr>'
        )
    rejections = metrics.get("rejections") or {}
    if isinstance(rejections, dict):
        total = sum(int(v) for v in rejections.values() if _num(v) is not None)
        text = f"{total:,}" + (f" ({len(rejections)} reason codes)" if rejections else "")
        rows.append(
            f'<tr data-key="rejections"><th scope="row">Rejections</th>{_td(text, "num")}'
            '<td class="hint">orders refused by the risk engine, see <a href="#rejections">by reason</a>'
            "</td></tr>"
        )
    known = {m[0] for m in METRICS} | {"rejections"}
    for key, value in metrics.items():
        if key not in known:
            rows.append(
                f'<tr data-key="{_e(key)}"><th scope="row">{_e(key)}</th>{_td(fmt_any(value), "num")}'
                f'<td class="hint"></td></tr>'
            )
    table = f'<table class="metrics"><tbody>{"".join(rows)}</tbody></table>'
    return _section("metrics", f'<div class="cards">{"".join(cards)}</div>{table}')


def _monthly_section(monthly: dict[str, float]) -> str:
    if not monthly:
        return _section("monthly", '<p class="empty">No monthly returns: the run recorded no bars.</p>')
    years: dict[str, dict[int, float]] = {}
    for month, value in monthly.items():
        year, _, mm = month.partition("-")
        if mm.isdigit() and 1 <= int(mm) <= 12 and _num(value) is not None:
            years.setdefault(year, {})[int(mm)] = value
    scale = max((abs(v) for row in years.values() for v in row.values()), default=0.0) or 1.0

    def cell(value: float | None) -> str:
        if value is None:
            return '<td class="blank"></td>'
        alpha = 0.12 + 0.6 * min(1.0, abs(value) / scale)
        rgb = "22,163,74" if value > 0 else ("220,38,38" if value < 0 else "148,163,184")
        style = f"background:rgba({rgb},{alpha:.2f})"
        return f'<td class="num" style="{style}">{_e(fmt_pct(value, sign=True))}</td>'

    rows = []
    for year in sorted(years):
        row = years[year]
        total = math.prod(1.0 + v for v in row.values()) - 1.0
        rows.append(
            f'<tr><th scope="row">{_e(year)}</th>'
            + "".join(cell(row.get(m)) for m in range(1, 13))
            + cell(total).replace('class="num"', 'class="num year"', 1)
            + "</tr>"
        )
    head = "<th></th>" + "".join(f"<th>{m}</th>" for m in MONTHS) + "<th>Year</th>"
    table = f'<table class="monthly"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    note = "Return of the NAV over each calendar month (UTC), compounded over the year in the last column."
    return _section("monthly", table, note)


def _attribution_rows(table: dict[str, dict[str, Any]], total_pnl: float | None) -> list[list[str]]:
    rows = []
    for name, row in table.items():
        pnl = row.get("pnl")
        value = _num(pnl)
        share = value / total_pnl if total_pnl and value is not None else None
        rows.append([
            f'<th scope="row">{_e(name)}</th>',
            _td(fmt_int(row.get("trades")), "num"),
            _td(fmt_int(row.get("open_trades")), "num"),
            _td(fmt_int(row.get("wins")), "num"),
            _td(fmt_pct(row.get("win_rate")), "num"),
            _td(fmt_amount(pnl, sign=True), _sign_class(pnl) or "num"),
            _td(fmt_pct(share, 1), "num"),
            _td(fmt_amount(row.get("fees")), "num"),
        ])
    return rows


ATTRIBUTION_HEAD = ("", "Closed", "Open", "Wins", "Win rate", "P&amp;L", "Share of P&amp;L", "Fees")


def _agents_section(by_agent: dict[str, dict[str, Any]]) -> str:
    if not by_agent:
        return _section("agents", '<p class="empty">No trades, so nothing to attribute.</p>')
    total = math.fsum(_num(r.get("pnl")) or 0.0 for r in by_agent.values())
    head = ["Agent", *ATTRIBUTION_HEAD[1:]]
    bars = bars_chart(
        [(name, _num(r.get("pnl")) or 0.0, fmt_amount(r.get("pnl"), sign=True))
         for name, r in by_agent.items()],
        kind="agents", label="P&L per agent",
    )
    note = ("Each trade belongs to the agent whose order opened it; P&amp;L is after fees, open trades "
            "marked at the last close.")
    return _section("agents", bars + _table(head, _attribution_rows(by_agent, total), "num-head"), note)


def _symbols_section(result: BacktestResult) -> str:
    closes = result.curve.closes
    table = dict(result.by_symbol)
    for symbol in closes:
        table.setdefault(symbol, {"trades": 0, "open_trades": 0, "wins": 0, "pnl": 0.0, "fees": 0.0,
                                  "win_rate": None})
    if not table:
        return _section("symbols", '<p class="empty">No symbol had a bar or a trade.</p>')
    total = math.fsum(_num(r.get("pnl")) or 0.0 for r in result.by_symbol.values())
    rows = _attribution_rows(table, total)
    for row, symbol in zip(rows, table, strict=True):
        series = closes.get(symbol)
        prices = series[1] if series else None
        change = prices[-1] / prices[0] - 1.0 if prices and prices[0] > 0 else None
        row.append(_td(fmt_pct(change, sign=True), _sign_class(change) or "num"))
    head = ["Symbol", *ATTRIBUTION_HEAD[1:], "Price change"]
    note = "P&amp;L after fees per symbol traded; the price change is the symbol's own, first to last close."
    return _section("symbols", _table(head, rows, "num-head"), note)


def _trades_on_price_section(result: BacktestResult) -> str:
    by_symbol: dict[str, list[Trade]] = {}
    for t in result.trades:
        by_symbol.setdefault(t.symbol, []).append(t)
    if not by_symbol:
        return _section("trades-on-price", '<p class="empty">No trades.</p>')
    wide = len(by_symbol) == 1
    cards = []
    for symbol in sorted(by_symbol):
        trades = by_symbol[symbol]
        pnl = math.fsum(t.pnl for t in trades)
        drawn = min(len(trades), MAX_MARKERS)
        more = f", markers for {drawn:,} of them" if drawn < len(trades) else ""
        count = _count(len(trades), "trade")
        cards.append(
            f'<figure class="price"><figcaption><b>{_e(symbol)}</b> <span>{count}{more}, '
            f'P&amp;L <span class="{_sign_class(pnl)}">{_e(fmt_amount(pnl, sign=True))}</span></span>'
            "</figcaption>"
            f"{price_chart(symbol, result.curve.closes.get(symbol), trades, wide=wide)}</figure>"
        )
    legend = (
        '<p class="legend"><svg viewBox="0 0 12 12" class="key"><path class="entry long" d="M6,1 L1.5,9.5 '
        'L10.5,9.5 Z"/></svg> long entry <svg viewBox="0 0 12 12" class="key"><path class="entry short" '
        'd="M6,11 L1.5,2.5 L10.5,2.5 Z"/></svg> short entry <svg viewBox="0 0 12 12" class="key">'
        '<circle class="exit" cx="6" cy="6" r="3.5"/></svg> exit <svg viewBox="0 0 12 12" class="key">'
        '<rect class="exit open" x="2.5" y="2.5" width="7" height="7"/></svg> still open (last close) '
        f'<span class="swatch" style="background:{GAIN}"></span> won '
        f'<span class="swatch" style="background:{LOSS}"></span> lost. Hover a trade for its figures.</p>'
    )
    grid = "grid one" if wide else "grid"
    return _section("trades-on-price", legend + f'<div class="{grid}">{"".join(cards)}</div>')


def _rejections_section(metrics: dict[str, Any]) -> str:
    rejections = metrics.get("rejections") or {}
    counts = {str(k): int(v) for k, v in rejections.items() if _num(v) is not None} if isinstance(
        rejections, dict) else {}
    if not counts:
        return _section("rejections", '<p class="empty">No order was rejected by the risk engine.</p>')
    total = sum(counts.values())
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    bars = bars_chart([(k, float(v), f"{v:,}") for k, v in ordered], kind="rejections",
                      label="Rejections per reason code")
    rows = [
        [f'<th scope="row"><code>{_e(k)}</code></th>', _td(f"{v:,}", "num"),
         _td(fmt_pct(v / total, 1), "num")]
        for k, v in ordered
    ]
    note = "Orders the risk engine refused, by the reason code of the guard or rule that refused them."
    return _section("rejections", bars + _table(["Reason code", "Orders", "Share"], rows, "num-head"), note)


_PERCENTILES = ("p5", "p25", "p50", "p75", "p95")


def monte_carlo_section(mc: object) -> str | None:
    """The bootstrap distributions of ``ais.backtest.montecarlo.monte_carlo`` as a table of percentiles;
    None if ``mc`` is not of that shape (it is then shown as JSON in the run facts)."""
    if not isinstance(mc, dict) or not {"trades", "blocks"} <= mc.keys():
        return None
    rows = []
    for kind, label in (("trades", "Trades"), ("blocks", "Blocks of bars")):
        boot = mc.get(kind)
        if boot is None:
            rows.append([f'<th scope="row">{label}</th>', _td("nothing to resample", "hint"),
                         *([_td("")] * 8)])
            continue
        if not isinstance(boot, dict):
            return None
        what = (f"{fmt_int(boot.get('trades'))} closed trades" if kind == "trades"
                else f"{fmt_int(boot.get('bars'))} bars, blocks of {fmt_int(boot.get('block'))}")
        runs = fmt_int(boot.get("runs"))
        name = f'<th scope="row">{label}<div class="hint">{_e(what)}, {_e(runs)} runs</div></th>'
        for measure, title in (("final_return", "Final return"), ("max_drawdown", "Max drawdown")):
            dist = boot.get(measure)
            if not isinstance(dist, dict):
                return None
            loss = dist.get("probability_of_loss") if measure == "final_return" else None
            rows.append([
                name if measure == "final_return" else '<th scope="row"></th>', _td(title),
                *(_td(fmt_pct(dist.get(q), sign=measure == "final_return"), "num") for q in _PERCENTILES),
                _td(fmt_pct(dist.get("mean"), sign=True) if "mean" in dist else "", "num"),
                _td(fmt_pct(loss, 1) if loss is not None else "", "num"),
            ])
    head = ["Bootstrap", '<th class="text">Measure</th>', "5 %", "25 %", "Median", "75 %", "95 %", "Mean",
            "P(loss)"]
    note = (f"Seeded bootstrap (seed {_e(fmt_text(mc.get('seed')))}; the same seed gives the same numbers): "
            "closed trades' P&amp;L drawn with replacement, and blocks of consecutive bar returns.")
    return _section("monte-carlo", _table(head, rows, "num-head"), note)


def _trade_list_section(trades: Sequence[Trade]) -> str:
    if not trades:
        return _section("trade-list", '<p class="empty">No trades.</p>')
    rows = []
    for i, t in enumerate(trades[:MAX_TRADE_ROWS], 1):
        rows.append([
            _td(f"{i:,}", "num"), _td(t.symbol), _td(t.agent),
            _td("long" if t.direction > 0 else "short", "long" if t.direction > 0 else "short"),
            _td(fmt_amount(t.quantity), "num"),
            _td(fmt_ts(t.entry_ts)), _td(fmt_amount(t.entry_price), "num"),
            _td(fmt_ts(t.exit_ts)), _td(fmt_amount(t.exit_price), "num"),
            _td(fmt_amount(t.pnl, sign=True), _sign_class(t.pnl) or "num"),
            _td(fmt_pct(t.return_pct, sign=True), _sign_class(t.return_pct) or "num"),
            _td(fmt_amount(t.fees), "num"), _td("open" if t.open else "closed"),
        ])
    head = ["#", "Symbol", "Agent", "Side", "Quantity", "Entry", "Entry price", "Exit", "Exit price",
            "P&amp;L", "Return", "Fees", "Status"]
    shown = min(len(trades), MAX_TRADE_ROWS)
    more = ""
    if shown < len(trades):
        more = f" (the first {shown:,}; export them all with <code>--trades FILE.csv</code>)"
    body = (f"<details><summary>{_count(len(trades), 'trade')}{more}</summary>"
            f"{_table(head, rows, 'trades')}</details>")
    note = "Round trips in entry order; open trades are marked at the last close of the run."
    return _section("trade-list", body, note)


def _run_section(result: BacktestResult) -> str:
    s, m = result.summary, result.metrics
    rejections = m.get("rejections") or s.get("rejections") or {}
    facts: list[tuple[str, str]] = [
        ("Run id", fmt_text(s.get("run_id"))),
        ("Store", fmt_text(s.get("store"))),
        ("Mode", fmt_text(s.get("mode"))),
        ("End reason", fmt_text(s.get("end_reason"))),
        ("Risk state at the end", fmt_text(s.get("risk_state"))),
        ("Window", f"{fmt_ts(s.get('first_bar'))} – {fmt_ts(s.get('last_bar'))} UTC"
         if s.get("first_bar") is not None else f"{fmt_text(m.get('start'))} – {fmt_text(m.get('end'))}"),
        ("Bars", fmt_int(m.get("bars", len(result.curve)))),
        ("Bar length", fmt_seconds(m.get("bar_seconds"))),
        ("Symbols", fmt_int(len(result.curve.closes))),
    ]
    for key in ("cycles", "signals", "decisions", "orders", "fills", "refused_tokens", "agent_errors"):
        if key in s:
            facts.append((key.replace("_", " ").capitalize(), fmt_int(s.get(key))))
    if isinstance(rejections, dict):
        facts.append(("Rejections", fmt_int(sum(v for v in rejections.values() if _num(v) is not None))))
    if "reconcile_mismatches" in s:
        mismatches = s.get("reconcile_mismatches") or []
        facts.append(("Reconciliation mismatches", fmt_int(len(mismatches))))
    if "resumed" in s:
        facts.append(("Resumed", fmt_any(bool(s.get("resumed")))))
    rows = "".join(f'<tr><th scope="row">{_e(k)}</th><td>{_e(v)}</td></tr>' for k, v in facts)
    extra = "".join(
        f"<h3>{_e(key)}</h3><pre>{_e(json.dumps(_clean(value), indent=2, default=str))}</pre>"
        for key, value in result.extra.items()
        if not (key == "monte_carlo" and monte_carlo_section(value) is not None)
    )
    return _section("run", f'<table class="facts"><tbody>{rows}</tbody></table>{extra}')


# ---------------------------------------------------------------------------------------------- page

CSS = f"""
:root {{ color-scheme: light; --fg:#0f172a; --muted:#64748b; --line:#e2e8f0; --bg:#fff; --panel:#f8fafc; }}
* {{ box-sizing: border-box; }}
body {{ margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
  color:var(--fg); background:var(--bg); }}
header, main, footer {{ max-width:1100px; margin:0 auto; padding:0 20px; }}
header {{ padding-top:20px; }}
h1 {{ font-size:22px; margin:0 0 4px; }}
h2 {{ font-size:17px; margin:28px 0 10px; padding-bottom:4px; border-bottom:1px solid var(--line); }}
h3 {{ font-size:14px; margin:16px 0 6px; }}
.sub, .note, .hint, footer {{ color:var(--muted); }}
.note {{ margin:0 0 10px; }}
nav {{ margin:10px 0 0; display:flex; flex-wrap:wrap; gap:4px 14px; font-size:13px; }}
a {{ color:{LONG}; text-decoration:none; }}
a:hover {{ text-decoration:underline; }}
.cards {{ display:grid; grid-template-columns:repeat(auto-fill,minmax(125px,1fr)); gap:8px;
  margin-bottom:14px; }}
.card {{ background:var(--panel); border:1px solid var(--line); border-radius:6px; padding:8px 10px; }}
.card-label {{ color:var(--muted); font-size:12px; }}
.card-value {{ font-size:20px; font-weight:600; font-variant-numeric:tabular-nums; }}
table {{ border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }}
th, td {{ padding:4px 8px; border-bottom:1px solid var(--line); text-align:left; vertical-align:top; }}
thead th {{ font-size:12px; color:var(--muted); font-weight:600; white-space:nowrap; }}
table.num-head thead th:not(:first-child):not(.text) {{ text-align:right; }}
tbody th {{ font-weight:500; }}
td.num, td.pos, td.neg {{ text-align:right; white-space:nowrap; }}
table.metrics td.num, table.metrics td.pos, table.metrics td.neg {{ width:14em; }}
table.metrics th {{ width:14em; }}
.hint {{ font-size:12px; }}
.pos {{ color:{GAIN}; }} .neg {{ color:{LOSS}; }}
td.long {{ color:{LONG}; }} td.short {{ color:{SHORT}; }}
table.monthly td, table.monthly th {{ text-align:center; }}
table.monthly td {{ color:var(--fg); border:1px solid #fff; }}
table.monthly td.year {{ font-weight:600; }}
table.trades {{ font-size:12px; }}
details summary {{ cursor:pointer; color:{LONG}; margin-bottom:8px; }}
pre {{ background:var(--panel); border:1px solid var(--line); padding:8px; overflow:auto; font-size:12px; }}
code {{ font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12px; }}
.empty {{ color:var(--muted); font-style:italic; }}
svg.chart {{ width:100%; height:auto; display:block; }}
svg .axis text {{ font-size:11px; fill:var(--muted); }}
svg .grid {{ stroke:var(--line); stroke-width:1; }}
svg .tick, svg .frame {{ stroke:#94a3b8; stroke-width:1; }}
svg .line {{ fill:none; stroke-width:1.4; stroke-linejoin:round; }}
svg .nav {{ stroke:{LONG}; }} svg .nav-area {{ fill:{LONG}; fill-opacity:.08; }}
svg .baseline {{ stroke:#94a3b8; stroke-dasharray:4 3; }}
svg .dd {{ stroke:{LOSS}; stroke-width:1; }} svg .dd-area {{ fill:{LOSS}; fill-opacity:.22; }}
svg .dd-mark {{ fill:{LOSS}; }} svg .dd-label {{ font-size:11px; fill:{LOSS}; font-weight:600; }}
svg .price {{ stroke:#475569; stroke-width:1; }}
svg .entry.long {{ fill:{LONG}; }} svg .entry.short {{ fill:{SHORT}; }}
svg .exit {{ fill:#fff; stroke:#0f172a; stroke-width:1.2; }}
svg .trade .span {{ stroke-width:1.3; stroke-dasharray:3 2; }}
svg .trade.won .span {{ stroke:{GAIN}; }} svg .trade.lost .span {{ stroke:{LOSS}; }}
svg .bar.pos {{ fill:{GAIN}; }} svg .bar.neg {{ fill:{LOSS}; }}
svg.rejections .bar {{ fill:{SHORT}; }}
svg .bar-name, svg .bar-value {{ font-size:12px; fill:var(--fg); }}
svg .zero {{ stroke:#94a3b8; }}
.bar-chart {{ margin-bottom:10px; }}
.grid {{ display:grid; grid-template-columns:repeat(auto-fill,minmax(320px,1fr)); gap:12px; }}
.grid.one {{ grid-template-columns:1fr; }}
figure.price {{ margin:0; border:1px solid var(--line); border-radius:6px; padding:6px 6px 2px; }}
figure.price figcaption {{ font-size:12px; color:var(--muted); padding:0 4px; }}
figure.price figcaption b {{ color:var(--fg); font-size:13px; }}
.legend {{ font-size:12px; color:var(--muted); }}
.legend svg.key {{ width:12px; height:12px; vertical-align:-1px; }}
.swatch {{ display:inline-block; width:14px; height:3px; vertical-align:middle; margin-left:6px; }}
footer {{ margin:32px auto 24px; font-size:12px; }}
@media print {{ nav {{ display:none; }} section {{ break-inside:avoid; }} }}
"""


def render_report(result: BacktestResult, title: str | None = None) -> str:
    """The report of ``result`` as one self-contained HTML document."""
    from ais._version import __version__

    s, m, curve = result.summary, result.metrics, result.curve
    title = title or f"Backtest {s.get('run_id') or ''}".strip()
    window = (f"{fmt_text(m.get('start'))} – {fmt_text(m.get('end'))}" if m.get("start") else "no bars")
    sub = (f"{window} · {len(curve.closes):,} symbols · {fmt_int(m.get('bars', len(curve)))} bars of "
           f"{fmt_seconds(m.get('bar_seconds'))} · run {fmt_text(s.get('run_id'))}")
    monte = monte_carlo_section(result.extra["monte_carlo"]) if "monte_carlo" in result.extra else None
    shown = [*SECTIONS[:8], *(OPTIONAL_SECTIONS if monte else ()), *SECTIONS[8:]]
    nav = "".join(f'<a href="#{key}">{_e(label)}</a>' for key, label in shown)
    body = "".join((
        _metrics_section(m),
        _section("equity", equity_chart(curve.ts, curve.nav, curve.initial),
                 "Net asset value after each bar (open positions marked at the close); "
                 "dashed: initial equity."),
        _section("drawdown", drawdown_chart(curve.ts, curve.nav, curve.initial),
                 "How far the NAV is below its highest value so far; the deepest point is labelled."),
        _trades_on_price_section(result),
        _monthly_section(result.monthly),
        _agents_section(result.by_agent),
        _symbols_section(result),
        _rejections_section(m),
        monte or "",
        _trade_list_section(result.trades),
        _run_section(result),
    ))
    csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="AIS {_e(__version__)}">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{_e(title)}</h1><div class=\"sub\">{_e(sub)}</div><nav>{nav}</nav></header>"
        f"<main>{body}</main>"
        f"<footer>Written by AIS {_e(__version__)}. Figures are exact; charts are drawn from at most "
        f"{MAX_POINTS:,} points per series (the minimum and maximum of each pixel column).</footer>"
        "</body></html>\n"
    )


def write_report(result: BacktestResult, path: Path, title: str | None = None) -> None:
    """Write the report of ``result`` to ``path`` (replaced whole: a reader never sees half a file)."""
    text = render_report(result, title)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise AisError(f"cannot write the report {path}: {exc.strerror or exc}") from exc
