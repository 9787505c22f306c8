"""The HTML backtest report (``ais.backtest.report``): one well-formed, self-contained file with every
section, every string escaped, every figure equal to the result's, undefined figures shown as "—",
and long series reduced so a 500,000-bar run stays small."""

from __future__ import annotations

import html
import math
import re
from array import array
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from ais.backtest.equity import EquityCurve
from ais.backtest.metrics import attribution, compute_metrics, monthly_returns
from ais.backtest.report import (
    DASH,
    MAX_MARKERS,
    MAX_POINTS,
    SECTIONS,
    downsample,
    drawdown_series,
    fmt_amount,
    fmt_pct,
    fmt_ratio,
    fmt_seconds,
    render_report,
    write_report,
)
from ais.backtest.run import BacktestResult
from ais.backtest.trades import Trade
from ais.errors import AisError

T0 = 1_514_764_800_000  # 2018-01-01T00:00:00Z
HOUR = 3_600_000
VOID = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source"}


def make_curve(navs: list[float], closes: dict[str, list[float]], bar_ms: int = HOUR,
               initial: float = 1000.0) -> EquityCurve:
    n = len(navs)
    curve = EquityCurve(initial, ts=array("q", range(T0, T0 + n * bar_ms, bar_ms)), nav=array("d", navs),
                        gross=array("d", [100.0, 100.0, 0.0]) * (n // 3) + array("d", [100.0] * (n % 3)))
    for symbol, prices in closes.items():
        ts = array("q", range(T0, T0 + len(prices) * bar_ms, bar_ms))
        curve.closes[symbol] = (ts, array("d", prices))
    return curve


def trade(symbol: str, agent: str, direction: int, i: int, j: int, prices: list[float], *,
          is_open: bool = False) -> Trade:
    entry, exit_ = prices[i], prices[j]
    fees = 0.1
    return Trade(symbol, agent, direction, 2.0, T0 + i * HOUR, entry, T0 + j * HOUR, exit_,
                 direction * (exit_ - entry) * 2.0 - fees, fees, is_open)


def make_result(*, agent: str = "fast_momentum", symbol: str = "ETH/BTC", reason: str = "ORDER_RATE",
                run_id: str = "20180301T000000-abc", store: str = "/tmp/events.sqlite",
                extra: dict[str, Any] | None = None) -> BacktestResult:
    """59 days of hourly bars over January and February 2018: NAV 1000 -> 1100 at the end of January
    (with a dip) -> 1250 at the end of February; two symbols, four trades by two agents."""
    n = 59 * 24
    jan = 31 * 24
    navs = []
    for i in range(n):
        if i < jan:
            base = 1000.0 + 100.0 * (i + 1) / jan
            navs.append(base - (60.0 if 200 <= i < 260 else 0.0))
        else:
            navs.append(1100.0 + 150.0 * (i - jan + 1) / (n - jan))
    a = [100.0 + 10 * math.sin(i / 40) for i in range(n)]
    b = [20.0 + 0.01 * i for i in range(n)]
    curve = make_curve(navs, {symbol: a, "LTC/BTC": b})
    trades = [
        trade(symbol, agent, 1, 10, 70, a),
        trade(symbol, "slow_momentum", -1, 100, 180, a),
        trade("LTC/BTC", agent, 1, 300, 500, b),
        trade("LTC/BTC", "slow_momentum", -1, 900, n - 1, b, is_open=True),
    ]
    metrics = compute_metrics(curve, trades, fees=0.4, traded_notional=2000.0,
                              rejections={reason: 7, "MIN_LIQUIDITY": 3})
    summary = {
        "run_id": run_id, "mode": "backtest", "resumed": False, "end_reason": "completed", "store": store,
        "cycles": n, "signals": 321, "decisions": 54, "orders": 9, "fills": 8, "rejections": {reason: 7},
        "refused_tokens": 0, "agent_errors": 0, "fees": 0.4, "initial_equity": 1000.0,
        "final_equity": navs[-1], "risk_state": "active", "reconcile_mismatches": [],
        "first_bar": T0, "last_bar": T0 + (n - 1) * HOUR,
    }
    return BacktestResult(summary=summary, metrics=metrics, by_agent=attribution(trades, "agent"),
                          by_symbol=attribution(trades, "symbol"), monthly=monthly_returns(curve),
                          trades=trades, curve=curve, extra=extra or {})


class Page(HTMLParser):
    """Checks that every element is closed in order and collects text, headings, ids and attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.h2: list[str] = []
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "style" in self.stack:
            return
        self.text.append(data)
        if self.stack and self.stack[-1] == "h2":
            self.h2.append(data)


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    return page


def metric_cells(text: str) -> dict[str, str]:
    """data-key -> the shown value of the metrics table."""
    rows = re.findall(r'<tr data-key="([^"]+)"><th[^>]*>.*?</th><td[^>]*>(.*?)</td>', text)
    return {key: html.unescape(value) for key, value in rows}


@pytest.fixture(scope="module")
def result() -> BacktestResult:
    return make_result()


@pytest.fixture(scope="module")
def report(result: BacktestResult) -> str:
    return render_report(result)


def test_the_page_is_well_formed(report: str) -> None:
    page = parse(report)
    assert report.startswith("<!DOCTYPE html>")
    assert page.errors == []
    assert page.stack == []
    names = [tag for tag, _ in page.tags]
    for once in ("html", "head", "body", "style", "main"):
        assert names.count(once) == 1, once
    assert ("meta", {"charset": "utf-8"}) in page.tags


def test_every_section_is_present_in_order(report: str) -> None:
    page = parse(report)
    assert page.h2 == [label for _, label in SECTIONS]
    ids = [attrs["id"] for tag, attrs in page.tags if tag == "section"]
    assert ids == [key for key, _ in SECTIONS]
    links = [attrs["href"] for tag, attrs in page.tags if tag == "a" and attrs["href"].startswith("#")]
    assert {f"#{key}" for key, _ in SECTIONS} <= set(links)


def test_nothing_is_fetched_from_outside(report: str) -> None:
    page = parse(report)
    names = {tag for tag, _ in page.tags}
    assert not names & {"script", "link", "img", "iframe", "object", "embed", "video", "audio", "source"}
    for tag, attrs in page.tags:
        assert "src" not in attrs, tag
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        if "href" in attrs:
            assert attrs["href"].startswith("#"), attrs
    assert "@import" not in report
    assert "url(" not in report
    # the only URL is the SVG namespace, which is never fetched
    assert set(re.findall(r"[a-z]+://[^\s\"'<>)]*", report)) == {"http://www.w3.org/2000/svg"}
    csp = next(a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv"))
    assert "default-src 'none'" in csp


def test_every_string_of_the_run_is_escaped() -> None:
    nasty = '<script>alert("x")</script>&co'
    result = make_result(
        agent=nasty, symbol="A&B/<i>", reason="<b>BAD</b>", run_id='run"><img src=x>',
        store="/tmp/<evil>&.sqlite", extra={"monte_carlo": {"<k>": "</pre><script>"}},
    )
    text = render_report(result, title="</title><script>")
    page = parse(text)
    assert page.errors == []
    assert "<script" not in text
    assert "<img" not in text
    assert "<b>BAD" not in text
    assert "A&B/<i>" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;co" in text
    assert "A&amp;B/&lt;i&gt;" in text
    assert "&lt;b&gt;BAD&lt;/b&gt;" in text
    assert "/tmp/&lt;evil&gt;&amp;.sqlite" in text
    visible = "".join(page.text)
    raws = (nasty, "A&B/<i>", "<b>BAD</b>", 'run"><img src=x>', "/tmp/<evil>&.sqlite", "</title><script>")
    for raw in raws:
        assert raw in visible  # shown as text, exactly
    names = {tag for tag, _ in page.tags}
    assert "script" not in names
    assert "img" not in names


def test_metrics_show_the_result_figures(result: BacktestResult, report: str) -> None:
    m = result.metrics
    cells = metric_cells(report)
    assert m["total_return"] == pytest.approx(0.25)
    assert cells["total_return"] == "25.00%"
    assert cells["final_equity"] == "1,250.00"
    assert cells["initial_equity"] == "1,000.00"
    assert cells["bars"] == f"{59 * 24:,}"
    assert cells["bar_seconds"] == "1 h"
    assert cells["start"] == "2018-01-01T00:00:00Z"
    assert cells["cagr"] == f"{m['cagr'] * 100:,.2f}%"
    assert cells["volatility"] == f"{m['volatility'] * 100:,.2f}%"
    assert cells["sharpe"] == f"{m['sharpe']:.2f}"
    assert cells["sortino"] == f"{m['sortino']:.2f}"
    assert cells["max_drawdown"] == f"{m['max_drawdown'] * 100:.2f}%"
    assert cells["max_drawdown_duration_days"] == f"{m['max_drawdown_duration_days']:.2f} days"
    assert cells["calmar"] == f"{m['calmar']:.2f}"
    assert cells["trades"] == "3"
    assert cells["open_trades"] == "1"
    assert cells["win_rate"] == f"{m['win_rate'] * 100:.2f}%"
    assert cells["exposure_time"] == f"{m['exposure_time'] * 100:.2f}%"
    assert cells["turnover"] == f"{m['turnover']:.2f}×"
    assert cells["fees"] == "0.400000"
    assert cells["rejections"] == "10 (2 reason codes)"
    # the headline cards repeat the table
    for key in ("total_return", "sharpe", "max_drawdown", "trades"):
        card = re.search(rf'data-key="{key}"[^>]*><div class="card-label">[^<]*</div>'
                         r'<div class="card-value[^"]*">([^<]*)</div>', report)
        assert card is not None and html.unescape(card.group(1)) == cells[key]


def test_tables_show_the_result_figures(result: BacktestResult, report: str) -> None:
    visible = " ".join(parse(report).text)
    # monthly returns: January +10 %, February 1250/1100 - 1, the year +25 %
    assert result.monthly == pytest.approx({"2018-01": 0.1, "2018-02": 1250 / 1100 - 1})
    monthly = report.split('id="monthly"')[1].split("</section>")[0]
    cells = re.findall(r"<td class=\"num[^\"]*\" style=\"background:rgba\([^)]*\)\">([^<]*)</td>", monthly)
    assert cells == ["+10.00%", f"+{(1250 / 1100 - 1) * 100:.2f}%", "+25.00%"]
    # per agent and per symbol: every P&L, exactly as the result has it
    agents = report.split('id="agents"')[1].split("</section>")[0]
    for name, row in result.by_agent.items():
        assert f">{name}</th>" in agents
        assert fmt_amount(row["pnl"], sign=True) in agents
    symbols = report.split('id="symbols"')[1].split("</section>")[0]
    for name, row in result.by_symbol.items():
        assert html.escape(name) in symbols
        assert fmt_amount(row["pnl"], sign=True) in symbols
    # rejections by reason, most first
    rejections = report.split('id="rejections"')[1].split("</section>")[0]
    codes = re.findall(r"<code>([^<]*)</code></th><td class=\"num\">([^<]*)</td>", rejections)
    assert codes == [("ORDER_RATE", "7"), ("MIN_LIQUIDITY", "3")]
    # run facts
    for fact in ("20180301T000000-abc", "/tmp/events.sqlite", "completed", "321", "2018-01-01 00:00"):
        assert fact in visible
    # the trade list has one row per trade
    trades = report.split('id="trade-list"')[1].split("</section>")[0]
    assert trades.count("<tr>") == len(result.trades) + 1


def test_trades_are_marked_on_price(result: BacktestResult, report: str) -> None:
    section = report.split('id="trades-on-price"')[1].split("</section>")[0]
    charts = re.findall(r'<svg class="chart price-chart".*?</svg>', section)
    assert len(charts) == 2  # one per traded symbol
    for chart in charts:
        assert re.search(r'<polyline class="line price" points="[^"]+"', chart)
    assert section.count('class="trade ') == len(result.trades)
    assert section.count('class="entry long"') == 2 + 1  # two trades, and the legend
    assert section.count('class="entry short"') == 2 + 1
    assert section.count('<rect class="exit open"') == 1 + 1  # the open trade, and the legend


def test_monte_carlo_distributions_get_their_own_section() -> None:
    from ais.backtest.montecarlo import monte_carlo

    result = make_result()
    mc = monte_carlo(result, runs=50, seed=1)
    result.extra["monte_carlo"] = mc
    result.extra["other"] = {"x": math.nan}
    text = render_report(result)
    page = parse(text)
    assert page.errors == []
    labels = [label for _, label in SECTIONS]
    assert page.h2 == [*labels[:8], "Monte Carlo", *labels[8:]]
    assert '<a href="#monte-carlo">' in text
    section = text.split('id="monte-carlo"')[1].split("</section>")[0]
    shown = [html.unescape(c) for c in re.findall(r'<td class="num">([^<]*)</td>', section)]
    trades = mc["trades"]
    assert shown[:7] == [
        *(fmt_pct(trades["final_return"][q], sign=True) for q in ("p5", "p25", "p50", "p75", "p95")),
        fmt_pct(trades["final_return"]["mean"], sign=True),
        fmt_pct(trades["final_return"]["probability_of_loss"], 1),
    ]
    assert fmt_pct(mc["blocks"]["max_drawdown"]["p95"]) in shown
    facts = text.split('id="run"')[1].split("</section>")[0]
    assert "<h3>other</h3>" in facts  # anything else is shown as JSON
    assert '"x": null' in html.unescape(facts)
    assert "<h3>monte_carlo</h3>" not in facts


def test_undefined_figures_show_a_dash() -> None:
    result = make_result()
    result.metrics.update(sharpe=None, sortino=math.nan, calmar=math.inf, profit_factor=math.inf,
                          cagr=None, win_rate=math.nan, new_figure=None, other_figure=math.nan)
    del result.metrics["turnover"]
    result.by_agent["fast_momentum"]["win_rate"] = None
    text = render_report(result)
    cells = metric_cells(text)
    assert cells["sharpe"] == DASH
    assert cells["sortino"] == DASH
    assert cells["cagr"] == DASH
    assert cells["win_rate"] == DASH
    assert cells["turnover"] == DASH
    assert cells["new_figure"] == DASH
    assert cells["other_figure"] == DASH
    assert cells["profit_factor"] == "∞"
    visible = " ".join(parse(text).text)
    for word in ("None", "nan", "NaN", "inf", "undefined"):
        assert not re.search(rf"\b{word}\b", visible), word
    assert not re.search(r"\b(nan|inf)\b", text, re.IGNORECASE)


def test_an_empty_run_renders() -> None:
    curve = EquityCurve(1000.0)
    metrics = compute_metrics(curve, [])
    result = BacktestResult(summary={"run_id": "r", "store": "s.sqlite"}, metrics=metrics, by_agent={},
                            by_symbol={}, monthly={}, trades=[], curve=curve)
    text = render_report(result)
    page = parse(text)
    assert page.errors == []
    assert page.h2 == [label for _, label in SECTIONS]
    assert "<polyline" not in text
    visible = " ".join(page.text)
    assert "No trades." in visible
    assert "No order was rejected" in visible
    assert not re.search(r"\b(None|nan|NaN|undefined)\b", visible)


def test_a_long_run_is_reduced_for_drawing(tmp_path: Path) -> None:
    """500,000 one-minute bars: every chart keeps at most MAX_POINTS points, the first and last bar
    and the extremes are kept, and the file stays under 2 MB."""
    n = 500_000
    navs = [1000.0 + 50.0 * math.sin(i / 5000) + (i % 97) * 0.01 for i in range(n)]
    navs[123_456] = 700.0  # a crash of one bar must still show
    prices = [100.0 + 20.0 * math.sin(i / 20_000) for i in range(n)]
    curve = make_curve(navs, {"BTC/USDT": prices}, bar_ms=60_000)
    trades = [Trade("BTC/USDT", "a" if k % 2 else "b", 1 if k % 3 else -1, 1.0, T0 + i * 60_000, prices[i],
                    T0 + (i + 150) * 60_000, prices[i + 150], prices[i + 150] - prices[i], 0.01)
              for k, i in enumerate(range(0, n - 200, 200))]
    daily = make_curve(navs[::1440], {}, bar_ms=1440 * 60_000)  # the months, read from daily closes
    result = BacktestResult(summary={"run_id": "long", "store": "x"},
                            metrics=compute_metrics(curve, trades), by_agent=attribution(trades, "agent"),
                            by_symbol=attribution(trades, "symbol"), monthly=monthly_returns(daily),
                            trades=trades, curve=curve)
    assert len(result.monthly) == 12
    path = tmp_path / "long.html"
    write_report(result, path)
    text = path.read_text(encoding="utf-8")
    assert path.stat().st_size < 2_000_000
    assert parse(text).errors == []
    polylines = re.findall(r'<polyline class="([^"]+)" points="([^"]+)"', text)
    assert {cls for cls, _ in polylines} == {"line nav", "line dd", "line price"}
    for _, points in polylines:
        coords = points.split()
        assert 100 < len(coords) <= MAX_POINTS
        assert all(math.isfinite(float(v)) for c in coords for v in c.split(","))
    section = text.split('id="trades-on-price"')[1].split("</section>")[0]
    assert section.count('class="trade ') == MAX_MARKERS
    assert f"markers for {MAX_MARKERS:,} of them" in section
    nav_points = [tuple(map(float, c.split(","))) for c in dict(polylines)["line nav"].split()]
    # the one-bar crash is the lowest point drawn (largest y in SVG coordinates)
    lowest = max(nav_points, key=lambda p: p[1])
    others = sorted(y for _, y in nav_points)[-2]
    assert lowest[1] - others > 50


def test_downsample_keeps_ends_and_extremes_in_order() -> None:
    xs = list(range(100_000))
    ys = [math.sin(i / 1000) for i in xs]
    ys[54_321] = 9.0
    ys[12_345] = -9.0
    points = downsample(xs, ys, 500)
    assert len(points) <= 2 * 500 + 2
    assert points[0] == (0, ys[0])
    assert points[-1] == (99_999, ys[-1])
    assert (54_321, 9.0) in points
    assert (12_345, -9.0) in points
    assert [x for x, _ in points] == sorted({x for x, _ in points})
    short = downsample([1, 2, 3], [1.0, math.nan, 3.0], 500)
    assert short == [(1, 1.0), (3, 3.0)]


def test_drawdown_series_matches_the_metric(result: BacktestResult) -> None:
    series = drawdown_series(result.curve.nav, result.curve.initial)
    assert len(series) == len(result.curve)
    assert max(series) == 0.0
    assert -min(series) == pytest.approx(result.metrics["max_drawdown"])


def test_formats() -> None:
    assert fmt_pct(0.1234) == "12.34%"
    assert fmt_pct(-0.05, sign=True) == "-5.00%"
    assert fmt_pct(None) == DASH
    assert fmt_pct(math.nan) == DASH
    assert fmt_ratio(1.234) == "1.23"
    assert fmt_ratio(math.inf) == "∞"
    assert fmt_ratio(None) == DASH
    assert fmt_amount(12345.678) == "12,345.68"
    assert fmt_amount(1.00600400) == "1.0060"
    assert fmt_amount(0.000130357, sign=True) == "+0.000130357"
    assert fmt_amount(0.0) == "0.0000"
    assert fmt_seconds(300) == "5 min"
    assert fmt_seconds(3600) == "1 h"
    assert fmt_seconds(86_400) == "1 d"
    assert fmt_seconds(0) == DASH


def test_write_report_replaces_the_file_and_reports_a_bad_path(tmp_path: Path) -> None:
    result = make_result()
    path = tmp_path / "r.html"
    path.write_text("old")
    write_report(result, path, title="My run")
    text = path.read_text(encoding="utf-8")
    assert "<title>My run</title>" in text
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]
    with pytest.raises(AisError, match="cannot write the report"):
        write_report(result, tmp_path / "missing" / "r.html")
