"""The regime detector on real and built candles: indicator values, classification, warm-up, gaps."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ais_agents_intel.regime import REGIMES, RegimeDetector
from pydantic import ValidationError

from ais.context import AgentContext, SharedState
from ais.domain.market import Candle, MarketSnapshot
from ais.testing import FakeMarket, make_instance, read_candles, synthetic_candles

BAR = 300_000
PAIRS = ("ADA", "DASH", "ETC", "ETH", "LTC", "TRX", "XLM", "XMR", "ZEC")
#: must be the strings of ais_arbitration_weighted.scoring.Regime, which reads them (not imported: the
#: plugins are independent distributions)
ARBITRATION_REGIMES = ("trending_up", "trending_down", "ranging", "high_volatility")

Publication = tuple[int, str, str, Any]  # (snapshot ts, topic, symbol, value)


def run(
    detectors: list[RegimeDetector], market: FakeMarket, symbols: list[str] | None = None
) -> list[Publication]:
    """Drive the detectors over the market in one shared state; every change published, in order."""
    now = [0]
    published: list[Publication] = []

    def record(topic: str, symbol: str, value: Any) -> None:
        published.append((now[0], topic, symbol, value))

    shared = SharedState(on_change=record)
    for snap in market.snapshots(symbols):
        now[0] = snap.ts
        for detector in detectors:
            assert detector.ais_agent_signals(snap, AgentContext(detector.name, shared)) == ()
    return published


def load(shared_data: Path, pair: str) -> list[Candle]:
    return read_candles(shared_data / "binance-5m-2018-01" / f"{pair}_BTC.csv")


# --- an independent reference: numpy over each gap-free segment of the whole series -------------------


def reference(candles: list[Candle], short: int, long: int, trend: int) -> list[tuple[float, ...] | None]:
    """Per bar: (short vol, long vol, slope, R²) from numpy over the bar's gap-free segment, or None
    before the windows are full (``long`` returns and ``trend`` closes since the segment began)."""
    np = pytest.importorskip("numpy")
    windows = np.lib.stride_tricks.sliding_window_view
    out: list[tuple[float, ...] | None] = []
    starts = [0] + [i for i in range(1, len(candles)) if candles[i].ts - candles[i - 1].ts != BAR]
    x = np.arange(trend, dtype=float)
    xc = x - x.mean()
    sxx = float(np.dot(xc, xc))
    for a, b in itertools.pairwise([*starts, len(candles)]):
        first = max(long, trend - 1)  # the first bar (in the segment) with both windows full
        if b - a <= first:
            out += [None] * (b - a)
            continue
        lc = np.log(np.array([c.close for c in candles[a:b]], dtype=float))
        r = np.diff(lc)  # r[j - 1] is the return into bar j
        bars = np.arange(first, b - a)
        short_vol = windows(r, short).std(axis=1)[bars - short]
        long_vol = windows(r, long).std(axis=1)[bars - long]
        y = windows(lc, trend)[bars - trend + 1]
        yc = y - y.mean(axis=1, keepdims=True)
        sxy = yc @ xc
        syy = (yc * yc).sum(axis=1)
        slope = sxy / sxx
        r2 = np.divide(sxy * sxy, sxx * syy, out=np.zeros_like(syy), where=syy > 0)
        out += [None] * first
        out += [tuple(map(float, v)) for v in zip(short_vol, long_vol, slope, r2, strict=True)]
    return out


def classify(
    previous: str | None, values: tuple[float, ...], vol_ratio: float, min_r2: float, hysteresis: float
) -> str:
    """The documented rule, restated from the values alone."""
    short_vol, long_vol, slope, r2 = values
    keep = 1.0 - hysteresis
    limit = vol_ratio * keep if previous == "high_volatility" else vol_ratio
    if long_vol > 0 and short_vol >= limit * long_vol:
        return "high_volatility"
    if previous == "trending_up" and slope > 0 and r2 >= min_r2 * keep:
        return "trending_up"
    if previous == "trending_down" and slope < 0 and r2 >= min_r2 * keep:
        return "trending_down"
    if r2 >= min_r2 and slope != 0:
        return "trending_up" if slope > 0 else "trending_down"
    return "ranging"


def expected_publications(
    candles: list[Candle], symbol: str, short: int = 24, long: int = 288, trend: int = 72,
    vol_ratio: float = 2.0, min_r2: float = 0.7, hysteresis: float = 0.25,
) -> list[Publication]:  # fmt: skip
    out: list[Publication] = []
    current: str | None = None
    for candle, values in zip(candles, reference(candles, short, long, trend), strict=True):
        regime = None if values is None else classify(current, values, vol_ratio, min_r2, hysteresis)
        if regime != current:
            out.append((candle.ts + BAR, "regime", symbol, regime))
            current = regime
    return out


def test_the_regimes_are_the_arbitration_regimes() -> None:
    assert REGIMES == ARBITRATION_REGIMES


@pytest.mark.parametrize("pair", PAIRS)
def test_indicators_match_numpy_over_the_whole_series(shared_data: Path, pair: str) -> None:
    """Short and long volatility of log returns, slope and R² of log close on time, at every bar of
    every pair (gapped pairs: per gap-free segment, as the detector resets at a gap)."""
    candles = load(shared_data, pair)
    symbol = f"{pair}/BTC"
    detector = make_instance(RegimeDetector, "regime")
    context = AgentContext("regime", SharedState())
    market = FakeMarket({symbol: candles})
    expected = reference(candles, 24, 288, 72)
    checked = 0
    for snap, ref in zip(market.snapshots(), expected, strict=True):
        detector.ais_agent_signals(snap, context)
        got = detector.indicators(symbol)
        if ref is None:
            assert got is None, f"indicators before the warm-up at {snap.ts}"
            continue
        assert got is not None
        for name, value, want in zip(("short vol", "long vol", "slope", "R²"), got, ref, strict=True):
            assert abs(value - want) <= 1e-9 * abs(want), (pair, snap.ts, name, value, want)
        checked += 1
    assert checked > len(candles) * 0.7


@pytest.mark.parametrize("pair", PAIRS)
def test_published_regimes_follow_the_rule(shared_data: Path, pair: str) -> None:
    """Every change the detector publishes (and only those) is what the documented rule gives on the
    numpy reference values, hysteresis and gap withdrawals included."""
    candles = load(shared_data, pair)
    symbol = f"{pair}/BTC"
    published = run([make_instance(RegimeDetector, "regime")], FakeMarket({symbol: candles}))
    assert published == expected_publications(candles, symbol)


def test_each_regime_is_published_on_the_2018_01_market(shared_data: Path) -> None:
    counts: Counter[str | None] = Counter()
    per_pair: dict[str, set[str | None]] = {}
    for pair in PAIRS:
        symbol = f"{pair}/BTC"
        market = FakeMarket({symbol: load(shared_data, pair)})
        published = run([make_instance(RegimeDetector, "regime")], market)
        per_pair[pair] = {value for *_, value in published}
        counts.update(value for *_, value in published)
    assert set(counts) - {None} == set(ARBITRATION_REGIMES)
    for pair, seen in per_pair.items():
        assert {"ranging", "trending_up", "trending_down"} <= seen, pair
    assert counts["high_volatility"] >= 5


def regime_bars(shared_data: Path, pair: str, start: datetime, end: datetime) -> Counter[str | None]:
    """How many bars closing in [start, end) spent in each regime."""
    symbol = f"{pair}/BTC"
    detector = make_instance(RegimeDetector, "regime")
    shared = SharedState()
    context = AgentContext("regime", shared)
    lo, hi = start.timestamp() * 1000, end.timestamp() * 1000
    out: Counter[str | None] = Counter()
    for snap in FakeMarket({symbol: load(shared_data, pair)}).snapshots():
        detector.ais_agent_signals(snap, context)
        if lo <= snap.ts < hi:
            out[shared.get("regime", symbol)] += 1
    return out


def test_the_sell_off_is_trending_down(shared_data: Path) -> None:
    """2018-01-16 06:00 to 01-17 18:00 UTC, the crash: every pair has a drawdown of 13-26 % against
    BTC in it, in jagged legs with rebounds between them. Every pair is seen trending down, down far
    more often than up, some high volatility too; ranging stays the most common regime (the rebounds)."""
    start, end = datetime(2018, 1, 16, 6, tzinfo=UTC), datetime(2018, 1, 17, 18, tzinfo=UTC)
    total: Counter[str | None] = Counter()
    for pair in PAIRS:
        bars = regime_bars(shared_data, pair, start, end)
        assert bars["trending_down"] > 0, (pair, bars)
        total.update(bars)
    assert total["trending_down"] > 3 * total["trending_up"], total
    assert total["high_volatility"] > 0
    assert total.most_common(1)[0][0] == "ranging"


def test_warm_up_publishes_nothing_until_the_windows_are_full(shared_data: Path) -> None:
    candles = load(shared_data, "ETH")
    detector = make_instance(RegimeDetector, "regime", short=12, long=100, trend=150)
    published = run([detector], FakeMarket({"ETH/BTC": candles}))
    assert detector.config.warm_up_bars == 150
    first_ts = published[0][0]
    assert first_ts == candles[149].ts + BAR, "first regime on the 150th bar (the regression's window)"
    assert published[0][3] in ARBITRATION_REGIMES
    other = make_instance(RegimeDetector, "regime", short=12, long=100, trend=50)
    published = run([other], FakeMarket({"ETH/BTC": candles}))
    assert published[0][0] == candles[100].ts + BAR, "100 returns need 101 closes"


def gapped(n: int = 700, missing: int = 400, seed: int = 4) -> list[Candle]:
    candles = synthetic_candles(n, bar_ms=BAR, seed=seed)
    return candles[:missing] + candles[missing + 1 :]


def test_gap_withdraws_the_regime_and_restarts_warm_up() -> None:
    candles = gapped()
    options = {"short": 5, "long": 30, "trend": 20}
    detector = make_instance(RegimeDetector, "regime", **options)
    published = run([detector], FakeMarket({"X": candles}, bar_ms=BAR))
    gap_close = candles[400].ts + BAR  # the bar after the missing one
    before = [p for p in published if p[0] < gap_close]
    after = [p for p in published if p[0] >= gap_close]
    assert before and before[-1][3] is not None
    assert after[0] == (gap_close, "regime", "X", None), "the stale regime is withdrawn at the gap"
    assert after[1][0] == candles[400 + 30].ts + BAR, "published again once 30 returns follow the gap"
    assert published == expected_publications(candles, "X", **options)
    # the indicators after the gap come from the bars after it only
    ref = reference(candles, 5, 30, 20)[-1]
    got = detector.indicators("X")
    assert got is not None and ref is not None
    assert got == pytest.approx(ref, rel=1e-9)


def test_gap_is_noticed_even_when_the_provider_does_not_flag_it() -> None:
    candles = gapped()
    detector = make_instance(RegimeDetector, "regime", short=5, long=30, trend=20)
    shared = SharedState()
    context = AgentContext("regime", shared)
    for bar in candles[:401]:
        detector.ais_agent_signals(MarketSnapshot(ts=bar.ts + BAR, candles={"X": bar}, bar_ms=BAR), context)
    assert detector.indicators("X") is None
    assert shared.get("regime", "X") is None
    assert detector.regime("X") is None


def test_a_repeated_bar_is_consumed_once() -> None:
    candles = synthetic_candles(200, bar_ms=BAR, seed=5)
    once = make_instance(RegimeDetector, "regime", short=5, long=30, trend=20)
    twice = make_instance(RegimeDetector, "regime", short=5, long=30, trend=20)
    context = AgentContext("regime", SharedState())
    for bar in candles:
        snap = MarketSnapshot(ts=bar.ts + BAR, candles={"X": bar}, bar_ms=BAR)
        once.ais_agent_signals(snap, context)
        twice.ais_agent_signals(snap, context)
        twice.ais_agent_signals(MarketSnapshot(ts=bar.ts + BAR + 1, candles={"X": bar}, bar_ms=BAR), context)
    assert once.indicators("X") == twice.indicators("X")
    assert once.indicators("X") is not None


def test_symbols_are_independent_on_real_data(shared_data: Path) -> None:
    data = {f"{p}/BTC": load(shared_data, p) for p in ("ETH", "ADA", "TRX", "LTC")}
    together = run([make_instance(RegimeDetector, "regime")], FakeMarket(data))
    for symbol, candles in data.items():
        alone = run([make_instance(RegimeDetector, "regime")], FakeMarket({symbol: candles}))
        assert [p for p in together if p[2] == symbol] == alone


def test_several_instances_publish_to_their_own_topics(shared_data: Path) -> None:
    candles = load(shared_data, "XLM")
    default = make_instance(RegimeDetector, "regime")
    fast = make_instance(RegimeDetector, "fast_regime", short=6, long=72, trend=24, topic="regime_fast")
    published = run([default, fast], FakeMarket({"XLM/BTC": candles}))
    slow_seq = [p for p in published if p[1] == "regime"]
    fast_seq = [p for p in published if p[1] == "regime_fast"]
    assert len(fast_seq) > len(slow_seq) > 10
    assert [(t, "regime", s, v) for t, _, s, v in slow_seq] == expected_publications(candles, "XLM/BTC")
    assert [(t, "regime", s, v) for t, _, s, v in fast_seq] == expected_publications(
        candles, "XLM/BTC", short=6, long=72, trend=24
    )


def test_hysteresis_reduces_flapping(shared_data: Path) -> None:
    candles = load(shared_data, "ETH")
    market = FakeMarket({"ETH/BTC": candles})
    plain = run([make_instance(RegimeDetector, "regime", hysteresis=0.0)], market)
    damped = run([make_instance(RegimeDetector, "regime", hysteresis=0.25)], market)
    assert len(damped) < len(plain)
    assert plain == expected_publications(candles, "ETH/BTC", hysteresis=0.0)


def test_no_signals_and_a_flat_price_is_ranging() -> None:
    flat = [Candle(1_515_542_400_000 + i * BAR, 1.0, 1.0, 1.0, 1.0, 10.0) for i in range(60)]
    detector = make_instance(RegimeDetector, "regime", short=5, long=30, trend=20)
    published = run([detector], FakeMarket({"X": flat}, bar_ms=BAR))
    assert published == [(flat[30].ts + BAR, "regime", "X", "ranging")]
    assert detector.indicators("X") == (0.0, 0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"short": 30, "long": 20}, "`long` must be greater than `short` (got short = 30, long = 20)"),
        ({"short": 24, "long": 24}, "`long` must be greater than `short`"),
        ({"short": 1}, "greater than or equal to 2"),
        ({"trend": 2}, "greater than or equal to 3"),
        ({"vol_ratio": 1.0}, "greater than 1"),
        ({"min_r2": 1.0}, "less than 1"),
        ({"min_r2": 0.0}, "greater than 0"),
        ({"hysteresis": 1.0}, "less than 1"),
        ({"hysteresis": -0.1}, "greater than or equal to 0"),
        ({"topic": ""}, "at least 1 character"),
        ({"window": 3}, "Extra inputs"),
    ],
)
def test_config_validation(options: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        RegimeDetector.Config.model_validate(options)
    assert fragment in str(err.value)
