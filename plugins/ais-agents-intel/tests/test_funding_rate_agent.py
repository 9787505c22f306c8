"""The funding-rate agent on the recorded XRP perpetual (5-minute candles and 8-hourly funding)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from ais_agents_intel.funding import MIN_STD, FundingRateAgent
from intel_markets import FUTURES, XRP, FundingMarket, read_funding
from pydantic import ValidationError

from ais.context import AgentContext, SharedState
from ais.domain.market import Candle, FundingRate, MarketSnapshot
from ais.domain.signals import Direction, Signal
from ais.testing import FakeMarket, make_instance, read_candles, synthetic_candles

BAR = 300_000
HOUR = 3_600_000
INTERVAL = 8 * HOUR


def run(agent: FundingRateAgent, market: FakeMarket, symbols: list[str] | None = None) -> list[Signal]:
    context = AgentContext(agent.name, SharedState())
    out: list[Signal] = []
    for snap in market.snapshots(symbols):
        out.extend(agent.ais_agent_signals(snap, context))
    return out


@pytest.fixture(scope="module")
def candles(shared_data: Path) -> list[Candle]:
    return read_candles(shared_data / FUTURES / "XRP_USDT_USDT-5m.csv")


@pytest.fixture(scope="module")
def funding(shared_data: Path) -> list[FundingRate]:
    return read_funding(shared_data / FUTURES / "XRP_USDT_USDT-8h-funding.csv")


@pytest.fixture(scope="module")
def xrp(candles: list[Candle], funding: list[FundingRate]) -> FundingMarket:
    return FundingMarket({XRP: candles}, {XRP: funding})


# --- an independent reference -------------------------------------------------------------------------


def stats(rates: list[float]) -> tuple[float, float, float]:
    """(mean, population std, z of the newest) by numpy."""
    np = pytest.importorskip("numpy")
    array = np.asarray(rates, dtype=float)
    mean, std = float(array.mean()), float(array.std())
    return mean, std, (rates[-1] - mean) / std if std > MIN_STD else 0.0


def close(value: float, want: float, rel: float = 1e-9, floor: float = 0.0) -> bool:
    return abs(value - want) <= rel * abs(want) + floor


def expected_signals(
    candles: list[Candle], rates: list[FundingRate], *, window: int, mode: str = "contrarian",
    threshold: float = 0.0005, entry_z: float = 2.0, exit_z: float = 0.5, horizon: int = 96,
    liquidity_window: int = 12, liquidity_ref: float = 1.0,
) -> list[tuple[int, Direction, float, float, float, str]]:  # fmt: skip
    """The documented rule restated over gap-free candles: (ts, direction, confidence, expected return,
    liquidity, the indicator part of the rationale) of every signal."""
    seen: list[float] = []  # rates counted, in order
    last_ts = None
    view = None
    target = None
    figures = (0.0, 0.0, 0.0, 0.0, 0.0)
    past: list[tuple[int, float]] = []  # (due bar index, move) of earlier LONG/SHORT signals
    out = []
    total = 0.0
    for i, candle in enumerate(candles):
        now = candle.ts + BAR
        latest = [r for r in rates if r.ts <= now]
        if latest and latest[-1].ts != last_ts:
            last_ts = latest[-1].ts
            rate = latest[-1].rate
            seen.append(rate)
            total += rate
            if len(seen) >= window:
                mean, std, z = stats(seen[-window:])
                side = (rate > 0) - (rate < 0)
                paid_z = side * z
                strength = max(abs(rate) / threshold, paid_z / entry_z, 0.0) if side else 0.0
                crowded = Direction.SHORT if side > 0 else Direction.LONG
                if side and (strength >= 1.0 or (view is crowded and paid_z >= exit_z)):
                    target = crowded  # extreme, or still elevated while held
                else:
                    target = Direction.FLAT
                figures = (rate, mean, std, z, strength)
        if target is None or i + 1 < liquidity_window or target is view:
            continue
        view = target
        rate, mean, _, z, strength = figures
        settled = [move for due, move in past if due <= i]
        n, hits = len(settled), sum(1 for m in settled if m > 0)
        hit_rate = (hits + 1) / (n + 2)
        carry = abs(rate) * horizon * BAR / INTERVAL
        if view is Direction.FLAT:
            confidence, expected = hit_rate * (1 - math.tanh(strength)), 0.0
        else:
            confidence = hit_rate * math.tanh(strength)
            mean_move = max(0.0, sum(settled) / n) if n else carry
            expected = carry if mode == "carry" else mean_move
            j = i + horizon
            if j < len(candles):
                d = 1 if view is Direction.LONG else -1
                paid = cumulative_at(candles, rates, j) - total
                past.append((j, d * (candles[j].close / candles[i].close - 1) - d * paid))
        volumes = [c.close * c.volume for c in candles[i + 1 - liquidity_window : i + 1]]
        liquidity = 1 - math.exp(-math.fsum(volumes) / liquidity_window / liquidity_ref)
        text = f"funding {rate:+.4%}/8h, mean {mean:+.4%}, z {z:+.2f} over {window}"
        out.append((now, view, confidence, expected, liquidity, text))
    return out


def cumulative_at(candles: list[Candle], rates: list[FundingRate], j: int) -> float:
    """Sum of the funding rates paid up to the close of bar ``j``."""
    return math.fsum(r.rate for r in rates if r.ts <= candles[j].ts + BAR)


# --- indicator values -------------------------------------------------------------------------------


@pytest.mark.parametrize("window", [4, 8, 21])
def test_funding_stats_match_numpy_over_the_whole_file(funding: list[FundingRate], window: int) -> None:
    """All 91 rates, served beside hourly bars (8 bars per funding interval, each new rate counted once):
    after every bar the window's mean, std and z equal numpy's over the last ``window`` rates."""
    start = funding[0].ts // HOUR * HOUR
    hours = (funding[-1].ts - start) // HOUR + 2
    bars = synthetic_candles(hours, start_ms=start, bar_ms=HOUR, seed=3)
    market = FundingMarket({XRP: bars}, {XRP: funding}, bar_ms=HOUR)
    agent = make_instance(FundingRateAgent, "f", window=window, entry_z=1.5, exit_z=0.5)
    context = AgentContext("f", SharedState())
    rates = [r.rate for r in funding]
    checked = set()
    for snap in market.snapshots():
        agent.ais_agent_signals(snap, context)
        k = sum(1 for r in funding if r.ts <= snap.ts)  # rates known at this bar
        got = agent.indicators(XRP)
        if k < window:
            assert got is None, f"indicators before {window} rates at {snap.ts}"
            continue
        mean, std, z = stats(rates[k - window : k])
        assert got is not None
        assert close(got[0], mean), ("mean", k)
        assert close(got[1], std, floor=1e-15), ("std", k)
        assert close(got[2], z, floor=1e-12), ("z", k)
        checked.add(k)
    assert checked == set(range(window, len(funding) + 1))


def test_funding_stats_on_the_5_minute_bars(funding: list[FundingRate], xrp: FundingMarket) -> None:
    """The same on the recorded 5-minute candles: 12 rates are paid while they run (from 2021-11-18)."""
    agent = make_instance(FundingRateAgent, "f", window=6)
    context = AgentContext("f", SharedState())
    rates = [r.rate for r in funding]
    windows_checked = set()
    for snap in xrp.snapshots():
        agent.ais_agent_signals(snap, context)
        k = sum(1 for r in funding if r.ts <= snap.ts)
        got = agent.indicators(XRP)
        if k < 6:
            assert got is None
            continue
        want = stats(rates[k - 6 : k])
        assert got is not None
        assert all(close(g, w, floor=1e-15) for g, w in zip(got, want, strict=True)), (k, got, want)
        windows_checked.add(k)
    assert windows_checked == set(range(6, 13))


# --- signals on the recorded data ---------------------------------------------------------------------

CASES = [
    {"window": 6},
    {"window": 6, "mode": "carry", "threshold": 0.00015},
    {"window": 4, "entry_z": 1.5, "horizon": 192, "liquidity_ref": 1e6},
    {"window": 8, "mode": "carry", "exit_z": 0.0, "liquidity_window": 48, "liquidity_ref": 5e6},
]


@pytest.mark.parametrize("options", CASES)
def test_signals_match_the_documented_rule(
    candles: list[Candle], funding: list[FundingRate], xrp: FundingMarket, options: dict[str, object]
) -> None:
    """Directions, times, confidence, expected return and liquidity recomputed independently from the
    candles, the rates and the agent's own earlier signals."""
    agent = make_instance(FundingRateAgent, "f", **options)
    signals = run(agent, xrp)
    expected = expected_signals(candles, funding, **options)  # type: ignore[arg-type]
    assert signals, "the agent emits signals on the recorded XRP perpetual"
    assert [(s.ts, s.direction) for s in signals] == [(e[0], e[1]) for e in expected]
    for s, (_, _, confidence, expected_return, liquidity, text) in zip(signals, expected, strict=True):
        s.validate()
        assert close(s.confidence, confidence), s
        assert close(s.expected_return, expected_return, floor=1e-15), s
        assert close(s.liquidity, liquidity), s
        assert s.rationale.startswith(text), (s.rationale, text)
        assert s.horizon_s == int(options.get("horizon", 96)) * 300  # type: ignore[call-overload]
        assert s.agent == "f"


def test_first_signals_on_xrp(xrp: FundingMarket) -> None:
    """The worked example of docs/agents/funding-rate.md."""
    agent = make_instance(FundingRateAgent, "funding", window=6, liquidity_ref=1e6)
    signals = run(agent, xrp)
    got = [(s.ts, s.direction.value, round(s.confidence, 4), round(s.expected_return, 6)) for s in signals]
    assert got == [
        (1637337900000, "flat", 0.4013, 0.0),  # 2021-11-19 16:05, the 6th rate: warm
        (1637366700000, "short", 0.4034, 0.00013),  # 2021-11-20 00:05, +0.0130 %: z +2.24
        (1637395200000, "flat", 0.4013, 0.0),  # 2021-11-20 08:00, back to +0.0100 %
        (1637510400000, "short", 0.5085, 0.005598),  # 2021-11-21 16:00, +0.0199 %: z +2.01
    ]
    assert signals[1].rationale == (
        "funding +0.0130%/8h, mean +0.0105%, z +2.24 over 6, crowded longs: contrarian short, "
        "carry 0.0130% in 1 periods, hit rate 0/0"
    )
    assert signals[3].rationale.endswith("hit rate 1/1")
    assert agent.track_record(XRP) == (1, 1)


# --- warm-up, gaps, repeats ---------------------------------------------------------------------------


def hourly_market(rates: list[float], bars: int) -> tuple[list[Candle], list[FundingRate]]:
    """Hourly candles and one funding rate every 8 hours, the first paid at the first bar's close."""
    candles = synthetic_candles(bars, bar_ms=HOUR, seed=9)
    t0 = candles[0].ts + HOUR
    return candles, [FundingRate(t0 + i * INTERVAL, r) for i, r in enumerate(rates)]


def test_warm_up_needs_window_rates_and_liquidity_bars() -> None:
    rates = [1e-4, 1e-4, 5e-4, 1e-4, 1e-4, 1e-4]
    candles, funding = hourly_market(rates, 48)
    market = FundingMarket({"P": candles}, {"P": funding}, bar_ms=HOUR)
    # window full at the 3rd rate (bar 17), liquidity full at bar 30: the first signal on bar 30
    options = {"window": 3, "entry_z": 1.0, "exit_z": 0.5, "horizon": 8}
    agent = make_instance(FundingRateAgent, "f", liquidity_window=30, **options)
    signals = run(agent, market)
    assert signals[0].ts == candles[29].ts + HOUR
    # liquidity warm long before the window: the first signal comes with the 3rd rate (bar 17)
    agent = make_instance(FundingRateAgent, "f", liquidity_window=5, **options)
    signals = run(agent, market)
    assert signals[0].ts == funding[2].ts
    assert signals[0].direction is Direction.SHORT, "5 bp is the threshold: extreme, crowded longs"


def test_a_missing_candle_resets_liquidity_not_the_funding_window(
    candles: list[Candle], funding: list[FundingRate]
) -> None:
    missing = next(i for i, c in enumerate(candles) if c.ts + BAR == 1637384400000)  # 2021-11-20 05:00
    gapped = candles[:missing] + candles[missing + 1 :]
    full_agent = make_instance(FundingRateAgent, "f", window=6)
    gap_agent = make_instance(FundingRateAgent, "f", window=6)
    context = AgentContext("f", SharedState())
    full_market = FundingMarket({XRP: candles}, {XRP: funding})
    gap_market = FundingMarket({XRP: gapped}, {XRP: funding})
    gap_signals: list[Signal] = []
    for snap in full_market.snapshots():
        full_agent.ais_agent_signals(snap, context)
        gap_snap = gap_market.ais_data_snapshot((XRP,), snap.ts)
        assert gap_snap is not None
        if not gap_snap.candles:
            continue  # the missing bar
        gap_signals.extend(gap_agent.ais_agent_signals(gap_snap, context))
        # the rate window is keyed by funding observations: a missing bar does not shift it
        assert gap_agent.indicators(XRP) == full_agent.indicators(XRP)
    full_signals = run(make_instance(FundingRateAgent, "f", window=6), full_market)
    resumed = gapped[missing + 11].ts + BAR  # 12 bars of quote volume after the hole
    again = [s for s in gap_signals if s.ts == resumed]
    assert [s.direction for s in again] == [Direction.SHORT], "the view in force is emitted again"
    others = [s for s in gap_signals if s.ts != resumed]
    assert [(s.ts, s.direction) for s in others] == [(s.ts, s.direction) for s in full_signals]
    # until the re-emitted signal's own outcome settles (8 h later), everything else is identical
    settles = resumed + 96 * BAR
    assert [s for s in others if s.ts < settles] == [s for s in full_signals if s.ts < settles]


def test_a_missed_funding_rate_resets_the_window(candles: list[Candle], funding: list[FundingRate]) -> None:
    dropped = [r for r in funding if r.ts != 1637424000007]  # 2021-11-20 16:00
    agent = make_instance(FundingRateAgent, "f", window=3, entry_z=1.2, exit_z=0.5)
    context = AgentContext("f", SharedState())
    rates = [r.rate for r in dropped]
    for snap in FundingMarket({XRP: candles}, {XRP: dropped}).snapshots():
        agent.ais_agent_signals(snap, context)
        k = sum(1 for r in dropped if r.ts <= snap.ts)
        got = agent.indicators(XRP)
        # the 9th rate comes 16 h after the 8th: the window starts again with it, full at the 11th
        if k < 3 or 9 <= k < 11:
            assert got is None, k
        else:
            assert got is not None
            assert all(close(g, w, floor=1e-15) for g, w in zip(got, stats(rates[k - 3 : k]), strict=True))


def test_a_repeated_bar_is_consumed_once(candles: list[Candle], funding: list[FundingRate]) -> None:
    once = make_instance(FundingRateAgent, "f", window=6)
    twice = make_instance(FundingRateAgent, "f", window=6)
    context = AgentContext("f", SharedState())
    a: list[Signal] = []
    b: list[Signal] = []
    for snap in FundingMarket({XRP: candles}, {XRP: funding}).snapshots():
        a.extend(once.ais_agent_signals(snap, context))
        b.extend(twice.ais_agent_signals(snap, context))
        again = MarketSnapshot(snap.ts + 1, snap.candles, {}, {}, snap.funding, snap.bar_ms)
        b.extend(twice.ais_agent_signals(again, context))
    assert a == b and a


def test_a_rate_stamped_after_the_bar_is_not_used() -> None:
    candle = Candle(1_637_193_600_000, 1.0, 1.0, 1.0, 1.0, 10.0)
    agent = make_instance(FundingRateAgent, "f", window=2, entry_z=0.5, exit_z=0.0)
    future = FundingRate(candle.ts + 2 * BAR, 1e-3)
    snap = MarketSnapshot(candle.ts + BAR, {"P": candle}, {}, {}, {"P": future}, BAR)
    assert agent.ais_agent_signals(snap, AgentContext("f", SharedState())) == ()
    assert agent._states["P"].funding_ts is None


# --- directions, holding, symbols, instances ----------------------------------------------------------


def test_negative_funding_means_crowded_shorts(candles: list[Candle], funding: list[FundingRate]) -> None:
    negated = [FundingRate(r.ts, -r.rate) for r in funding]
    market = FundingMarket({XRP: candles, "NEG": candles}, {XRP: funding, "NEG": negated})
    signals = run(make_instance(FundingRateAgent, "f", window=6), market)
    mine = [s for s in signals if s.symbol == XRP]
    mirrored = [s for s in signals if s.symbol == "NEG"]
    flip = {Direction.SHORT: Direction.LONG, Direction.FLAT: Direction.FLAT}
    assert [(s.ts, flip[s.direction]) for s in mine] == [(s.ts, s.direction) for s in mirrored]
    assert any(s.direction is Direction.LONG and "crowded shorts" in s.rationale for s in mirrored)


def test_symbols_are_independent(candles: list[Candle], funding: list[FundingRate]) -> None:
    other = synthetic_candles(len(candles), start_ms=candles[0].ts, bar_ms=BAR, seed=11)
    shifted = [FundingRate(r.ts, r.rate * 3 - 2e-4) for r in funding]
    data = {XRP: candles, "SYN": other}
    market = FundingMarket(data, {XRP: funding, "SYN": shifted})
    together = run(make_instance(FundingRateAgent, "f", window=6), market)
    for symbol in data:
        alone = run(make_instance(FundingRateAgent, "f", window=6), market, [symbol])
        assert [s for s in together if s.symbol == symbol] == alone
        assert alone


def test_a_position_is_held_while_funding_stays_elevated() -> None:
    base = [1e-4] * 5
    candles, funding = hourly_market([*base, 3e-4, 2e-4, 1e-4], 72)
    market = FundingMarket({"P": candles}, {"P": funding}, bar_ms=HOUR)
    options = {"window": 6, "threshold": 0.01, "entry_z": 2.0, "horizon": 8, "liquidity_window": 3}
    held = run(make_instance(FundingRateAgent, "f", exit_z=0.5, **options), market)
    # warm at the 6th rate, 3 bp after five of 1 bp: z = +2.24, SHORT; then 2 bp: z = +0.65, held while
    # exit_z = 0.5, FLAT with exit_z = 0.7; then 1 bp: z < 0, FLAT
    assert [(s.ts, s.direction) for s in held] == [
        (funding[5].ts, Direction.SHORT),
        (funding[7].ts, Direction.FLAT),
    ]
    tight = run(make_instance(FundingRateAgent, "f", exit_z=0.7, **options), market)
    assert [(s.ts, s.direction) for s in tight] == [
        (funding[5].ts, Direction.SHORT),
        (funding[6].ts, Direction.FLAT),
    ]


def test_several_instances_in_one_run(xrp: FundingMarket, funding: list[FundingRate]) -> None:
    contrarian = make_instance(FundingRateAgent, "fade", window=6, liquidity_ref=1e6)
    carry = make_instance(FundingRateAgent, "carry", mode="carry", window=4, entry_z=1.5, horizon=192)
    context_a = AgentContext("fade", SharedState())
    context_b = AgentContext("carry", context_a.shared)
    a: list[Signal] = []
    b: list[Signal] = []
    for snap in xrp.snapshots():
        a.extend(contrarian.ais_agent_signals(snap, context_a))
        b.extend(carry.ais_agent_signals(snap, context_b))
    assert a == run(make_instance(FundingRateAgent, "fade", window=6, liquidity_ref=1e6), xrp)
    assert [(s.ts, s.direction) for s in a] != [(s.ts, s.direction) for s in b]
    assert {s.agent for s in a} == {"fade"} and {s.agent for s in b} == {"carry"}
    assert {s.horizon_s for s in b} == {192 * 300}
    shorts = [s for s in b if s.direction is Direction.SHORT]
    assert shorts and all("carry short" in s.rationale for s in shorts)
    for s in shorts:  # carry over 16 h = two 8-hour payments of the current rate
        rate = [r.rate for r in funding if r.ts <= s.ts][-1]
        assert close(s.expected_return, 2 * rate)


def test_no_funding_no_signal(candles: list[Candle]) -> None:
    agent = make_instance(FundingRateAgent, "f", window=6)
    assert run(agent, FakeMarket({XRP: candles})) == []
    assert agent.indicators(XRP) is None and agent.track_record(XRP) == (0, 0)


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"entry_z": 1.0, "exit_z": 1.0}, "`exit_z` must be below `entry_z` (got entry_z = 1.0, exit_z = 1"),
        ({"window": 4, "entry_z": 2.0}, "`entry_z` must be below sqrt(window − 1) = 1.732"),
        ({"window": 1}, "greater than or equal to 2"),
        ({"threshold": 0}, "greater than 0"),
        ({"entry_z": 0}, "greater than 0"),
        ({"exit_z": -1}, "greater than or equal to 0"),
        ({"horizon": 0}, "greater than 0"),
        ({"funding_interval_h": 0}, "greater than 0"),
        ({"liquidity_window": 0}, "greater than 0"),
        ({"mode": "momentum"}, "'contrarian' or 'carry'"),
        ({"lookback": 3}, "Extra inputs"),
    ],
)
def test_config_validation(options: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        FundingRateAgent.Config.model_validate(options)
    assert fragment in str(err.value)


def test_defaults() -> None:
    config = FundingRateAgent.Config()
    assert (config.mode, config.window, config.threshold, config.entry_z, config.exit_z) == (
        "contrarian", 21, 0.0005, 2.0, 0.5,
    )  # fmt: skip
