"""The ledger: what a mark derives when read (drawdown, unrealized P&L) equals the per-mark arithmetic,
and a new day starts at the last NAV of the day before."""

from __future__ import annotations

import random
from array import array

import pytest

from ais.domain.market import Candle, MarketSnapshot
from ais.domain.orders import Fill, Side
from ais.portfolio.ledger import Ledger

MINUTE = 60_000
START = 1_515_542_400_000  # 2018-01-10 00:00 UTC


def bar(ts: int, close: float) -> MarketSnapshot:
    return MarketSnapshot(ts, {"A/USD": Candle(ts - MINUTE, close, close, close, close, 1e9)}, bar_ms=MINUTE)


def fill(n: int, side: Side, quantity: float, price: float, ts: int) -> Fill:
    return Fill(f"t{n}", f"c{n}", "paper", "A/USD", side, quantity, price, 0.0, ts)


def random_walk(seed: int, marks: int) -> tuple[Ledger, list[float], list[float]]:
    """A ledger marked ``marks`` times along a seeded walk, buying and selling now and then; returns it,
    the NAV after each mark (from its path) and the unrealized P&L recomputed by hand after each."""
    rng = random.Random(seed)
    ledger = Ledger(10_000.0)
    ts_path, nav_path, gross_path = array("q"), array("d"), array("d")
    ledger.record_path(ts_path, nav_path, gross_path)
    price, unrealized = 100.0, []
    for i in range(marks):
        ts = START + (i + 1) * MINUTE
        price *= 1.0 + rng.gauss(0.0, 0.01)
        if rng.random() < 0.05:
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            ledger.apply_fill(fill(i, side, rng.choice((1.0, 5.0, 20.0)), price, ts))
        ledger.mark(bar(ts, price))
        unrealized.append(
            sum((price - h.avg_price) * h.quantity for h in ledger.holdings.values() if h.quantity)
        )
        assert ledger.unrealized == pytest.approx(unrealized[-1], abs=1e-9)
    ledger.flush_path()
    assert list(ts_path) == [START + (i + 1) * MINUTE for i in range(marks)]
    return ledger, list(nav_path), unrealized


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_max_drawdown_equals_the_deepest_fall_below_the_running_peak(seed: int) -> None:
    ledger, navs, _ = random_walk(seed, 3_000)
    peak, deepest = ledger.initial_cash, 0.0
    for nav in navs:
        peak = max(peak, nav)
        deepest = max(deepest, 1.0 - nav / peak)
    assert deepest > 0.0  # the walk does fall
    assert ledger.max_drawdown == deepest  # the same arithmetic on the same floats: exactly equal
    assert ledger.max_drawdown == deepest  # reading it again changes nothing
    assert ledger.peak_nav == max([ledger.initial_cash, *navs])


def test_snapshot_reports_drawdown_and_unrealized_of_the_last_mark() -> None:
    ledger, navs, unrealized = random_walk(4, 500)
    snap = ledger.snapshot()
    assert snap.nav == navs[-1]
    assert snap.unrealized_pnl == pytest.approx(unrealized[-1], abs=1e-9)
    assert snap.drawdown == pytest.approx(1.0 - navs[-1] / ledger.peak_nav)


def test_a_new_day_starts_at_the_last_nav_of_the_day_before() -> None:
    ledger = Ledger(1_000.0)
    ledger.apply_fill(fill(0, Side.BUY, 10.0, 100.0, START))
    day_end = START + 24 * 60 * MINUTE  # midnight after the 10th
    ledger.mark(bar(day_end - MINUTE, 101.0))  # 23:59 on the 10th
    assert ledger.day_start_nav == 1_000.0  # the run's first day starts at its start
    revision = ledger.revision
    ledger.mark(bar(day_end - 0, 99.0))  # midnight: a new day
    assert ledger.day_start_nav == 1_010.0  # the NAV of 23:59
    assert ledger.revision > revision
    assert ledger.snapshot().daily_pnl == pytest.approx(990.0 - 1_010.0)
    revision = ledger.revision
    ledger.mark(bar(day_end + MINUTE, 98.0))  # the same day, below the peak: nothing moves the levels
    assert ledger.revision == revision
    assert ledger.day_start_nav == 1_010.0


def test_the_path_is_packed_at_each_new_day_and_on_flush() -> None:
    """``record_path``'s arrays hold every mark before the current day; ``flush_path`` adds the rest,
    values unchanged (the ms times through struct's native 8-byte integers)."""
    ledger = Ledger(1_000.0)
    ts_path, nav_path, gross_path = array("q"), array("d"), array("d")
    ledger.record_path(ts_path, nav_path, gross_path)
    ledger.apply_fill(fill(0, Side.BUY, 2.0, 100.0, START))
    day = 1_440
    times = [START + (i + 1) * MINUTE for i in range(day + 10)]  # the last 11 marks fall on day two
    prices = [100.0 + i / 7 for i in range(len(times))]
    for ts, price in zip(times, prices, strict=True):
        ledger.mark(bar(ts, price))
    assert len(ts_path) == day - 1  # packed when the first mark of day two came
    ledger.flush_path()
    ledger.flush_path()  # nothing left: adds nothing
    assert list(ts_path) == times
    assert list(nav_path) == [1_000.0 - 200.0 + 2.0 * p for p in prices]
    assert list(gross_path) == [2.0 * p for p in prices]
