"""The momentum agent on real and built candles: indicator values, warm-up, gaps, calibration."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
from ais_agents_classic.momentum import Momentum
from pydantic import ValidationError

from ais.context import AgentContext, SharedState
from ais.domain.market import Candle, MarketSnapshot
from ais.domain.signals import Direction, Signal
from ais.testing import FakeMarket, make_instance, read_candles, synthetic_candles

BAR = 300_000
PAIRS = ("ADA", "DASH", "ETC", "ETH", "LTC", "TRX", "XLM", "XMR", "ZEC")


def run(agent: Momentum, market: FakeMarket) -> list[Signal]:
    context = AgentContext(agent.name, SharedState())
    out: list[Signal] = []
    for snap in market.snapshots():
        out.extend(agent.ais_agent_signals(snap, context))
    return out


@pytest.fixture(scope="module")
def eth(shared_data: Path) -> list[Candle]:
    return read_candles(shared_data / "binance-5m-2018-01" / "ETH_BTC.csv")


def rolling_numpy(values: list[float], n: int) -> list[float]:
    np = pytest.importorskip("numpy")
    array = np.asarray(values, dtype=float)
    return list(np.convolve(array, np.ones(n) / n, mode="valid"))


def test_sma_values_match_numpy_over_the_whole_series(eth: list[Candle]) -> None:
    agent = make_instance(Momentum, "m", fast=10, slow=50)
    closes = [c.close for c in eth]
    fast_ref, slow_ref = rolling_numpy(closes, 10), rolling_numpy(closes, 50)
    context = AgentContext("m", SharedState())
    checked = 0
    for i, candle in enumerate(eth):
        snap = MarketSnapshot(ts=candle.ts + BAR, candles={"ETH/BTC": candle}, bar_ms=BAR)
        agent.ais_agent_signals(snap, context)
        got = agent.indicators("ETH/BTC")
        if i < 49:
            assert got is None, f"indicators before warm-up at bar {i}"
            continue
        fast, slow = got  # type: ignore[misc]
        assert fast == pytest.approx(fast_ref[i - 9], rel=1e-9, abs=0)
        assert slow == pytest.approx(slow_ref[i - 49], rel=1e-9, abs=0)
        checked += 1
    assert checked == len(eth) - 49


def test_no_signal_during_warm_up(eth: list[Candle]) -> None:
    agent = make_instance(Momentum, "m", fast=10, slow=50)
    signals = run(agent, FakeMarket({"ETH/BTC": eth}))
    assert signals
    assert signals[0].ts == eth[49].ts + BAR, "the first view is formed on the slow-th bar"
    assert all(s.ts >= eth[49].ts + BAR for s in signals)


def gapped(n: int = 400, missing: int = 200) -> list[Candle]:
    candles = synthetic_candles(n, bar_ms=BAR, seed=4)
    return candles[:missing] + candles[missing + 1 :]


def test_gap_resets_indicators_and_restarts_warm_up() -> None:
    candles = gapped()
    agent = make_instance(Momentum, "m", fast=5, slow=20)
    context = AgentContext("m", SharedState())
    market = FakeMarket({"AAA/USD": candles}, bar_ms=BAR)
    after_gap: list[Candle] = []
    emitted: list[Signal] = []
    for snap in market.snapshots():
        signals = agent.ais_agent_signals(snap, context)
        emitted += signals
        bar = snap.candles["AAA/USD"]
        if "AAA/USD" in snap.gaps:
            assert bar.ts == candles[200].ts  # the bar after the missing one
        if bar.ts >= candles[200].ts:
            after_gap.append(bar)
            got = agent.indicators("AAA/USD")
            if len(after_gap) < 20:
                assert got is None, "warm-up must start again after a gap"
            else:
                closes = [c.close for c in after_gap]
                assert got == pytest.approx((sum(closes[-5:]) / 5, sum(closes[-20:]) / 20), rel=1e-12)
    before = [x for x in emitted if x.ts <= candles[199].ts + BAR]
    post = [x for x in emitted if x.ts > candles[199].ts + BAR]
    assert before[-1].direction is not Direction.FLAT, "the data leave a position open at the gap"
    closing, *resumed = post
    # the open view is closed on the first bar after the gap (the averages are gone) ...
    assert (closing.ts, closing.direction) == (after_gap[0].ts + BAR, Direction.FLAT)
    assert "gap before this bar" in closing.rationale
    # ... and the next view comes once the warm-up is over
    assert resumed, "signals resume after the warm-up"
    assert resumed[0].ts == after_gap[19].ts + BAR, "the first view after the gap is emitted again"


def test_gap_is_noticed_even_when_the_provider_does_not_flag_it() -> None:
    candles = gapped()
    agent = make_instance(Momentum, "m", fast=5, slow=20)
    context = AgentContext("m", SharedState())
    for bar in candles[:201]:
        agent.ais_agent_signals(MarketSnapshot(ts=bar.ts + BAR, candles={"X": bar}, bar_ms=BAR), context)
    assert agent.indicators("X") is None


def test_a_flagged_gap_resets_even_without_a_hole_in_time() -> None:
    """The provider knows best (e.g. it dropped a bad bar): ``snapshot.gaps`` alone resets."""
    candles = synthetic_candles(100, bar_ms=BAR, seed=6)
    agent = make_instance(Momentum, "m", fast=5, slow=20)
    context = AgentContext("m", SharedState())
    for i, bar in enumerate(candles):
        flagged = frozenset({"X"}) if i == 60 else frozenset()
        agent.ais_agent_signals(
            MarketSnapshot(ts=bar.ts + BAR, candles={"X": bar}, bar_ms=BAR, gaps=flagged), context
        )
        if 60 <= i < 79:
            assert agent.indicators("X") is None, i
    closes = [c.close for c in candles[60:]]
    assert agent.indicators("X") == pytest.approx((sum(closes[-5:]) / 5, sum(closes[-20:]) / 20), rel=1e-12)


def test_a_repeated_bar_is_consumed_once() -> None:
    candles = synthetic_candles(60, bar_ms=BAR, seed=5)
    once = make_instance(Momentum, "m", fast=3, slow=8)
    twice = make_instance(Momentum, "m", fast=3, slow=8)
    context = AgentContext("m", SharedState())
    for bar in candles:
        snap = MarketSnapshot(ts=bar.ts + BAR, candles={"X": bar}, bar_ms=BAR)
        once.ais_agent_signals(snap, context)
        twice.ais_agent_signals(snap, context)
        twice.ais_agent_signals(MarketSnapshot(ts=bar.ts + BAR + 1, candles={"X": bar}, bar_ms=BAR), context)
    assert once.indicators("X") == twice.indicators("X")


def test_different_parameters_give_different_signals(eth: list[Candle]) -> None:
    market = FakeMarket({"ETH/BTC": eth})
    a = run(make_instance(Momentum, "a", fast=10, slow=50), market)
    b = run(make_instance(Momentum, "b", fast=20, slow=100), market)
    assert [(s.ts, s.direction) for s in a] != [(s.ts, s.direction) for s in b]
    assert {s.agent for s in a} == {"a"}
    assert {s.horizon_s for s in a} == {50 * 300}
    assert {s.horizon_s for s in b} == {100 * 300}


def test_signals_are_edge_triggered(eth: list[Candle]) -> None:
    signals = run(make_instance(Momentum, "m"), FakeMarket({"ETH/BTC": eth}))
    directions = [s.direction for s in signals]
    assert all(a is not b for a, b in itertools.pairwise(directions))


def test_allow_short_false_and_min_strength(eth: list[Candle]) -> None:
    market = FakeMarket({"ETH/BTC": eth})
    long_only = run(make_instance(Momentum, "m", allow_short=False), market)
    assert {s.direction for s in long_only} == {Direction.LONG, Direction.FLAT}
    assert any("shorting disabled" in s.rationale for s in long_only)
    assert all(s.expected_return == 0.0 for s in long_only if s.direction is Direction.FLAT)
    banded = run(make_instance(Momentum, "m", min_strength=0.005), market)
    plain = run(make_instance(Momentum, "m"), market)
    directional = [s for s in banded if s.direction is not Direction.FLAT]
    assert 0 < len(directional) < len(plain), "the dead band filters weak crosses"
    assert any(s.direction is Direction.FLAT for s in banded)
    for s in banded:
        strength = float(s.rationale.split("(")[1].split("%")[0]) / 100
        if s.direction is Direction.FLAT:
            assert abs(strength) <= 0.005 + 1e-4  # the rationale rounds to 0.01 %
        else:
            assert abs(strength) >= 0.005 - 1e-4


def strength_at(closes: list[float], i: int, fast: int, slow: int) -> float:
    f = math.fsum(closes[i - fast + 1 : i + 1]) / fast
    s = math.fsum(closes[i - slow + 1 : i + 1]) / slow
    return (f - s) / s


@pytest.mark.parametrize("pair", PAIRS)
def test_calibration_on_real_pairs(shared_data: Path, pair: str) -> None:
    """Confidence, expected return and liquidity recomputed independently from prices and the
    agent's own earlier signals (a gap-free pair is checked exactly; the others are sanity-checked)."""
    candles = read_candles(shared_data / "binance-5m-2018-01" / f"{pair}_BTC.csv")
    symbol = f"{pair}/BTC"
    agent = make_instance(Momentum, "m", liquidity_ref=50.0)
    signals = run(agent, FakeMarket({symbol: candles}))
    assert len(signals) > 20
    assert {Direction.LONG, Direction.SHORT} <= {s.direction for s in signals}
    for s in signals:
        s.validate()
        assert s.expected_return >= 0.0
        # a view is stated with its averages, or closed because a gap took them away
        assert s.rationale.startswith(("SMA10 ", "gap before this bar")), s.rationale
    hits, settled = agent.track_record(symbol)
    assert settled > 20
    gap_free = all(b.ts - a.ts == BAR for a, b in itertools.pairwise(candles))
    if not gap_free:
        return
    index = {c.ts + BAR: i for i, c in enumerate(candles)}
    closes = [c.close for c in candles]
    volumes = [c.close * c.volume for c in candles]
    past: list[tuple[int, float]] = []  # (due ms, move) of earlier directional signals
    for s in signals:
        i = index[s.ts]
        settled_moves = [m for due, m in past if due <= s.ts]
        n, h = len(settled_moves), sum(1 for m in settled_moves if m > 0)
        strength = strength_at(closes, i, 10, 50)
        assert s.confidence == pytest.approx((h + 1) / (n + 2) * math.tanh(abs(strength) / 0.01), rel=1e-9)
        assert s.rationale.endswith(f"hit rate {h}/{n}")
        liquidity = 1 - math.exp(-math.fsum(volumes[i - 49 : i + 1]) / 50 / 50.0)
        assert s.liquidity == pytest.approx(liquidity, rel=1e-9)
        if s.direction is Direction.FLAT:
            continue
        expected = max(0.0, sum(settled_moves) / n) if n else abs(strength)
        assert s.expected_return == pytest.approx(expected, rel=1e-9, abs=1e-15)
        sign = 1 if s.direction is Direction.LONG else -1
        j = i + 50
        if j < len(closes):
            past.append((s.ts + 50 * BAR, sign * (closes[j] / closes[i] - 1)))
    assert (hits, settled) == (sum(1 for _, m in past if m > 0), len(past))


def test_symbols_are_independent_on_real_data(shared_data: Path) -> None:
    data = {f"{p}/BTC": read_candles(shared_data / "binance-5m-2018-01" / f"{p}_BTC.csv") for p in PAIRS[:4]}
    together = run(make_instance(Momentum, "m"), FakeMarket(data))
    for symbol, candles in data.items():
        alone = run(make_instance(Momentum, "m"), FakeMarket({symbol: candles}))
        assert [s for s in together if s.symbol == symbol] == alone


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"fast": 20, "slow": 10}, "`slow` must be greater than `fast` (got fast = 20, slow = 10)"),
        ({"fast": 10, "slow": 10}, "`slow` must be greater than `fast`"),
        ({"fast": 0}, "greater than 0"),
        ({"min_strength": -0.1}, "greater than or equal to 0"),
        ({"horizon": 0}, "greater than 0"),
        ({"lookback": 3}, "Extra inputs"),
    ],
)
def test_config_validation(options: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        Momentum.Config.model_validate(options)
    assert fragment in str(err.value)


def test_horizon_defaults_to_slow() -> None:
    assert Momentum.Config.model_validate({"slow": 30}).horizon_bars == 30
    assert Momentum.Config.model_validate({"slow": 30, "horizon": 12}).horizon_bars == 12
