"""The rsi_divergence agent on real and built candles: RSI and extremes, the divergence rule and its exits,
warm-up, gaps, calibration."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from ais_agents_classic.rsi_divergence import RsiDivergence
from pydantic import ValidationError

from ais.context import AgentContext, SharedState
from ais.domain.market import Candle, MarketSnapshot
from ais.domain.signals import Direction, Signal
from ais.testing import FakeMarket, make_instance, read_candles, synthetic_candles
from ais.testing.conformance import AgentContract

BAR = 300_000
PAIRS = ("ADA", "DASH", "ETC", "ETH", "LTC", "TRX", "XLM", "XMR", "ZEC")
LONG, SHORT, FLAT = Direction.LONG, Direction.SHORT, Direction.FLAT

Row = tuple[float, float, float, float, float]  # (RSI, P_hi, P_lo, R_hi, R_lo)


def run(agent: RsiDivergence, market: FakeMarket) -> list[Signal]:
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


def wilder_rsi(closes: list[float], period: int) -> list[float]:
    """Wilder's RSI by numpy: NaN for the first ``period`` closes, then ``100 × G / (G + L)`` with
    ``G``, ``L`` the average gain and loss, seeded with the mean of the first ``period`` changes and
    smoothed as ``(prev × (period − 1) + x) / period``."""
    np = pytest.importorskip("numpy")
    changes = np.diff(np.asarray(closes, dtype=float))
    gains = np.where(changes > 0, changes, 0.0)
    losses = np.where(changes < 0, -changes, 0.0)
    rsi = np.full(len(closes), np.nan)
    if len(changes) < period:
        return list(rsi)
    gain, loss = gains[:period].mean(), losses[:period].mean()
    for k in range(period, len(changes) + 1):
        if k > period:
            gain = (gain * (period - 1) + gains[k - 1]) / period
            loss = (loss * (period - 1) + losses[k - 1]) / period
        rsi[k] = 50.0 if gain + loss == 0 else 100.0 * gain / (gain + loss)
    return [float(x) for x in rsi]


def reference(candles: list[Candle], period: int, lookback: int) -> dict[int, Row | None]:
    """Per bar open time: RSI and the extremes of close and RSI over the previous ``lookback`` bars,
    each run of consecutive bars on its own; ``None`` during the warm-up."""
    np = pytest.importorskip("numpy")
    out: dict[int, Row | None] = {}
    for seg in segments(candles):
        closes = np.array([c.close for c in seg])
        rsi = np.array(wilder_rsi(list(closes), period))
        for i, c in enumerate(seg):
            if i < period + lookback:
                out[c.ts] = None
                continue
            prices, rsis = closes[i - lookback : i], rsi[i - lookback : i]
            out[c.ts] = (float(rsi[i]), prices.max(), prices.min(), rsis.max(), rsis.min())
    return out


@pytest.mark.parametrize("name", PAIRS)
@pytest.mark.parametrize(("period", "lookback"), [(14, 20), (6, 40)])
def test_indicators_match_numpy_on_every_real_pair(
    shared_data: Path, name: str, period: int, lookback: int
) -> None:
    """RSI and the lookback extremes of every bar of every pair, gaps included, to 1e-9 relative."""
    candles = pair(shared_data, name)
    expected = reference(candles, period, lookback)
    agent = make_instance(RsiDivergence, "rd", period=period, lookback=lookback)
    context = AgentContext("rd", SharedState())
    checked = 0
    for snap in FakeMarket({"X": candles}).snapshots():
        agent.ais_agent_signals(snap, context)
        want = expected[snap.candles["X"].ts]
        got = agent.indicators("X")
        if want is None:
            assert got is None, f"indicators before warm-up at {snap.ts}"
            continue
        assert got == pytest.approx(want, rel=1e-9, abs=0), snap.ts
        checked += 1
    assert checked == sum(v is not None for v in expected.values()) > 5000


def expected_views(
    rows: list[Row],
    closes: list[float],
    min_divergence: float,
    horizon: int,
    allow_short: bool,
) -> list[tuple[int, Direction, str]]:
    """The documented rule, written out again: ``(bar index, view, kind)`` for each change of view."""
    changes: list[tuple[int, Direction, str]] = []
    view: Direction | None = None
    held = 0
    for i, ((rsi, p_hi, p_lo, r_hi, r_lo), close) in enumerate(zip(rows, closes, strict=True)):
        new = view
        kind = ""
        if close > p_hi and 50 < rsi < r_hi - min_divergence:
            new, kind, held = (SHORT if allow_short else FLAT), "bearish", 0
        elif close < p_lo and r_lo + min_divergence < rsi < 50:
            new, kind, held = LONG, "bullish", 0
        elif view in (LONG, SHORT):
            held += 1
            if (view is LONG and rsi >= 50) or (view is SHORT and rsi <= 50):
                new, kind = FLAT, "midline"
            elif held >= horizon:
                new, kind = FLAT, "time"
        else:
            new, kind = FLAT, "none"
        if new is not view:
            changes.append((i, new, kind))  # type: ignore[arg-type]
        view = new
    return changes


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"min_divergence": 0.0, "horizon": 3},
        {"period": 9, "lookback": 30, "min_divergence": 5.0, "allow_short": False},
    ],
    ids=["defaults", "no-threshold-short-horizon", "long-only"],
)
def test_views_follow_the_documented_rule(eth: list[Candle], options: dict[str, object]) -> None:
    agent = make_instance(RsiDivergence, "rd", **options)
    period, lookback = agent.config.period, agent.config.lookback
    expected = reference(eth, period, lookback)
    start = period + lookback
    rows = [r for c in eth if (r := expected[c.ts]) is not None]
    closes = [c.close for c in eth[start:]]
    changes = expected_views(
        rows, closes, agent.config.min_divergence, agent.config.horizon_bars, agent.config.allow_short
    )
    signals = run(agent, FakeMarket({"ETH/BTC": eth}))
    assert [(s.ts, s.direction) for s in signals] == [(eth[start + i].ts + BAR, v) for i, v, _ in changes]
    kinds = {kind for _, _, kind in changes}
    assert {"bullish", "midline"} <= kinds
    for s, (i, _, kind) in zip(signals, changes, strict=True):
        rsi = rows[i][0]
        assert f"RSI{period} {rsi:.1f}" in s.rationale
        if kind == "bullish":
            assert s.rationale.startswith(f"bullish divergence: close {closes[i]:.6g} < {lookback}-bar low ")
        elif kind == "bearish":
            assert s.rationale.startswith(f"bearish divergence: close {closes[i]:.6g} > {lookback}-bar high ")
            if not agent.config.allow_short:
                assert ", shorting disabled, " in s.rationale
        elif kind == "midline":
            assert " back to 50 after " in s.rationale
        elif kind == "time":
            assert f", time stop after {agent.config.horizon_bars} bars" in s.rationale
        else:
            assert ", no divergence, " in s.rationale
    if options.get("horizon") == 3:
        assert "time" in kinds, "the time stop fires with a short horizon"


def test_no_signal_during_warm_up(eth: list[Candle]) -> None:
    agent = make_instance(RsiDivergence, "rd", period=14, lookback=20)
    context = AgentContext("rd", SharedState())
    for i, snap in enumerate(FakeMarket({"ETH/BTC": eth}).snapshots()):
        signals = agent.ais_agent_signals(snap, context)
        if i < 34:
            assert not signals and agent.indicators("ETH/BTC") is None, i
        else:
            assert agent.indicators("ETH/BTC") is not None
            if i == 34:
                assert [s.direction for s in signals] == [FLAT], "the first view comes at bar period+lookback"
                break


def gapped(n: int = 400, missing: int = 200) -> list[Candle]:
    candles = synthetic_candles(n, bar_ms=BAR, seed=4)
    return candles[:missing] + candles[missing + 1 :]


def test_gap_resets_indicators_and_restarts_warm_up() -> None:
    candles = gapped()
    agent = make_instance(RsiDivergence, "rd", period=5, lookback=10)
    expected = reference(candles, 5, 10)  # the reference restarts at the hole as well
    context = AgentContext("rd", SharedState())
    signal_times: list[int] = []
    for snap in FakeMarket({"X": candles}, bar_ms=BAR).snapshots():
        signal_times += [s.ts for s in agent.ais_agent_signals(snap, context)]
        want = expected[snap.candles["X"].ts]
        got = agent.indicators("X")
        assert (got is None) == (want is None)
        if want is not None:
            assert got == pytest.approx(want, rel=1e-9)
    assert expected[candles[200 + 14].ts] is None and expected[candles[200 + 15].ts] is not None
    post = [t for t in signal_times if t > candles[199].ts + BAR]
    # the bar after the hole may close an open view; the next signal comes after the warm-up
    assert all(t == candles[200].ts + BAR or t >= candles[200 + 15].ts + BAR for t in post)
    assert any(t >= candles[200 + 15].ts + BAR for t in post)


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
    make = lambda: make_instance(RsiDivergence, "a")  # noqa: E731
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
    signals = run(make_instance(RsiDivergence, "a"), FakeMarket({"E": eth}))
    index = {c.ts + BAR: i for i, c in enumerate(eth)}
    flat = next(
        s
        for s, after in itertools.pairwise(signals)
        if s.direction is FLAT and after.ts - s.ts > 60 * BAR and index[s.ts] > 300
    )
    i = index[flat.ts]
    holed = eth[: i + 2] + eth[i + 3 :]
    got = run(make_instance(RsiDivergence, "a"), FakeMarket({"E": holed}))
    after = [s for s in got if s.ts > flat.ts]
    fresh_run = run(make_instance(RsiDivergence, "a"), FakeMarket({"E": eth[i + 3 :]}))
    fresh = [(s.ts, s.direction) for s in fresh_run]
    assert fresh[0][1] is FLAT, "the fresh agent's first view is FLAT here"
    assert [(s.ts, s.direction) for s in after] == fresh[1:], "no FLAT is repeated after the gap"


def test_an_unflagged_hole_in_time_resets_too() -> None:
    candles = gapped()
    agent = make_instance(RsiDivergence, "rd", period=5, lookback=10)
    context = AgentContext("rd", SharedState())
    for bar in candles[:201]:
        agent.ais_agent_signals(MarketSnapshot(ts=bar.ts + BAR, candles={"X": bar}, bar_ms=BAR), context)
    assert agent.indicators("X") is None


def test_a_flagged_gap_resets_even_without_a_hole_in_time() -> None:
    candles = synthetic_candles(100, bar_ms=BAR, seed=6)
    agent = make_instance(RsiDivergence, "rd", period=5, lookback=10)
    context = AgentContext("rd", SharedState())
    for i, bar in enumerate(candles):
        gaps = frozenset({"X"}) if i == 60 else frozenset()
        snap = MarketSnapshot(ts=bar.ts + BAR, candles={"X": bar}, bar_ms=BAR, gaps=gaps)
        agent.ais_agent_signals(snap, context)
        if 60 <= i < 75:
            assert agent.indicators("X") is None, i
    want = reference(candles[60:], 5, 10)[candles[-1].ts]
    assert agent.indicators("X") == pytest.approx(want, rel=1e-9)


def test_a_repeated_bar_is_consumed_once() -> None:
    candles = synthetic_candles(80, bar_ms=BAR, seed=5)
    once = make_instance(RsiDivergence, "rd", period=5, lookback=8)
    twice = make_instance(RsiDivergence, "rd", period=5, lookback=8)
    context = AgentContext("rd", SharedState())
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
    options_b = {"period": 7, "lookback": 48, "min_divergence": 4.0, "horizon": 24}
    a = make_instance(RsiDivergence, "div_fast")
    b = make_instance(RsiDivergence, "div_slow", **options_b)
    context = AgentContext("run", SharedState())
    got: dict[str, list[Signal]] = {"div_fast": [], "div_slow": []}
    for snap in market.snapshots():
        for agent in (a, b):
            got[agent.name] += agent.ais_agent_signals(snap, context)
    assert got["div_fast"] == run(make_instance(RsiDivergence, "div_fast"), market)
    assert got["div_slow"] == run(make_instance(RsiDivergence, "div_slow", **options_b), market)
    assert [(s.ts, s.direction) for s in got["div_fast"]] != [(s.ts, s.direction) for s in got["div_slow"]]
    assert {s.horizon_s for s in got["div_fast"]} == {20 * 300}
    assert {s.horizon_s for s in got["div_slow"]} == {24 * 300}
    assert any("48-bar" in s.rationale and "RSI7 " in s.rationale for s in got["div_slow"])


@pytest.mark.parametrize("name", PAIRS)
def test_signals_of_both_directions_and_calibration_on_real_pairs(shared_data: Path, name: str) -> None:
    """LONG and SHORT on every pair; confidence, expected return and liquidity recomputed independently
    from prices and the agent's own earlier signals on the gap-free pairs."""
    candles = pair(shared_data, name)
    symbol = f"{name}/BTC"
    agent = make_instance(RsiDivergence, "rd", liquidity_ref=50.0)
    signals = run(agent, FakeMarket({symbol: candles}))
    assert {LONG, SHORT, FLAT} <= {s.direction for s in signals}
    for s in signals:
        s.validate()
        assert s.expected_return >= 0.0
        assert s.horizon_s == 20 * 300
    hits, settled = agent.track_record(symbol)
    assert settled > 30
    if any(b.ts - a.ts != BAR for a, b in itertools.pairwise(candles)):
        return
    expected = reference(candles, 14, 20)
    index = {c.ts + BAR: i for i, c in enumerate(candles)}
    closes = [c.close for c in candles]
    quote = [c.close * c.volume for c in candles]
    past: list[tuple[int, float]] = []  # (due ms, move) of earlier directional signals
    for s in signals:
        i = index[s.ts]
        rsi, p_hi, p_lo, r_hi, r_lo = expected[candles[i].ts]  # type: ignore[misc]
        moves = [m for due, m in past if due <= s.ts]
        n, h = len(moves), sum(1 for m in moves if m > 0)
        assert s.rationale.endswith(f"hit rate {h}/{n}")
        liquidity = 1 - math.exp(-math.fsum(quote[i - 19 : i + 1]) / 20 / 50.0)
        assert s.liquidity == pytest.approx(liquidity, rel=1e-9)
        if s.direction is FLAT:
            assert s.confidence == pytest.approx((h + 1) / (n + 2), rel=1e-12)
            assert s.expected_return == 0.0
            continue
        divergence = r_hi - rsi if s.direction is SHORT else rsi - r_lo
        assert divergence > 2.0
        assert s.confidence == pytest.approx((h + 1) / (n + 2) * math.tanh(divergence / 10.0), rel=1e-9)
        prior = abs(closes[i] - (p_hi + p_lo) / 2) / closes[i]
        want = max(0.0, sum(moves) / n) if n else prior
        assert s.expected_return == pytest.approx(want, rel=1e-9, abs=1e-15)
        sign = 1 if s.direction is LONG else -1
        if i + 20 < len(closes):
            past.append((s.ts + 20 * BAR, sign * (closes[i + 20] / closes[i] - 1)))
    assert (hits, settled) == (sum(1 for _, m in past if m > 0), len(past))


def test_symbols_are_independent_on_real_data(shared_data: Path) -> None:
    data = {f"{p}/BTC": pair(shared_data, p) for p in ("ADA", "ETH", "TRX")}
    together = run(make_instance(RsiDivergence, "rd"), FakeMarket(data))
    for symbol, candles in data.items():
        alone = run(make_instance(RsiDivergence, "rd"), FakeMarket({symbol: candles}))
        assert [s for s in together if s.symbol == symbol] == alone


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"period": 0}, "greater than 0"),
        ({"lookback": 1}, "greater than 1"),
        ({"min_divergence": -1}, "greater than or equal to 0"),
        ({"min_divergence": 100}, "less than 100"),
        ({"horizon": 0}, "greater than 0"),
        ({"divergence_scale": 0}, "greater than 0"),
        ({"liquidity_ref": 0}, "greater than 0"),
        ({"allow_short": "maybe"}, "valid boolean"),
        ({"window": 20}, "Extra inputs"),
    ],
)
def test_config_validation(options: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        RsiDivergence.Config.model_validate(options)
    assert fragment in str(err.value)


def test_horizon_defaults_to_lookback() -> None:
    assert RsiDivergence.Config.model_validate({"lookback": 30}).horizon_bars == 30
    assert RsiDivergence.Config.model_validate({"lookback": 30, "horizon": 6}).horizon_bars == 6


class TestRsiDivergenceContract(AgentContract):
    @pytest.fixture
    def agent(self) -> RsiDivergence:
        return make_instance(RsiDivergence, "rsi_divergence")


class TestRsiDivergenceOnRealPairs(AgentContract):
    @pytest.fixture
    def market(self, shared_data: Path) -> FakeMarket:
        return FakeMarket({f"{p}/BTC": pair(shared_data, p) for p in ("TRX", "ETH")})

    @pytest.fixture
    def agent(self) -> RsiDivergence:
        return make_instance(RsiDivergence, "tuned", period=9, lookback=36, min_divergence=4.0, horizon=12)
