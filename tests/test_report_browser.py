"""The HTML report of a real backtest, opened in headless Chromium (Debian's ``/usr/bin/chromium``
driven by Python playwright): it renders with no console error, fetches nothing but itself, shows
every section, draws every chart with finite coordinates, and never shows "None", "NaN" or
"undefined". A screenshot of each page is left in the test's temporary folder.

Needs ``apt-get install chromium`` and ``pip install playwright`` (never ``playwright install``);
skipped with the reason when either is missing."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import run_ais, write_backtest_config

from ais.backtest.report import OPTIONAL_SECTIONS, SECTIONS, fmt_pct, write_report
from ais.backtest.run import run_backtest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SYMBOLS = ["ETH/BTC", "LTC/BTC", "XMR/BTC", "ZEC/BTC", "DASH/BTC", "ETC/BTC", "ADA/BTC", "XLM/BTC", "TRX/BTC"]

# CI (.ci/run) installs both and sets AIS_REQUIRE_BROWSER=1: there a missing browser is a failure,
# not a quiet skip.
_REQUIRED = os.environ.get("AIS_REQUIRE_BROWSER") == "1"
if not CHROMIUM.exists():
    message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if _REQUIRED:
        raise RuntimeError(message)
    pytest.skip(message, allow_module_level=True)
if _REQUIRED:
    import playwright.sync_api as sync_api
else:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Python playwright is not installed (pip install playwright)"
    )


def write_config(folder: Path, symbols: list[str]) -> Path:
    """The default configuration's market and momentum agents as a backtest, with guards that reject
    some orders, the paper exchange, the bundled market (real Binance 5-minute candles)."""
    return write_backtest_config(folder, symbols=symbols)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def cli_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """``ais backtest --report`` on the nine bundled pairs over their 20 days, with Monte Carlo."""
    folder = tmp_path_factory.mktemp("report-cli")
    config = write_config(folder, SYMBOLS)
    report = folder / "report.html"
    result = run_ais("backtest", "--config", str(config), "--report", str(report), "--json",
                     "--monte-carlo", "200", "--seed", "7", secret=False)
    assert result.returncode == 0, result.stderr
    return report, json.loads(result.stdout)


# Inside the page: every chart's drawn geometry, measured by the browser itself.
CHARTS_JS = """
() => [...document.querySelectorAll('svg.chart')].map(svg => {
  const box = svg.getBoundingClientRect();
  const lines = [...svg.querySelectorAll('polyline, path.area')].map(el => {
    const raw = el.getAttribute(el.tagName === 'polyline' ? 'points' : 'd') || '';
    const numbers = raw.split(/[\\s,MLZ]+/).filter(s => s.length).map(Number);
    return {tag: el.tagName, numbers: numbers.length, finite: numbers.every(Number.isFinite),
            length: el.getTotalLength(), width: el.getBBox().width};
  });
  const bars = [...svg.querySelectorAll('rect.bar')].map(el => el.getBBox().width);
  return {kind: svg.dataset.chart, label: svg.getAttribute('aria-label'), width: box.width,
          height: box.height, lines, bars};
})
"""


def open_report(browser: Any, path: Path, screenshot: Path) -> dict[str, Any]:
    """Load the report like a user would; return what the page did and showed."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    failed: list[str] = []
    page.on("console", lambda msg: errors.append(f"console {msg.type}: {msg.text}")
            if msg.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("request", lambda request: requests.append(request.url))
    page.on("requestfailed", lambda request: failed.append(f"{request.url}: {request.failure}"))
    url = path.resolve().as_uri()
    response = page.goto(url, wait_until="load")
    assert response is None or response.ok
    seen = {
        "url": url,
        "title": page.title(),
        "headings": page.locator("h2").all_inner_texts(),
        "text": page.inner_text("body"),
        "charts": page.evaluate(CHARTS_JS),
        "metrics": dict(page.evaluate(
            "() => [...document.querySelectorAll('table.metrics tr')].map(r => [r.dataset.key, "
            "r.querySelector('td').innerText])")),
        "height": page.evaluate("() => document.body.scrollHeight"),
    }
    page.screenshot(path=str(screenshot), full_page=True)
    page.close()
    seen.update(errors=errors, requests=requests, failed=failed)
    return seen


def check_rendered(seen: dict[str, Any], headings: list[str]) -> None:
    assert seen["errors"] == []
    assert seen["failed"] == []
    assert seen["requests"] == [seen["url"]]  # the file itself, nothing else
    assert seen["headings"] == headings
    for word in ("None", "NaN", "undefined", "nan", "inf", "Infinity"):
        assert not re.search(rf"\b{word}\b", seen["text"]), word
    assert seen["height"] > 2000
    charts = seen["charts"]
    kinds = [c["kind"] for c in charts]
    assert kinds.count("line-chart") == 2  # equity, drawdown
    for chart in charts:
        assert chart["width"] > 100 and chart["height"] > 15, chart["label"]
        if chart["kind"] in ("line-chart", "price-chart"):
            assert chart["height"] > 100, chart["label"]
            polylines = [line for line in chart["lines"] if line["tag"] == "polyline"]
            assert polylines, chart["label"]
            for line in chart["lines"]:
                assert line["numbers"] >= 4 and line["finite"], (chart["label"], line)
                assert line["length"] > 0 and line["width"] > 0, (chart["label"], line)
        else:
            assert chart["bars"], chart["label"]
            assert all(w > 0 for w in chart["bars"]), chart["label"]


def test_the_cli_report_renders_in_chromium(browser: Any, cli_report: tuple[Path, dict[str, Any]],
                                            tmp_path: Path) -> None:
    path, result = cli_report
    shot = tmp_path / "report.png"
    seen = open_report(browser, path, shot)
    labels = [label for _, label in SECTIONS]
    check_rendered(seen, [*labels[:8], *(label for _, label in OPTIONAL_SECTIONS), *labels[8:]])
    assert shot.stat().st_size > 50_000
    assert result["run_id"] in seen["title"]
    charts = seen["charts"]
    traded = {s for s, row in result["by_symbol"].items() if row["trades"] + row["open_trades"]}
    assert len(traded) > 1
    assert sorted(c["label"].split(":")[0] for c in charts if c["kind"] == "price-chart") == sorted(traded)
    bar_charts = [c["label"] for c in charts if c["kind"].startswith("bar-chart")]
    assert bar_charts == ["P&L per agent", "Rejections per reason code"]
    # the page shows the figures the run printed
    metrics = result["metrics"]
    assert metrics["rejections"], "the configuration is meant to have some orders rejected"
    assert seen["metrics"]["total_return"] == fmt_pct(metrics["total_return"])
    assert seen["metrics"]["max_drawdown"] == fmt_pct(metrics["max_drawdown"])
    assert seen["metrics"]["sharpe"] == f"{metrics['sharpe']:,.2f}"
    assert seen["metrics"]["trades"] == f"{metrics['trades']:,}"
    for code in metrics["rejections"]:
        assert code in seen["text"]
    for agent in result["by_agent"]:
        assert agent in seen["text"]


def test_a_one_symbol_report_renders_in_chromium(browser: Any, tmp_path: Path) -> None:
    """One traded symbol draws one wide price chart; written by ``write_report`` in process."""
    config = write_config(tmp_path, ["ETH/BTC"])
    result = run_backtest(str(config), store=str(tmp_path / "one.sqlite"))
    assert {t.symbol for t in result.trades} == {"ETH/BTC"}
    path = tmp_path / "one.html"
    write_report(result, path, title="ETH/BTC momentum")
    seen = open_report(browser, path, tmp_path / "one.png")
    check_rendered(seen, [label for _, label in SECTIONS])
    assert seen["title"] == "ETH/BTC momentum"
    prices = [c for c in seen["charts"] if c["kind"] == "price-chart"]
    assert len(prices) == 1
    assert prices[0]["width"] > 900  # the whole width, not a small multiple

