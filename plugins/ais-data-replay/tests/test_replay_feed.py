"""Replaying real candles: the clock, no look-ahead, gaps, the window, funding, the bundled markets."""

from __future__ import annotations

import bisect
import itertools
import random
from pathlib import Path

import pytest
from ais_data_replay.provider import ReplayProvider
from ais_data_replay.samples import bundled_names, symbol_from_filename
from ais_data_replay.series import Gap

from ais.domain.market import Candle
from ais.testing import make_instance, read_candles

BAR = 300_000
PAIRS = ("ADA/BTC", "DASH/BTC", "ETC/BTC", "ETH/BTC", "LTC/BTC", "TRX/BTC", "XLM/BTC", "XMR/BTC", "ZEC/BTC")


@pytest.fixture(scope="module")
def spot() -> ReplayProvider:
    return make_instance(ReplayProvider, "spot", bundled="binance-5m-2018-01")


def fresh_spot(**options: object) -> ReplayProvider:
    return make_instance(ReplayProvider, "spot", bundled="binance-5m-2018-01", **options)


def all_times(provider: ReplayProvider) -> list[int]:
    times, t = [], 0
    while (t := provider.ais_data_next_time(t)) is not None:  # type: ignore[assignment]
        times.append(t)
    return times


def test_bundled_market_names_its_symbols_from_files(spot: ReplayProvider) -> None:
    assert set(bundled_names()) >= {"binance-5m-2018-01", "binance-futures-2021-11"}
    assert spot.symbols == PAIRS
    assert spot.bar_ms == BAR  # inferred: no `bar` configured
    assert symbol_from_filename("XRP_USDT_USDT-8h-funding.csv") == "XRP/USDT:USDT"


def test_bundled_candles_are_the_recorded_ones(spot: ReplayProvider, shared_data: Path) -> None:
    for symbol in ("ETH/BTC", "ADA/BTC"):
        recorded = read_candles(shared_data / "binance-5m-2018-01" / f"{symbol.replace('/', '_')}.csv")
        assert spot.candles(symbol) == recorded


def test_symbols_filter() -> None:
    provider = fresh_spot(symbols=["ETH/BTC", "LTC/BTC"])
    assert provider.symbols == ("ETH/BTC", "LTC/BTC")
    first = provider.ais_data_next_time(0)
    assert first is not None
    snap = provider.ais_data_snapshot(PAIRS, first)
    assert snap is not None
    assert set(snap.candles) <= {"ETH/BTC", "LTC/BTC"}


def test_clock_walks_every_close_time_once(spot: ReplayProvider) -> None:
    times = all_times(spot)
    expected = sorted({c.ts + BAR for s in PAIRS for c in spot.candles(s)})
    assert times == expected
    assert spot.ais_data_next_time(times[-1]) is None


def test_next_time_after_a_jump_matches_a_binary_search(spot: ReplayProvider) -> None:
    times = all_times(spot)
    rng = random.Random(3)
    queries = [rng.randrange(times[0] - 10 * BAR, times[-1] + 10 * BAR) for _ in range(300)]
    queries += [times[5], times[5] - 1, times[100], times[4], 0, times[-1]]  # back and forth
    for q in queries:
        i = bisect.bisect_right(times, q)
        assert spot.ais_data_next_time(q) == (times[i] if i < len(times) else None), q


def test_snapshot_holds_exactly_the_bar_closing_now(spot: ReplayProvider) -> None:
    by_close = {s: {c.ts + BAR: c for c in spot.candles(s)} for s in PAIRS}
    for now in all_times(spot):
        snap = spot.ais_data_snapshot(PAIRS, now)
        assert snap is not None
        assert snap.ts == now
        assert snap.bar_ms == BAR
        expected = {s: bars[now] for s, bars in by_close.items() if now in bars}
        assert snap.candles == expected


def test_snapshot_never_holds_a_bar_closing_after_now() -> None:
    """Also under a wall clock: any ``now_ms``, forwards, backwards, between bars."""
    provider = fresh_spot()
    times = all_times(provider)
    rng = random.Random(11)
    seen = 0
    for _ in range(2000):
        now = rng.choice(times) + rng.choice((0, 0, -1, 1, 7_000, -BAR // 2))
        snap = provider.ais_data_snapshot(PAIRS, now)
        assert snap is not None
        for symbol, candle in snap.candles.items():
            assert candle.ts + BAR <= now, (symbol, candle, now)
            assert candle.ts + BAR == now  # the bar that closes now, not an older one
            seen += 1
    assert seen > 1000


def test_between_bars_there_is_no_candle(spot: ReplayProvider) -> None:
    first = spot.ais_data_next_time(0)
    assert first is not None
    snap = spot.ais_data_snapshot(("ETH/BTC",), first + 60_000)
    assert snap is not None
    assert snap.candles == {}


def test_unknown_symbols_give_none(spot: ReplayProvider) -> None:
    assert spot.ais_data_snapshot(("NO/SUCH",), 1_516_000_000_000) is None


def independent_gaps(candles: list[Candle], symbol: str) -> list[Gap]:
    return [
        Gap(symbol, a.ts + BAR, (b.ts - a.ts) // BAR - 1)
        for a, b in itertools.pairwise(candles)
        if b.ts - a.ts != BAR
    ]


def test_gaps_of_the_real_data(spot: ReplayProvider, shared_data: Path) -> None:
    expected: list[Gap] = []
    for symbol in PAIRS:
        expected += independent_gaps(read_candles(shared_data / "binance-5m-2018-01" /
                                                  f"{symbol.replace('/', '_')}.csv"), symbol)
    assert spot.gaps() == expected
    assert {g.symbol for g in expected} == {"ADA/BTC", "DASH/BTC", "TRX/BTC", "XMR/BTC", "ZEC/BTC"}
    assert Gap("ADA/BTC", 1_516_017_600_000, 33) in expected  # the long one: 33 bars (2 h 45 min)


def test_the_bar_after_a_gap_is_flagged() -> None:
    provider = fresh_spot()
    flagged: list[tuple[str, int]] = []
    for now in all_times(provider):
        snap = provider.ais_data_snapshot(PAIRS, now)
        assert snap is not None
        assert snap.gaps <= set(snap.candles), "only a symbol with a bar now can be flagged"
        flagged += [(s, snap.candles[s].ts) for s in sorted(snap.gaps)]
    expected = sorted((g.symbol, g.missing_from + g.bars * BAR) for g in provider.gaps())
    assert sorted(flagged) == expected
    assert len(flagged) == 17


def test_start_end_window() -> None:
    provider = fresh_spot(start="2018-01-15", end="2018-01-16T06:00:00Z")
    start, end = 1_515_974_400_000, 1_516_082_400_000
    times = all_times(provider)
    assert times[0] == start + BAR  # the first bar opens at start and is seen when it closes
    assert times[-1] == end  # the last bar closes at end
    eth = provider.candles("ETH/BTC")
    assert eth[0].ts == start
    assert eth[-1].ts + BAR == end
    assert len(eth) == (end - start) // BAR
    assert all(g.missing_from >= start for g in provider.gaps())


def test_window_accepts_toml_dates_and_offsets() -> None:
    from datetime import date, datetime, timedelta, timezone

    a = fresh_spot(start=date(2018, 1, 15), end=datetime(2018, 1, 16, 7, tzinfo=timezone(timedelta(hours=1))))
    b = fresh_spot(start="2018-01-15T00:00:00", end="2018-01-16T06:00:00+00:00")
    assert all_times(a) == all_times(b)


def test_funding_is_the_latest_rate_known_now(shared_data: Path) -> None:
    provider = make_instance(ReplayProvider, "perp", bundled="binance-futures-2021-11")
    assert provider.symbols == ("XRP/USDT:USDT",)
    rows = (shared_data / "binance-futures-2021-11" / "XRP_USDT_USDT-8h-funding.csv").read_text().split()[1:]
    rates = [(int(t), float(r)) for t, r in (row.split(",") for row in rows)]
    times = all_times(provider)
    checked = 0
    for now in times:
        snap = provider.ais_data_snapshot(("XRP/USDT:USDT",), now)
        assert snap is not None
        known = [r for r in rates if r[0] <= now]
        if not known:
            assert "XRP/USDT:USDT" not in snap.funding
            continue
        assert tuple(snap.funding["XRP/USDT:USDT"]) == known[-1]
        checked += 1
    assert checked > 1000
    # under a wall clock too, and going back in time
    def rate_at(now: int) -> int:
        snap = provider.ais_data_snapshot(("XRP/USDT:USDT",), now)
        assert snap is not None
        return snap.funding["XRP/USDT:USDT"].ts

    assert rate_at(rates[40][0]) == rates[40][0]
    assert rate_at(rates[3][0] - 1) == rates[2][0]


def test_funding_from_a_configured_file(tmp_path: Path) -> None:
    candles = tmp_path / "XRP.csv"
    candles.write_text("timestamp,open,high,low,close,volume\n" + "".join(
        f"{1_000_000 + i * 60_000},1,1,1,1,1\n" for i in range(10)
    ))
    funding = tmp_path / "funding.csv"
    funding.write_text("timestamp,funding_rate\n1000000,0.0001\n1240000,-0.0003\n")
    provider = make_instance(
        ReplayProvider, "x", files={"XRP/USDT": str(candles)}, funding={"XRP/USDT": str(funding)}
    )
    assert provider.ais_data_snapshot(("XRP/USDT",), 1_180_000).funding["XRP/USDT"].rate == 0.0001
    assert provider.ais_data_snapshot(("XRP/USDT",), 1_240_000).funding["XRP/USDT"].rate == -0.0003
