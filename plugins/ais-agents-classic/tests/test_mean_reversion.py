"""The mean_reversion agent on real and built candles: indicator values, bands, warm-up, gaps, calibration."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from ais_agents_classic.mean_reversion import MeanReversion
from pydantic import ValidationError

from ais.context import AgentContext, SharedState
from ais.domain.market import Candle, MarketSnapshot
from ais.domain.signals import Direction, Signal
from ais.testing import FakeMarket, make_instance, read_candles, synthetic_candles
from ais.testing.conformance import AgentContract

BAR = 300_000
PAIRS = ("ADA", "DASH", "ETC", "ETH", "LTC", "TRX", "XLM", "XMR", "ZEC")
LONG, SHORT, FLAT = Direction.LONG, Direction.SHORT, Direction.FLAT


def run(agent: MeanReversion, market: FakeMarket) -> list[Signal]:
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


def reference(candles: list[Candle], window: int) -> dict[int, tuple[float, float, float] | None]:
    """``(mean, std, z)`` per bar open time by numpy, each run of consecutive bars on its own.

    Each window is taken relative to its first close (an exact subtraction for nearby prices), so a
    window of equal closes has a standard deviation of exactly 0 and a one-tick window keeps its digits.
    """
    np = pytest.importorskip("numpy")
    out: dict[int, tuple[float, float, float] | None] = {}
    for seg in segments(candles):
        closes = np.array([c.close for c in seg])
        if len(seg) >= window:
            windows = np.lib.stride_tricks.sliding_window_view(closes, window)
            shifted = windows - windows[:, :1]
            offsets, stds = shifted.mean(axis=1), shifted.std(axis=1)
            last = shifted[:, -1] - offsets  # close − mean
            means = windows[:, 0] + offsets
        for i, c in enumerate(seg):
            if i < window - 1:
                out[c.ts] = None
                continue
            j = i - window + 1
            mean, std = float(means[j]), float(stds[j])
            out[c.ts] = (mean, std, float(last[j]) / std if std > 0 else 0.0)
    return out


@pytest.mark.parametrize("name", PAIRS)
@pytest.mark.parametrize("window", [20, 7])
def test_indicators_match_numpy_on_every_real_pair(shared_data: Path, name: str, window: int) -> None:
    """Mean, standard deviation and z-score of every bar of every pair, gaps included (each run of
    consecutive bars warms up on its own), to 1e-9 relative (z: or 1e-9 absolute, see below)."""
    candles = pair(shared_data, name)
    expected = reference(candles, window)
    agent = make_instance(MeanReversion, "mr", window=window)
    context = AgentContext("mr", SharedState())
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
        # z is a difference quotient: a close equal to the mean gives 0 here and ±1e-14 in numpy
        # (its mean is rounded differently), so z also gets an absolute 1e-9, far below any band
        assert got[2] == pytest.approx(want[2], rel=1e-9, abs=1e-9), snap.ts
        checked += 1
    assert checked == sum(v is not None for v in expected.values()) > 5000


def band_views(zs: list[float], entry: float, exit_: float, allow_short: bool = True) -> list[Direction]:
    """The documented band rule, written out again: LONG at z ≤ −entry, SHORT at z ≥ entry, a
    directional view held while z stays beyond ∓exit on its side, else FLAT."""
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


@pytest.mark.parametrize("allow_short", [True, False])
def test_views_follow_the_bands(eth: list[Candle], allow_short: bool) -> None:
    """The signals are exactly the changes of the band rule applied to the numpy z-scores."""
    expected = reference(eth, 20)
    zs = [v[2] for c in eth if (v := expected[c.ts]) is not None]
    views = band_views(zs, 2.0, 0.5, allow_short)
    changes = [(eth[i + 19].ts + BAR, v) for i, v in enumerate(views) if i == 0 or v is not views[i - 1]]
    signals = run(make_instance(MeanReversion, "mr", allow_short=allow_short), FakeMarket({"ETH/BTC": eth}))
    assert [(s.ts, s.direction) for s in signals] == changes
    assert all(a.direction is not b.direction for a, b in itertools.pairwise(signals))
    for s in signals:
        z = float(s.rationale.split(" z ")[1].split()[0])
        assert s.rationale.endswith("shorting disabled") == (s.direction is FLAT and z >= 2.0)


def closes_to_candles(closes: list[float]) -> list[Candle]:
    start = 1_515_542_400_000
    return [Candle(start + i * BAR, c, c, c, c, 100.0) for i, c in enumerate(closes)]


def test_long_only_leaves_a_long_view_when_the_price_overshoots() -> None:
    """Without shorting, an overshoot above the upper band closes the LONG and says why."""
    closes = [1.0 + (0.01 if i % 2 else -0.01) for i in range(20)] + [0.95, 1.08]
    agent = make_instance(MeanReversion, "mr", window=20, allow_short=False)
    signals = run(agent, FakeMarket({"X": closes_to_candles(closes)}, bar_ms=BAR))
    assert [s.direction for s in signals] == [FLAT, LONG, FLAT]
    assert signals[-1].rationale.endswith(", shorting disabled")
    market = FakeMarket({"X": closes_to_candles(closes)})
    with_short = run(make_instance(MeanReversion, "mr", window=20), market)
    assert [s.direction for s in with_short] == [FLAT, LONG, SHORT]


def test_no_signal_during_warm_up(eth: list[Candle]) -> None:
    agent = make_instance(MeanReversion, "mr", window=30)
    signals = run(agent, FakeMarket({"ETH/BTC": eth}))
    assert signals[0].ts == eth[29].ts + BAR, "the first view is formed on the window-th bar"
    assert signals[0].direction is FLAT  # ETH/BTC is inside its bands then


def gapped(n: int = 400, missing: int = 200) -> list[Candle]:
    candles = synthetic_candles(n, bar_ms=BAR, seed=4)
    return candles[:missing] + candles[missing + 1 :]


def test_gap_resets_indicators_and_restarts_warm_up() -> None:
    candles = gapped()
    agent = make_instance(MeanReversion, "mr", window=20)
    context = AgentContext("mr", SharedState())
    signal_times: list[int] = []
    after: list[float] = []
    for snap in FakeMarket({"X": candles}, bar_ms=BAR).snapshots():
        signal_times += [s.ts for s in agent.ais_agent_signals(snap, context)]
        bar = snap.candles["X"]
        if bar.ts >= candles[200].ts:
            after.append(bar.close)
            got = agent.indicators("X")
            if len(after) < 20:
                assert got is None, "warm-up must start again after a gap"
            else:
                mean = math.fsum(after[-20:]) / 20
                std = math.sqrt(math.fsum((x - mean) ** 2 for x in after[-20:]) / 20)
                assert got == pytest.approx((mean, std, (after[-1] - mean) / std), rel=1e-9)
    post = [t for t in signal_times if t > candles[199].ts + BAR]
    # the bar after the hole may close an open view; the next signal comes after the warm-up
    assert all(t == candles[200].ts + BAR or t >= candles[200 + 19].ts + BAR for t in post)
    assert any(t >= candles[200 + 19].ts + BAR for t in post)


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
    make = lambda: make_instance(MeanReversion, "a")  # noqa: E731
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
    signals = run(make_instance(MeanReversion, "a"), FakeMarket({"E": eth}))
    index = {c.ts + BAR: i for i, c in enumerate(eth)}
    flat = next(
        s
        for s, after in itertools.pairwise(signals)
        if s.direction is FLAT and after.ts - s.ts > 60 * BAR and index[s.ts] > 300
    )
    i = index[flat.ts]
    holed = eth[: i + 2] + eth[i + 3 :]
    got = run(make_instance(MeanReversion, "a"), FakeMarket({"E": holed}))
    after = [s for s in got if s.ts > flat.ts]
    fresh_run = run(make_instance(MeanReversion, "a"), FakeMarket({"E": eth[i + 3 :]}))
    fresh = [(s.ts, s.direction) for s in fresh_run]
    assert fresh[0][1] is FLAT, "the fresh agent's first view is FLAT here"
    assert [(s.ts, s.direction) for s in after] == fresh[1:], "no FLAT is repeated after the gap"


def test_an_unflagged_hole_in_time_resets_too() -> None:
    candles = gapped()
    agent = make_instance(MeanReversion, "mr", window=20)
    context = AgentContext("mr", SharedState())
    for bar in candles[:201]:
        agent.ais_agent_signals(MarketSnapshot(ts=bar.ts + BAR, candles={"X": bar}, bar_ms=BAR), context)
    assert agent.indicators("X") is None


def test_a_flagged_gap_resets_even_without_a_hole_in_time() -> None:
    candles = synthetic_candles(100, bar_ms=BAR, seed=6)
    agent = make_instance(MeanReversion, "mr", window=10)
    context = AgentContext("mr", SharedState())
    for i, bar in enumerate(candles):
        gaps = frozenset({"X"}) if i == 60 else frozenset()
        snap = MarketSnapshot(ts=bar.ts + BAR, candles={"X": bar}, bar_ms=BAR, gaps=gaps)
        agent.ais_agent_signals(snap, context)
        if 60 <= i < 69:
            assert agent.indicators("X") is None, i
    closes = [c.close for c in candles[90:]]
    mean = math.fsum(closes) / 10
    assert agent.indicators("X")[0] == pytest.approx(mean, rel=1e-12)  # type: ignore[index]


def test_a_repeated_bar_is_consumed_once() -> None:
    candles = synthetic_candles(60, bar_ms=BAR, seed=5)
    once = make_instance(MeanReversion, "mr", window=8)
    twice = make_instance(MeanReversion, "mr", window=8)
    context = AgentContext("mr", SharedState())
    for bar in candles:
        snap = MarketSnapshot(ts=bar.ts + BAR, candles={"X": bar}, bar_ms=BAR)
        once.ais_agent_signals(snap, context)
        twice.ais_agent_signals(snap, context)
        repeat = MarketSnapshot(ts=snap.ts + 1, candles={"X": bar}, bar_ms=BAR)
        assert not twice.ais_agent_signals(repeat, context)
    assert once.indicators("X") == twice.indicators("X")


def test_several_instances_in_one_run(eth: list[Candle]) -> None:
    """Two instances with different parameters fed the same snapshots keep their own state."""
    market = FakeMarket({"ETH/BTC": eth})
    a = make_instance(MeanReversion, "bands_20", window=20)
    b = make_instance(MeanReversion, "bands_50", window=50, entry_z=2.5, exit_z=0.0, horizon=12)
    context = AgentContext("run", SharedState())
    got: dict[str, list[Signal]] = {"bands_20": [], "bands_50": []}
    for snap in market.snapshots():
        for agent in (a, b):
            got[agent.name] += agent.ais_agent_signals(snap, context)
    assert got["bands_20"] == run(make_instance(MeanReversion, "bands_20", window=20), market)
    alone_b = make_instance(MeanReversion, "bands_50", window=50, entry_z=2.5, exit_z=0.0, horizon=12)
    assert got["bands_50"] == run(alone_b, market)
    assert [(s.ts, s.direction) for s in got["bands_20"]] != [(s.ts, s.direction) for s in got["bands_50"]]
    assert {s.horizon_s for s in got["bands_20"]} == {20 * 300}
    assert {s.horizon_s for s in got["bands_50"]} == {12 * 300}
    assert all(s.rationale.startswith("close ") and " vs SMA50 " in s.rationale for s in got["bands_50"])


@pytest.mark.parametrize("name", PAIRS)
def test_signals_of_both_directions_and_calibration_on_real_pairs(shared_data: Path, name: str) -> None:
    """LONG and SHORT on every pair; confidence, expected return and liquidity recomputed independently
    from prices and the agent's own earlier signals on the gap-free pairs."""
    candles = pair(shared_data, name)
    symbol = f"{name}/BTC"
    agent = make_instance(MeanReversion, "mr", liquidity_ref=50.0)
    signals = run(agent, FakeMarket({symbol: candles}))
    assert {LONG, SHORT, FLAT} <= {s.direction for s in signals}
    for s in signals:
        s.validate()
        assert s.expected_return >= 0.0
        assert s.horizon_s == 20 * 300
    hits, settled = agent.track_record(symbol)
    assert settled > 50
    if any(b.ts - a.ts != BAR for a, b in itertools.pairwise(candles)):
        return
    expected = reference(candles, 20)
    index = {c.ts + BAR: i for i, c in enumerate(candles)}
    closes = [c.close for c in candles]
    quote = [c.close * c.volume for c in candles]
    past: list[tuple[int, float]] = []  # (due ms, move) of earlier directional signals
    for s in signals:
        i = index[s.ts]
        mean, _, z = expected[candles[i].ts]  # type: ignore[misc]
        moves = [m for due, m in past if due <= s.ts]
        n, h = len(moves), sum(1 for m in moves if m > 0)
        assert s.rationale.endswith(f"hit rate {h}/{n}")
        assert f"z {z:+.2f} " in s.rationale
        liquidity = 1 - math.exp(-math.fsum(quote[i - 19 : i + 1]) / 20 / 50.0)
        assert s.liquidity == pytest.approx(liquidity, rel=1e-9)
        if s.direction is FLAT:
            assert s.confidence == pytest.approx((h + 1) / (n + 2), rel=1e-12)
            assert s.expected_return == 0.0
            continue
        assert s.confidence == pytest.approx((h + 1) / (n + 2) * math.tanh(abs(z) / 2.0), rel=1e-9)
        prior = abs(closes[i] - mean) / closes[i]
        want = max(0.0, sum(moves) / n) if n else prior
        assert s.expected_return == pytest.approx(want, rel=1e-9, abs=1e-15)
        sign = 1 if s.direction is LONG else -1
        if i + 20 < len(closes):
            past.append((s.ts + 20 * BAR, sign * (closes[i + 20] / closes[i] - 1)))
    assert (hits, settled) == (sum(1 for _, m in past if m > 0), len(past))


def test_symbols_are_independent_on_real_data(shared_data: Path) -> None:
    data = {f"{p}/BTC": pair(shared_data, p) for p in ("ADA", "ETH", "TRX")}
    together = run(make_instance(MeanReversion, "mr"), FakeMarket(data))
    for symbol, candles in data.items():
        alone = run(make_instance(MeanReversion, "mr"), FakeMarket({symbol: candles}))
        assert [s for s in together if s.symbol == symbol] == alone


def test_a_flat_window_gives_z_zero_and_no_entry() -> None:
    candles = [Candle(1_515_542_400_000 + i * BAR, 1.0, 1.0, 1.0, 1.0, 10.0) for i in range(30)]
    agent = make_instance(MeanReversion, "mr", window=10)
    signals = run(agent, FakeMarket({"X": candles}, bar_ms=BAR))
    assert [s.direction for s in signals] == [FLAT]
    assert agent.indicators("X") == (1.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (
            {"entry_z": 1.0, "exit_z": 1.0},
            "`exit_z` must be less than `entry_z` (got entry_z = 1.0, exit_z = 1.0)",
        ),
        ({"entry_z": 0.5}, "`exit_z` must be less than `entry_z`"),
        ({"window": 1}, "greater than 1"),
        ({"entry_z": 0}, "greater than 0"),
        ({"exit_z": -0.1}, "greater than or equal to 0"),
        ({"horizon": 0}, "greater than 0"),
        ({"z_scale": 0}, "greater than 0"),
        ({"liquidity_ref": -1}, "greater than 0"),
        ({"window": "many"}, "valid integer"),
        ({"lookback": 3}, "Extra inputs"),
    ],
)
def test_config_validation(options: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        MeanReversion.Config.model_validate(options)
    assert fragment in str(err.value)


def test_defaults() -> None:
    config = MeanReversion.Config.model_validate({"window": 30})
    assert (config.horizon_bars, config.z_scale_value) == (30, 2.0)
    config = MeanReversion.Config.model_validate({"horizon": 6, "entry_z": 3.0, "z_scale": 1.0})
    assert (config.horizon_bars, config.z_scale_value) == (6, 1.0)


class TestMeanReversionContract(AgentContract):
    @pytest.fixture
    def agent(self) -> MeanReversion:
        return make_instance(MeanReversion, "mean_reversion")


class TestMeanReversionOnRealPairs(AgentContract):
    @pytest.fixture
    def market(self, shared_data: Path) -> FakeMarket:
        return FakeMarket({f"{p}/BTC": pair(shared_data, p) for p in ("TRX", "ETH")})

    @pytest.fixture
    def agent(self) -> MeanReversion:
        return make_instance(MeanReversion, "tuned", window=40, entry_z=2.5, exit_z=0.0, allow_short=False)
