"""The vwap_reversion agent on real and built candles: VWAP, volatility and distance, bands, warm-up, gaps,
calibration."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from ais_agents_classic.vwap_reversion import VwapReversion
from pydantic import ValidationError

from ais.context import AgentContext, SharedState
from ais.domain.market import Candle, MarketSnapshot
from ais.domain.signals import Direction, Signal
from ais.testing import FakeMarket, make_instance, read_candles, synthetic_candles
from ais.testing.conformance import AgentContract

BAR = 300_000
PAIRS = ("ADA", "DASH", "ETC", "ETH", "LTC", "TRX", "XLM", "XMR", "ZEC")
LONG, SHORT, FLAT = Direction.LONG, Direction.SHORT, Direction.FLAT

Row = tuple[float, float, float]  # (VWAP, volatility, z)


def run(agent: VwapReversion, market: FakeMarket) -> list[Signal]:
    context = AgentContext(agent.name, SharedState())
    out: list[Signal] = []
    for snap in market.snapshots():
        out.extend(agent.ais_agent_signals(snap, context))
    return out


def pair(shared_data: Path, name: str) -> list[Candle]:
    return read_candles(shared_data / "binance-5m-2018-01" / f"{name}_BTC.csv")


@pytest.fixture(scope="module")
def eth(shared_data: Path) -> list[Candle]:
    return pair(shared_data, "ETH")


def segments(candles: list[Candle]) -> Iterator[list[Candle]]:
    """Runs of consecutive bars (a missing bar starts a new run)."""
    run_: list[Candle] = []
    for c in candles:
        if run_ and c.ts - run_[-1].ts != BAR:
            yield run_
            run_ = []
        run_.append(c)
    if run_:
        yield run_


def wilder_atr(seg: list[Candle], period: int) -> list[float]:
    """Wilder's ATR by numpy: NaN for the first ``period − 1`` bars; the true range of the first bar is
    ``high − low``; seeded with the mean of the first ``period`` ranges, then
    ``(prev × (period − 1) + TR) / period``."""
    np = pytest.importorskip("numpy")
    high = np.array([c.high for c in seg])
    low = np.array([c.low for c in seg])
    close = np.array([c.close for c in seg])
    prev = np.concatenate(([np.nan], close[:-1]))
    ranges = np.nanmax(np.stack([high - low, np.abs(high - prev), np.abs(low - prev)]), axis=0)
    atr = np.full(len(seg), np.nan)
    if len(seg) >= period:
        value = ranges[:period].mean()
        atr[period - 1] = value
        for k in range(period, len(seg)):
            value = (value * (period - 1) + ranges[k]) / period
            atr[k] = value
    return [float(x) for x in atr]


def reference(
    candles: list[Candle], window: int, volatility: str = "std", atr_period: int = 14
) -> dict[int, Row | None]:
    """``(VWAP, volatility, z)`` per bar open time by numpy, each run of consecutive bars on its own."""
    np = pytest.importorskip("numpy")
    view = np.lib.stride_tricks.sliding_window_view
    out: dict[int, Row | None] = {}
    for seg in segments(candles):
        high, low, close, volume = (np.array([c[k] for c in seg]) for k in (2, 3, 4, 5))
        atr = wilder_atr(seg, atr_period)
        if len(seg) >= window:
            typical = (high + low + close) / 3
            vwaps = view(typical * volume, window).sum(axis=1) / view(volume, window).sum(axis=1)
            closes = view(close, window)
            shifted = closes - closes[:, :1]  # exact for nearby prices: a flat window has std 0
            stds = shifted.std(axis=1)
        warm = max(window, atr_period) if volatility == "atr" else window
        for i, c in enumerate(seg):
            if i < warm - 1:
                out[c.ts] = None
                continue
            vwap = float(vwaps[i - window + 1])
            vol = atr[i] if volatility == "atr" else float(stds[i - window + 1])
            out[c.ts] = (vwap, vol, (c.close - vwap) / vol if vol > 0 else 0.0)
    return out


@pytest.mark.parametrize("name", PAIRS)
@pytest.mark.parametrize(("window", "volatility"), [(48, "std"), (12, "atr")])
def test_indicators_match_numpy_on_every_real_pair(
    shared_data: Path, name: str, window: int, volatility: str
) -> None:
    """VWAP, volatility and distance of every bar of every pair, gaps included (each run of consecutive
    bars warms up on its own), to 1e-9 relative (the distance: or 1e-9 absolute, see below)."""
    candles = pair(shared_data, name)
    expected = reference(candles, window, volatility, atr_period=20)
    agent = make_instance(VwapReversion, "vr", window=window, volatility=volatility, atr_period=20)
    context = AgentContext("vr", SharedState())
    checked = 0
    for snap in FakeMarket({"X": candles}).snapshots():
        agent.ais_agent_signals(snap, context)
        want = expected[snap.candles["X"].ts]
        got = agent.indicators("X")
        if want is None:
            assert got is None, f"indicators before warm-up at {snap.ts}"
            continue
        assert got is not None
        assert got[:2] == pytest.approx(want[:2], rel=1e-9, abs=0), snap.ts
        # z is a difference quotient: a close equal to the VWAP may give 0 on one side and ±1e-14 on
        # the other (sums rounded differently), so z also gets an absolute 1e-9, far below any band
        assert got[2] == pytest.approx(want[2], rel=1e-9, abs=1e-9), snap.ts
        checked += 1
    assert checked == sum(v is not None for v in expected.values()) > 5000


def band_views(zs: list[float], entry: float, exit_: float, allow_short: bool = True) -> list[Direction]:
    """The documented band rule, written out again."""
    views: list[Direction] = []
    view: Direction | None = None
    for z in zs:
        if z <= -entry:
            view = LONG
        elif z >= entry:
            view = SHORT if allow_short else FLAT
        elif not ((view is LONG and z < -exit_) or (view is SHORT and z > exit_)):
            view = FLAT
        views.append(view)
    return views


@pytest.mark.parametrize(
    "options",
    [{}, {"volatility": "atr", "entry_z": 3.0, "exit_z": 0.0, "allow_short": False}],
    ids=["defaults", "atr-long-only"],
)
def test_views_follow_the_bands(eth: list[Candle], options: dict[str, object]) -> None:
    """The signals are exactly the changes of the band rule applied to the numpy distances."""
    agent = make_instance(VwapReversion, "vr", **options)
    config = agent.config
    expected = reference(eth, config.window, config.volatility, config.atr_period)
    first = next(i for i, c in enumerate(eth) if expected[c.ts] is not None)
    zs = [v[2] for c in eth if (v := expected[c.ts]) is not None]
    views = band_views(zs, config.entry_z, config.exit_z, config.allow_short)
    changes = [(eth[first + i].ts + BAR, v) for i, v in enumerate(views) if i == 0 or v is not views[i - 1]]
    signals = run(agent, FakeMarket({"ETH/BTC": eth}))
    assert [(s.ts, s.direction) for s in signals] == changes
    assert {LONG, FLAT} <= {s.direction for s in signals}
    unit = "ATR14" if config.volatility == "atr" else "std48"
    for s in signals:
        z = float(s.rationale.split(" is ")[1].split()[0])
        assert f" {unit} (" in s.rationale
        assert s.rationale.endswith("shorting disabled") == (s.direction is FLAT and z >= config.entry_z)


def test_no_signal_during_warm_up(eth: list[Candle]) -> None:
    signals = run(make_instance(VwapReversion, "vr", window=30), FakeMarket({"ETH/BTC": eth}))
    assert signals[0].ts == eth[29].ts + BAR, "the first view is formed on the window-th bar"
    with_atr = run(make_instance(VwapReversion, "vr", window=10, volatility="atr"), FakeMarket({"E": eth}))
    assert with_atr[0].ts == eth[13].ts + BAR, "with ATR the warm-up is max(window, atr_period) bars"


def gapped(n: int = 400, missing: int = 200) -> list[Candle]:
    candles = synthetic_candles(n, bar_ms=BAR, seed=4)
    return candles[:missing] + candles[missing + 1 :]


@pytest.mark.parametrize("volatility", ["std", "atr"])
def test_gap_resets_indicators_and_restarts_warm_up(volatility: str) -> None:
    candles = gapped()
    agent = make_instance(VwapReversion, "vr", window=20, volatility=volatility, atr_period=25)
    expected = reference(candles, 20, volatility, 25)  # the reference restarts at the hole as well
    context = AgentContext("vr", SharedState())
    signal_times: list[int] = []
    for snap in FakeMarket({"X": candles}, bar_ms=BAR).snapshots():
        signal_times += [s.ts for s in agent.ais_agent_signals(snap, context)]
        want = expected[snap.candles["X"].ts]
        got = agent.indicators("X")
        assert (got is None) == (want is None)
        if want is not None:
            assert got == pytest.approx(want, rel=1e-9)
    warm = 25 if volatility == "atr" else 20
    post = [t for t in signal_times if t > candles[199].ts + BAR]
    # the bar after the hole may close an open view; the next signal comes after the warm-up
    assert all(t == candles[200].ts + BAR or t >= candles[200 + warm - 1].ts + BAR for t in post)
    assert any(t >= candles[200 + warm - 1].ts + BAR for t in post)


def open_view_with_room(signals: list[Signal], index: dict[int, int]) -> Signal:
    """A LONG/SHORT signal (past the first day) whose view is still held three bars later."""
    return next(
        s
        for s, after in itertools.pairwise(signals)
        if s.direction is not FLAT and after.ts - s.ts > 3 * BAR and index[s.ts] > 300
    )


def test_a_gap_closes_an_open_view_then_warms_up_again(eth: list[Candle]) -> None:
    """Drop the second bar after an entry: the first bar after the hole closes the view (FLAT), the
    indicators warm up again, and the signals then are those of a fresh agent started after the hole
    (without its first view if that is FLAT: the view is FLAT already)."""
    make = lambda: make_instance(VwapReversion, "a")  # noqa: E731
    signals = run(make(), FakeMarket({"E": eth}))
    index = {c.ts + BAR: i for i, c in enumerate(eth)}
    entry = open_view_with_room(signals, index)
    i = index[entry.ts]
    holed = eth[: i + 2] + eth[i + 3 :]
    got = run(make(), FakeMarket({"E": holed}))
    assert [s for s in got if s.ts <= entry.ts] == signals[: signals.index(entry) + 1]
    after = [s for s in got if s.ts > entry.ts]
    closing = after[0]
    assert (closing.ts, closing.direction, closing.expected_return) == (eth[i + 3].ts + BAR, FLAT, 0.0)
    closing.validate()
    assert closing.rationale.startswith(
        f"gap before this bar: indicators reset, {entry.direction.name} view closed, hit rate "
    )
    hits, settled = map(int, closing.rationale.rsplit(" ", 1)[1].split("/"))
    assert closing.confidence == (hits + 1) / (settled + 2)
    fresh = [(s.ts, s.direction) for s in run(make(), FakeMarket({"E": eth[i + 3 :]}))]
    if fresh[0][1] is FLAT:
        fresh = fresh[1:]
    assert [(s.ts, s.direction) for s in after[1:]] == fresh


def test_a_gap_in_a_flat_view_emits_nothing_until_the_next_view(eth: list[Candle]) -> None:
    signals = run(make_instance(VwapReversion, "a"), FakeMarket({"E": eth}))
    index = {c.ts + BAR: i for i, c in enumerate(eth)}
    flat = next(
        s
        for s, after in itertools.pairwise(signals)
        if s.direction is FLAT and after.ts - s.ts > 60 * BAR and index[s.ts] > 300
    )
    i = index[flat.ts]
    holed = eth[: i + 2] + eth[i + 3 :]
    got = run(make_instance(VwapReversion, "a"), FakeMarket({"E": holed}))
    after = [s for s in got if s.ts > flat.ts]
    fresh_run = run(make_instance(VwapReversion, "a"), FakeMarket({"E": eth[i + 3 :]}))
    fresh = [(s.ts, s.direction) for s in fresh_run]
    assert fresh[0][1] is FLAT, "the fresh agent's first view is FLAT here"
    assert [(s.ts, s.direction) for s in after] == fresh[1:], "no FLAT is repeated after the gap"


def test_an_unflagged_hole_in_time_resets_too() -> None:
    candles = gapped()
    agent = make_instance(VwapReversion, "vr", window=20)
    context = AgentContext("vr", SharedState())
    for bar in candles[:201]:
        agent.ais_agent_signals(MarketSnapshot(ts=bar.ts + BAR, candles={"X": bar}, bar_ms=BAR), context)
    assert agent.indicators("X") is None


def test_a_flagged_gap_resets_even_without_a_hole_in_time() -> None:
    candles = synthetic_candles(100, bar_ms=BAR, seed=6)
    agent = make_instance(VwapReversion, "vr", window=10)
    context = AgentContext("vr", SharedState())
    for i, bar in enumerate(candles):
        gaps = frozenset({"X"}) if i == 60 else frozenset()
        snap = MarketSnapshot(ts=bar.ts + BAR, candles={"X": bar}, bar_ms=BAR, gaps=gaps)
        agent.ais_agent_signals(snap, context)
        if 60 <= i < 69:
            assert agent.indicators("X") is None, i
    want = reference(candles[60:], 10)[candles[-1].ts]
    assert agent.indicators("X") == pytest.approx(want, rel=1e-9)


def test_a_repeated_bar_is_consumed_once() -> None:
    candles = synthetic_candles(60, bar_ms=BAR, seed=5)
    once = make_instance(VwapReversion, "vr", window=8)
    twice = make_instance(VwapReversion, "vr", window=8)
    context = AgentContext("vr", SharedState())
    for bar in candles:
        snap = MarketSnapshot(ts=bar.ts + BAR, candles={"X": bar}, bar_ms=BAR)
        once.ais_agent_signals(snap, context)
        twice.ais_agent_signals(snap, context)
        repeat = MarketSnapshot(ts=snap.ts + 1, candles={"X": bar}, bar_ms=BAR)
        assert not twice.ais_agent_signals(repeat, context)
    assert once.indicators("X") == twice.indicators("X")


def test_a_window_without_volume_has_no_vwap_and_keeps_the_view() -> None:
    candles = synthetic_candles(120, bar_ms=BAR, seed=8)
    quiet = [c._replace(volume=0.0) if 40 <= i < 60 else c for i, c in enumerate(candles)]
    agent = make_instance(VwapReversion, "vr", window=10)
    context = AgentContext("vr", SharedState())
    for i, snap in enumerate(FakeMarket({"X": quiet}, bar_ms=BAR).snapshots()):
        signals = agent.ais_agent_signals(snap, context)
        if 49 <= i < 60:  # the last 10 bars had no volume
            assert agent.indicators("X") is None and not signals, i
        elif i >= 60:
            assert agent.indicators("X") is not None


def test_several_instances_in_one_run(eth: list[Candle]) -> None:
    """Two instances with different parameters fed the same snapshots keep their own state."""
    market = FakeMarket({"ETH/BTC": eth})
    options_b = {"window": 96, "volatility": "atr", "entry_z": 4.0, "exit_z": 1.0, "horizon": 24}
    a = make_instance(VwapReversion, "vwap_std")
    b = make_instance(VwapReversion, "vwap_atr", **options_b)
    context = AgentContext("run", SharedState())
    got: dict[str, list[Signal]] = {"vwap_std": [], "vwap_atr": []}
    for snap in market.snapshots():
        for agent in (a, b):
            got[agent.name] += agent.ais_agent_signals(snap, context)
    assert got["vwap_std"] == run(make_instance(VwapReversion, "vwap_std"), market)
    assert got["vwap_atr"] == run(make_instance(VwapReversion, "vwap_atr", **options_b), market)
    assert [(s.ts, s.direction) for s in got["vwap_std"]] != [(s.ts, s.direction) for s in got["vwap_atr"]]
    assert {s.horizon_s for s in got["vwap_std"]} == {48 * 300}
    assert {s.horizon_s for s in got["vwap_atr"]} == {24 * 300}
    assert all("ATR14 (" in s.rationale and "VWAP96 " in s.rationale for s in got["vwap_atr"])


@pytest.mark.parametrize("name", PAIRS)
def test_signals_of_both_directions_and_calibration_on_real_pairs(shared_data: Path, name: str) -> None:
    """LONG and SHORT on every pair; confidence, expected return and liquidity recomputed independently
    from prices and the agent's own earlier signals on the gap-free pairs."""
    candles = pair(shared_data, name)
    symbol = f"{name}/BTC"
    agent = make_instance(VwapReversion, "vr", liquidity_ref=50.0)
    signals = run(agent, FakeMarket({symbol: candles}))
    assert {LONG, SHORT, FLAT} <= {s.direction for s in signals}
    for s in signals:
        s.validate()
        assert s.expected_return >= 0.0
        assert s.horizon_s == 48 * 300
    hits, settled = agent.track_record(symbol)
    assert settled > 50
    if any(b.ts - a.ts != BAR for a, b in itertools.pairwise(candles)):
        return
    expected = reference(candles, 48)
    index = {c.ts + BAR: i for i, c in enumerate(candles)}
    closes = [c.close for c in candles]
    quote = [c.close * c.volume for c in candles]
    past: list[tuple[int, float]] = []  # (due ms, move) of earlier directional signals
    for s in signals:
        i = index[s.ts]
        vwap, _, z = expected[candles[i].ts]  # type: ignore[misc]
        moves = [m for due, m in past if due <= s.ts]
        n, h = len(moves), sum(1 for m in moves if m > 0)
        assert s.rationale.endswith(f"hit rate {h}/{n}")
        liquidity = 1 - math.exp(-math.fsum(quote[i - 47 : i + 1]) / 48 / 50.0)
        assert s.liquidity == pytest.approx(liquidity, rel=1e-9)
        if s.direction is FLAT:
            assert s.confidence == pytest.approx((h + 1) / (n + 2), rel=1e-12)
            assert s.expected_return == 0.0
            continue
        assert s.confidence == pytest.approx((h + 1) / (n + 2) * math.tanh(abs(z) / 2.0), rel=1e-9)
        prior = abs(closes[i] - vwap) / closes[i]
        want = max(0.0, sum(moves) / n) if n else prior
        assert s.expected_return == pytest.approx(want, rel=1e-9, abs=1e-15)
        sign = 1 if s.direction is LONG else -1
        if i + 48 < len(closes):
            past.append((s.ts + 48 * BAR, sign * (closes[i + 48] / closes[i] - 1)))
    assert (hits, settled) == (sum(1 for _, m in past if m > 0), len(past))


def test_symbols_are_independent_on_real_data(shared_data: Path) -> None:
    data = {f"{p}/BTC": pair(shared_data, p) for p in ("ADA", "ETH", "TRX")}
    together = run(make_instance(VwapReversion, "vr"), FakeMarket(data))
    for symbol, candles in data.items():
        alone = run(make_instance(VwapReversion, "vr"), FakeMarket({symbol: candles}))
        assert [s for s in together if s.symbol == symbol] == alone


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (
            {"entry_z": 1.0, "exit_z": 1.5},
            "`exit_z` must be less than `entry_z` (got entry_z = 1.0, exit_z = 1.5)",
        ),
        ({"window": 1}, "greater than 1"),
        ({"volatility": "range"}, "Input should be 'std' or 'atr'"),
        ({"atr_period": 0}, "greater than 0"),
        ({"entry_z": -2}, "greater than 0"),
        ({"exit_z": -0.5}, "greater than or equal to 0"),
        ({"horizon": 0}, "greater than 0"),
        ({"z_scale": 0}, "greater than 0"),
        ({"liquidity_ref": 0}, "greater than 0"),
        ({"lookback": 3}, "Extra inputs"),
    ],
)
def test_config_validation(options: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        VwapReversion.Config.model_validate(options)
    assert fragment in str(err.value)


def test_defaults() -> None:
    config = VwapReversion.Config.model_validate({"window": 30})
    assert (config.horizon_bars, config.z_scale_value, config.volatility) == (30, 2.0, "std")


class TestVwapReversionContract(AgentContract):
    @pytest.fixture
    def agent(self) -> VwapReversion:
        return make_instance(VwapReversion, "vwap_reversion")


class TestVwapReversionOnRealPairs(AgentContract):
    @pytest.fixture
    def market(self, shared_data: Path) -> FakeMarket:
        return FakeMarket({f"{p}/BTC": pair(shared_data, p) for p in ("TRX", "ETH")})

    @pytest.fixture
    def agent(self) -> VwapReversion:
        options = {"window": 96, "volatility": "atr", "entry_z": 3.0, "allow_short": False}
        return make_instance(VwapReversion, "atr", **options)
