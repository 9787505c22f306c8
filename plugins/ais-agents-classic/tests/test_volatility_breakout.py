"""The volatility breakout agent on real and built candles: channel, ATR and volume against numpy, the
whole decision sequence against an independent replay, warm-up, gaps, instances, config, conformance."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import pytest
from ais_agents_classic.volatility_breakout import VolatilityBreakout
from pydantic import ValidationError

from ais.context import AgentContext, SharedState
from ais.domain.market import Candle, MarketSnapshot
from ais.domain.signals import Direction, Signal
from ais.testing import FakeMarket, make_instance, read_candles, synthetic_candles
from ais.testing.conformance import AgentContract

np = pytest.importorskip("numpy")

BAR = 300_000
PAIRS = ("ADA", "DASH", "ETC", "ETH", "LTC", "TRX", "XLM", "XMR", "ZEC")


def run(agent: VolatilityBreakout, market: FakeMarket) -> list[Signal]:
    context = AgentContext(agent.name, SharedState())
    out: list[Signal] = []
    for snap in market.snapshots():
        out.extend(agent.ais_agent_signals(snap, context))
    return out


def feed(
    agent: VolatilityBreakout, symbol: str, bar: Candle, gaps: frozenset[str] = frozenset()
) -> list[Signal]:
    snap = MarketSnapshot(ts=bar.ts + BAR, candles={symbol: bar}, bar_ms=BAR, gaps=gaps)
    return list(agent.ais_agent_signals(snap, AgentContext(agent.name, SharedState())))


def candles_of(shared_data: Path, pair: str) -> list[Candle]:
    return read_candles(shared_data / "binance-5m-2018-01" / f"{pair}_BTC.csv")


@pytest.fixture(scope="module")
def eth(shared_data: Path) -> list[Candle]:
    return candles_of(shared_data, "ETH")


# ---- an independent numpy reference -------------------------------------------------------------


class Reference:
    """Every indicator of the agent for a gap-free series, computed with numpy over the whole series.
    Index ``i`` holds the value *after* bar ``i`` (so bar ``t`` is tested against index ``t − 1``)."""

    def __init__(self, candles: list[Candle], window: int, atr_period: int) -> None:
        high = np.array([c.high for c in candles])
        low = np.array([c.low for c in candles])
        close = np.array([c.close for c in candles])
        volume = np.array([c.volume for c in candles])
        n = len(candles)
        view = np.lib.stride_tricks.sliding_window_view
        self.top = np.full(n, np.nan)
        self.bottom = np.full(n, np.nan)
        self.top[window - 1 :] = view(high, window).max(axis=1)
        self.bottom[window - 1 :] = view(low, window).min(axis=1)
        self.volume = np.full(n, np.nan)
        self.volume[window - 1 :] = view(volume, window).mean(axis=1)
        self.quote = np.full(n, np.nan)
        self.quote[window - 1 :] = view(close * volume, window).mean(axis=1)
        true_range = np.empty(n)
        true_range[0] = high[0] - low[0]
        true_range[1:] = np.maximum.reduce(
            [high[1:] - low[1:], np.abs(high[1:] - close[:-1]), np.abs(low[1:] - close[:-1])]
        )
        self.atr = np.full(n, np.nan)
        self.atr[atr_period - 1] = true_range[:atr_period].mean()
        for i in range(atr_period, n):  # Wilder's recursion
            self.atr[i] = self.atr[i - 1] + (true_range[i] - self.atr[i - 1]) / atr_period
        self.close = close
        self.raw_volume = volume
        self.first = max(window, atr_period)  # the first bar tested


def replay(candles: list[Candle], **options: Any) -> list[tuple[int, Direction, float, float, float, str]]:
    """The agent's rule re-implemented from the docs on the numpy indicators (gap-free series)."""
    config = VolatilityBreakout.Config.model_validate(options)
    ref = Reference(candles, config.window, config.atr_period)
    k, horizon = config.k, config.horizon_bars
    out: list[tuple[int, Direction, float, float, float, str]] = []
    view, held = Direction.FLAT, 0
    opened: list[tuple[int, int, float]] = []  # (bar index due, sign, entry close)
    for t in range(ref.first, len(candles)):
        settled = [sign * (ref.close[due] / entry - 1) for due, sign, entry in opened if due <= t]
        hits, n = sum(1 for m in settled if m > 0), len(settled)
        hit_rate = (hits + 1) / (n + 2)
        top, bottom, atr = ref.top[t - 1], ref.bottom[t - 1], ref.atr[t - 1]
        close = ref.close[t]
        confirmed = ref.raw_volume[t] >= config.volume_factor * ref.volume[t - 1]
        wanted: Direction | None = None
        if confirmed and close > top + k * atr:
            wanted = Direction.LONG
        elif confirmed and close < bottom - k * atr:
            wanted = Direction.SHORT if config.allow_short else Direction.FLAT
        mid = (top + bottom) / 2
        if view is not Direction.FLAT:
            held += 1
            up = view is Direction.LONG
            if wanted is not None and wanted is not view and (wanted is not Direction.FLAT or up):
                pass  # a confirmed break the other way
            elif ((close <= mid) if up else (close >= mid)) or held >= horizon:
                wanted = Direction.FLAT  # back to the midline, or held long enough
            else:
                continue
        elif wanted in (None, Direction.FLAT):
            continue
        assert wanted is not None
        view, held = wanted, 0
        liquidity = 1 - math.exp(-ref.quote[t] / config.liquidity_ref)
        if wanted is Direction.FLAT:
            out.append((t, wanted, hit_rate, 0.0, liquidity, "flat"))
            continue
        sign = 1 if wanted is Direction.LONG else -1
        excess = (close - top) if sign > 0 else (bottom - close)
        confidence = hit_rate * math.tanh(excess / atr / config.strength_scale)
        expected = max(0.0, sum(settled) / n) if n else atr / close
        out.append((t, wanted, confidence, expected, liquidity, "entry"))
        if t + horizon < len(candles):
            opened.append((t + horizon, sign, close))
    return out


# ---- indicators -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options", [{}, {"window": 55, "atr_period": 20, "k": 1.0}, {"window": 10, "atr_period": 30, "k": 0.0}]
)
def test_channel_atr_and_volume_match_numpy_over_the_whole_series(
    eth: list[Candle], options: dict[str, Any]
) -> None:
    agent = make_instance(VolatilityBreakout, "vb", **options)
    config = agent.config
    ref = Reference(eth, config.window, config.atr_period)
    ready = max(config.window, config.atr_period) - 1
    checked = 0
    for i, candle in enumerate(eth):
        feed(agent, "ETH/BTC", candle)
        got = agent.indicators("ETH/BTC")
        if i < ready:
            assert got is None, f"indicators before warm-up at bar {i}"
            continue
        assert got is not None
        upper, lower, top, bottom, atr, volume = got
        assert top == pytest.approx(ref.top[i], rel=1e-9, abs=0)
        assert bottom == pytest.approx(ref.bottom[i], rel=1e-9, abs=0)
        assert atr == pytest.approx(ref.atr[i], rel=1e-9, abs=0)
        assert volume == pytest.approx(ref.volume[i], rel=1e-9, abs=0)
        assert upper == pytest.approx(ref.top[i] + config.k * ref.atr[i], rel=1e-9, abs=0)
        assert lower == pytest.approx(ref.bottom[i] - config.k * ref.atr[i], rel=1e-9, abs=0)
        checked += 1
    assert checked == len(eth) - ready


@pytest.mark.parametrize(
    ("pair", "options"),
    [
        ("ETH", {}),
        ("LTC", {}),
        ("ETH", {"window": 40, "atr_period": 10, "k": 0.0, "volume_factor": 1.0, "horizon": 12}),
        ("LTC", {"k": 0.25, "volume_factor": 0.0, "allow_short": False}),
    ],
)
def test_every_signal_matches_an_independent_replay(
    shared_data: Path, pair: str, options: dict[str, Any]
) -> None:
    """Direction, timing, confidence, expected return and liquidity of every signal, recomputed from the
    numpy indicators and the agent's own earlier entries (gap-free pairs)."""
    candles = candles_of(shared_data, pair)
    assert all(b.ts - a.ts == BAR for a, b in itertools.pairwise(candles))
    signals = run(make_instance(VolatilityBreakout, "vb", **options), FakeMarket({f"{pair}/BTC": candles}))
    expected = replay(candles, **options)
    assert len(signals) == len(expected) > 10
    for s, (t, direction, confidence, expected_return, liquidity, _) in zip(signals, expected, strict=True):
        assert (s.ts, s.direction) == (candles[t].ts + BAR, direction)
        assert s.confidence == pytest.approx(confidence, rel=1e-9, abs=1e-15)
        assert s.expected_return == pytest.approx(expected_return, rel=1e-9, abs=1e-15)
        assert s.liquidity == pytest.approx(liquidity, rel=1e-9)


def test_no_signal_during_warm_up(eth: list[Candle]) -> None:
    agent = make_instance(VolatilityBreakout, "vb", window=30, atr_period=14, volume_factor=0.0)
    signals = run(agent, FakeMarket({"ETH/BTC": eth}))
    assert signals
    assert min(s.ts for s in signals) >= eth[30].ts + BAR, "bar 30 is the first one tested"


@pytest.mark.parametrize("pair", PAIRS)
def test_signals_of_both_directions_on_real_pairs(shared_data: Path, pair: str) -> None:
    symbol = f"{pair}/BTC"
    agent = make_instance(VolatilityBreakout, "vb", liquidity_ref=50.0)
    signals = run(agent, FakeMarket({symbol: candles_of(shared_data, pair)}))
    assert {Direction.LONG, Direction.SHORT, Direction.FLAT} <= {s.direction for s in signals}
    previous = Direction.FLAT
    for s in signals:
        s.validate()
        assert s.symbol == symbol and s.agent == "vb" and s.horizon_s == 20 * 300
        assert s.direction is not previous, "edge-triggered"
        assert s.expected_return >= 0.0
        if s.direction is Direction.FLAT:
            assert s.expected_return == 0.0
            assert s.confidence > 0.0, "a FLAT must be selectable to close the position"
            assert s.rationale.split(", ")[-1] in ("back to the midline", "held 20 bars", "warming up again")
        else:
            assert " upper " in s.rationale if s.direction is Direction.LONG else " lower " in s.rationale
            ratio = float(s.rationale.split("volume ")[1].split("×")[0])
            assert ratio >= 1.5 - 0.005, "volume confirmation"
        previous = s.direction
    hits, settled = agent.track_record(symbol)
    assert 0 <= hits <= settled and settled > 5


def test_rationale_of_the_first_signal_on_eth(eth: list[Candle]) -> None:
    first = run(make_instance(VolatilityBreakout, "vb"), FakeMarket({"ETH/BTC": eth}))[0]
    assert first.direction is Direction.SHORT
    assert first.rationale.startswith("close 0.091391 < lower 0.0914949 (low 0.0921 − 0.5×ATR ")
    assert first.rationale.endswith("volume 1.79× mean, hit rate 0/0")


# ---- options --------------------------------------------------------------------------------------


def test_options_change_the_signals_as_documented(eth: list[Candle]) -> None:
    market = FakeMarket({"ETH/BTC": eth})

    def entries(**options: Any) -> int:
        signals = run(make_instance(VolatilityBreakout, "vb", **options), market)
        return sum(1 for s in signals if s.direction is not Direction.FLAT)

    assert entries(k=0.0) > entries() > entries(k=1.5), "a wider channel breaks less often"
    assert entries(volume_factor=0.0) > entries() > entries(volume_factor=3.0), "volume confirmation filters"
    long_only = run(make_instance(VolatilityBreakout, "vb", allow_short=False), market)
    assert {s.direction for s in long_only} == {Direction.LONG, Direction.FLAT}


def test_time_exit_after_horizon() -> None:
    """A steady climb: entered once, closed after `horizon` bars though still above
    the midline, entered again on the next confirmed break."""
    bars = [Candle(i * BAR, 100.0, 100.5, 99.5, 100.0, 10.0) for i in range(30)]
    price = 100.0
    for i in range(30, 60):
        price *= 1.02
        bars.append(Candle(i * BAR, price / 1.02, price, price / 1.02, price, 10.0))
    agent = make_instance(VolatilityBreakout, "vb", window=10, atr_period=5, horizon=5, volume_factor=0.0)
    signals = run(agent, FakeMarket({"X": bars}, bar_ms=BAR))
    assert [s.direction for s in signals[:3]] == [Direction.LONG, Direction.FLAT, Direction.LONG]
    assert signals[0].ts == bars[30].ts + BAR
    assert signals[1].ts == bars[35].ts + BAR
    assert signals[1].rationale.endswith("held 5 bars")
    assert signals[2].ts == bars[36].ts + BAR


# ---- gaps, repeats, symbols, instances --------------------------------------------------------------


def test_gap_resets_indicators_and_restarts_warm_up(eth: list[Candle]) -> None:
    candles = eth[:300] + eth[301:600]
    agent = make_instance(VolatilityBreakout, "vb", window=20, atr_period=14)
    for i, bar in enumerate(candles):
        feed(agent, "ETH/BTC", bar)
        got = agent.indicators("ETH/BTC")
        if 300 <= i < 319:
            assert got is None, f"warm-up must start again after the gap (bar {i})"
    after = candles[300:]
    ref = Reference(after, 20, 14)
    got = agent.indicators("ETH/BTC")
    assert got is not None
    assert got[2:] == pytest.approx((ref.top[-1], ref.bottom[-1], ref.atr[-1], ref.volume[-1]), rel=1e-12)


def test_gap_is_noticed_even_when_the_provider_does_not_flag_it() -> None:
    candles = synthetic_candles(200, bar_ms=BAR, seed=4)
    agent = make_instance(VolatilityBreakout, "vb", window=10, atr_period=5)
    for bar in candles[:100] + candles[101:105]:
        feed(agent, "X", bar)
    assert agent.indicators("X") is None


def test_a_flagged_gap_resets_even_without_a_hole_in_time() -> None:
    candles = synthetic_candles(100, bar_ms=BAR, seed=6)
    agent = make_instance(VolatilityBreakout, "vb", window=10, atr_period=5)
    for i, bar in enumerate(candles):
        feed(agent, "X", bar, frozenset({"X"}) if i == 60 else frozenset())
        if 60 <= i < 69:
            assert agent.indicators("X") is None, i
    assert agent.indicators("X") is not None


def test_an_open_position_is_closed_on_the_bar_after_a_gap(eth: list[Candle]) -> None:
    signals = run(make_instance(VolatilityBreakout, "vb"), FakeMarket({"ETH/BTC": eth}))
    entry = next(  # a LONG still open two bars later
        s for s, n in itertools.pairwise(signals) if s.direction is Direction.LONG and n.ts > s.ts + 2 * BAR
    )
    i = next(i for i, c in enumerate(eth) if c.ts + BAR == entry.ts)
    gapped = eth[: i + 2] + eth[i + 3 :]  # drop the second bar after the entry
    signals = run(make_instance(VolatilityBreakout, "vb"), FakeMarket({"ETH/BTC": gapped}))
    j = signals.index(next(s for s in signals if s.ts == entry.ts))
    closing = signals[j + 1]
    assert closing.direction is Direction.FLAT
    assert closing.ts == eth[i + 3].ts + BAR
    assert closing.confidence > 0.0 and closing.liquidity > 0.0, "selectable by arbitration"
    assert "gap before this bar: position closed" in closing.rationale
    later = [s for s in signals if s.ts > closing.ts]
    assert all(s.ts >= eth[i + 3 + 20].ts + BAR for s in later), "warm-up again"


def test_a_repeated_bar_is_consumed_once(eth: list[Candle]) -> None:
    once = make_instance(VolatilityBreakout, "vb")
    twice = make_instance(VolatilityBreakout, "vb")
    a: list[Signal] = []
    b: list[Signal] = []
    for bar in eth[:800]:
        a += feed(once, "ETH/BTC", bar)
        b += feed(twice, "ETH/BTC", bar)
        b += feed(twice, "ETH/BTC", bar)
    assert a == b
    assert once.indicators("ETH/BTC") == twice.indicators("ETH/BTC")


def test_symbols_are_independent_on_real_data(shared_data: Path) -> None:
    data = {f"{p}/BTC": candles_of(shared_data, p) for p in PAIRS[:4]}  # ADA and DASH have gaps
    together = run(make_instance(VolatilityBreakout, "vb"), FakeMarket(data))
    for symbol, candles in data.items():
        alone = run(make_instance(VolatilityBreakout, "vb"), FakeMarket({symbol: candles}))
        assert [s for s in together if s.symbol == symbol] == alone


def test_several_instances_in_one_run(shared_data: Path) -> None:
    market = FakeMarket({f"{p}/BTC": candles_of(shared_data, p) for p in ("ETH", "LTC")})
    fast = make_instance(VolatilityBreakout, "fast_breakout", window=20, k=0.0)
    slow = make_instance(VolatilityBreakout, "slow_breakout", window=96, atr_period=48, k=1.0, horizon=48)
    together: dict[str, list[Signal]] = {"fast_breakout": [], "slow_breakout": []}
    for snap in market.snapshots():
        for agent in (fast, slow):
            together[agent.name] += agent.ais_agent_signals(snap, AgentContext(agent.name, SharedState()))
    for agent in (fast, slow):
        assert together[agent.name] == run(type(agent)(agent.name, agent.config), market)
        assert {s.agent for s in together[agent.name]} == {agent.name}
    assert {s.horizon_s for s in together["slow_breakout"]} == {48 * 300}
    assert [(s.ts, s.symbol) for s in together["fast_breakout"]] != [
        (s.ts, s.symbol) for s in together["slow_breakout"]
    ]


# ---- config ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"window": 1}, "window\n  Input should be greater than or equal to 2"),
        ({"atr_period": 0}, "atr_period\n  Input should be greater than 0"),
        ({"k": -0.5}, "k\n  Input should be greater than or equal to 0"),
        ({"volume_factor": -1}, "volume_factor\n  Input should be greater than or equal to 0"),
        ({"horizon": 0}, "horizon\n  Input should be greater than 0"),
        ({"strength_scale": 0}, "strength_scale\n  Input should be greater than 0"),
        ({"liquidity_ref": 0}, "liquidity_ref\n  Input should be greater than 0"),
        ({"window": "wide"}, "window\n  Input should be a valid integer"),
        ({"lookback": 3}, "lookback\n  Extra inputs are not permitted"),
    ],
)
def test_config_validation(options: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        VolatilityBreakout.Config.model_validate(options)
    assert fragment in str(err.value)


def test_horizon_defaults_to_window() -> None:
    assert VolatilityBreakout.Config.model_validate({"window": 30}).horizon_bars == 30
    assert VolatilityBreakout.Config.model_validate({"window": 30, "horizon": 7}).horizon_bars == 7


# ---- conformance ------------------------------------------------------------------------------------


class TestVolatilityBreakoutDefaults(AgentContract):
    @pytest.fixture
    def agent(self) -> VolatilityBreakout:
        return make_instance(VolatilityBreakout, "volatility_breakout")


class TestVolatilityBreakoutTuned(AgentContract):
    @pytest.fixture
    def agent(self) -> VolatilityBreakout:
        return make_instance(
            VolatilityBreakout, "tuned", window=50, atr_period=20, k=0.0, volume_factor=1.0, allow_short=False
        )
