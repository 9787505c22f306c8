"""The pairs agent on real ETH/BTC & LTC/BTC (and XMR/BTC & ZEC/BTC, which have holes): the rolling OLS
hedge ratio, spread and z-score against numpy, every signal against an independent replay, both legs in
one group, warm-up, gaps in either leg, instances, config, conformance, and the legs through the cycle."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import pytest
from ais_agents_classic.pairs import Pairs
from pydantic import ValidationError

from ais import Plugin, PluginConfig, hookimpl
from ais.context import AgentContext, SharedState
from ais.domain.market import Candle, MarketSnapshot
from ais.domain.signals import Direction, Signal
from ais.testing import FakeMarket, make_instance, read_candles
from ais.testing.conformance import AgentContract

np = pytest.importorskip("numpy")

BAR = 300_000
ETH, LTC, XMR, ZEC = "ETH/BTC", "LTC/BTC", "XMR/BTC", "ZEC/BTC"
L, S, F = Direction.LONG, Direction.SHORT, Direction.FLAT


def run(agent: Pairs, market: FakeMarket) -> list[Signal]:
    context = AgentContext(agent.name, SharedState())
    out: list[Signal] = []
    for snap in market.snapshots():
        out.extend(agent.ais_agent_signals(snap, context))
    return out


def feed(agent: Pairs, bars: dict[str, Candle], ts: int, gaps: frozenset[str] = frozenset()) -> list[Signal]:
    snap = MarketSnapshot(ts=ts + BAR, candles=bars, bar_ms=BAR, gaps=gaps)
    return list(agent.ais_agent_signals(snap, AgentContext(agent.name, SharedState())))


def legs_of(signals: list[Signal]) -> list[tuple[Signal, Signal]]:
    assert len(signals) % 2 == 0, "legs come in twos"
    return list(zip(signals[::2], signals[1::2], strict=True))


def candles_of(shared_data: Path, symbol: str) -> list[Candle]:
    return read_candles(shared_data / "binance-5m-2018-01" / f"{symbol.replace('/', '_')}.csv")


@pytest.fixture(scope="module")
def eth_ltc(shared_data: Path) -> dict[str, list[Candle]]:
    data = {ETH: candles_of(shared_data, ETH), LTC: candles_of(shared_data, LTC)}
    assert [c.ts for c in data[ETH]] == [c.ts for c in data[LTC]], "the two series are aligned"
    assert all(b.ts - a.ts == BAR for a, b in itertools.pairwise(data[ETH])), "and gap-free"
    return data


# ---- an independent numpy reference -------------------------------------------------------------


class Reference:
    """beta, alpha, spread, z for aligned gap-free series, with numpy over the whole series (NaN before
    each is defined)."""

    def __init__(self, a: list[Candle], b: list[Candle], window: int, z_window: int, intercept: bool) -> None:
        view = np.lib.stride_tricks.sliding_window_view
        self.a = np.array([c.close for c in a])
        self.b = np.array([c.close for c in b])
        y, x = np.log(self.a), np.log(self.b)
        n = len(a)
        xs, ys = view(x, window), view(y, window)
        dx = xs - xs.mean(axis=1, keepdims=True)
        dy = ys - ys.mean(axis=1, keepdims=True)
        beta = (dx * dy).sum(axis=1) / (dx * dx).sum(axis=1)
        alpha = ys.mean(axis=1) - beta * xs.mean(axis=1)
        self.beta = np.full(n, np.nan)
        self.beta[window - 1 :] = beta
        self.spread = np.full(n, np.nan)
        self.spread[window - 1 :] = y[window - 1 :] - beta * x[window - 1 :] - (alpha if intercept else 0.0)
        windows = view(self.spread[window - 1 :], z_window)
        self.mean = np.full(n, np.nan)
        self.std = np.full(n, np.nan)
        self.mean[window + z_window - 2 :] = windows.mean(axis=1)
        self.std[window + z_window - 2 :] = windows.std(axis=1)  # population (ddof = 0)
        self.z = (self.spread - self.mean) / self.std
        quote = view(self.a * np.array([c.volume for c in a]), window).mean(axis=1)
        self.quote_a = np.full(n, np.nan)
        self.quote_a[window - 1 :] = quote
        quote = view(self.b * np.array([c.volume for c in b]), window).mean(axis=1)
        self.quote_b = np.full(n, np.nan)
        self.quote_b[window - 1 :] = quote


def replay(a: list[Candle], b: list[Candle], **options: Any) -> list[tuple[int, int, float, float, float]]:
    """The documented rule on the numpy reference: per change of position, ``(bar, position,
    confidence, expected return, leg weight of a)``; position +1 long a / short b, −1 the reverse."""
    config = Pairs.Config.model_validate({"legs": [ETH, LTC], **options})
    ref = Reference(a, b, config.window, config.z_window, config.intercept)
    horizon = config.horizon_bars
    position, weight_a = 0, 0.5
    opened: list[tuple[int, int, float, float, float, float]] = []
    out = []
    for t in range(config.window + config.z_window - 2, len(a)):
        z, beta = ref.z[t], ref.beta[t]
        if z >= config.entry_z and beta > 0:
            wanted = -1
        elif z <= -config.entry_z and beta > 0:
            wanted = 1
        elif abs(z) <= config.exit_z:
            wanted = 0
        else:
            continue
        if wanted == position:
            continue
        position = wanted
        moves = [
            sign * (wa * (ref.a[due] / a0 - 1) - wb * (ref.b[due] / b0 - 1))
            for due, sign, a0, b0, wa, wb in opened
            if due <= t
        ]
        hits, n = sum(1 for m in moves if m > 0), len(moves)
        hit_rate = (hits + 1) / (n + 2)
        if not wanted:
            out.append((t, 0, hit_rate, 0.0, weight_a))
            continue
        weight_a, weight_b = 1 / (1 + beta), beta / (1 + beta)
        prior = abs(ref.spread[t] - ref.mean[t]) / (1 + beta)
        expected = max(0.0, sum(moves) / n) if n else prior
        out.append((t, wanted, hit_rate * math.tanh(abs(z) / config.z_scale), expected, weight_a))
        if t + horizon < len(a):
            opened.append((t + horizon, wanted, ref.a[t], ref.b[t], weight_a, weight_b))
    return out


# ---- indicators and the rule --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"intercept": False},
        {"window": 50, "z_window": 20},
        {"window": 1000, "z_window": 500, "intercept": False},
    ],
)
def test_beta_spread_and_z_match_numpy_over_the_whole_series(
    eth_ltc: dict[str, list[Candle]], options: dict[str, Any]
) -> None:
    agent = make_instance(Pairs, "pairs", legs=[ETH, LTC], **options)
    config = agent.config
    a, b = eth_ltc[ETH], eth_ltc[LTC]
    ref = Reference(a, b, config.window, config.z_window, config.intercept)
    first_z = config.window + config.z_window - 2
    checked = 0
    for i, (bar_a, bar_b) in enumerate(zip(a, b, strict=True)):
        feed(agent, {ETH: bar_a, LTC: bar_b}, bar_a.ts)
        got = agent.indicators()
        if i < config.window - 1:
            assert got is None, f"a hedge ratio before {config.window} joint bars (bar {i})"
            continue
        assert got is not None
        beta, spread, z = got
        assert beta == pytest.approx(ref.beta[i], rel=1e-9, abs=0)
        # the residual spread crosses 0: absolute 1e-12 on log prices of magnitude ~3 is far below 1e-9 rel
        assert spread == pytest.approx(ref.spread[i], rel=1e-9, abs=1e-12)
        if i < first_z:
            assert z is None, f"a z-score before {config.z_window} spreads (bar {i})"
            continue
        assert z == pytest.approx(ref.z[i], rel=1e-9, abs=1e-9)
        checked += 1
    assert checked == len(a) - first_z


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"intercept": False},
        {"window": 144, "z_window": 48, "entry_z": 2.5, "exit_z": 0.0, "horizon": 24, "z_scale": 1.0},
    ],
)
def test_every_signal_matches_an_independent_replay(
    eth_ltc: dict[str, list[Candle]], options: dict[str, Any]
) -> None:
    a, b = eth_ltc[ETH], eth_ltc[LTC]
    agent = make_instance(Pairs, "pairs", legs=[ETH, LTC], liquidity_ref=30.0, **options)
    signals = run(agent, FakeMarket(eth_ltc))
    expected = replay(a, b, **options)
    assert len(expected) > 10
    assert len(signals) == 2 * len(expected), "two legs per change"
    ref = Reference(a, b, agent.config.window, agent.config.z_window, agent.config.intercept)
    for (leg_a, leg_b), (t, position, confidence, expected_return, weight_a) in zip(
        legs_of(signals), expected, strict=True
    ):
        assert (leg_a.symbol, leg_b.symbol) == (ETH, LTC)
        assert leg_a.ts == leg_b.ts == a[t].ts + BAR
        directions = {1: (L, S), -1: (S, L), 0: (F, F)}[position]
        assert (leg_a.direction, leg_b.direction) == directions
        for leg in (leg_a, leg_b):
            assert leg.group == f"pairs:{ETH}|{LTC}"
            assert leg.confidence == pytest.approx(confidence, rel=1e-9)
            assert leg.expected_return == pytest.approx(expected_return, rel=1e-9, abs=1e-15)
            assert leg.rationale == leg_a.rationale
        assert leg_a.leg_weight == pytest.approx(weight_a, rel=1e-9)
        assert leg_b.leg_weight == pytest.approx(1 - weight_a, rel=1e-9)
        assert leg_a.liquidity == pytest.approx(1 - math.exp(-ref.quote_a[t] / 30.0), rel=1e-9)
        assert leg_b.liquidity == pytest.approx(1 - math.exp(-ref.quote_b[t] / 30.0), rel=1e-9)
    assert agent.track_record()[1] > 10


def test_rationale_names_the_rich_and_the_cheap_leg(eth_ltc: dict[str, list[Candle]]) -> None:
    signals = run(make_instance(Pairs, "pairs", legs=[ETH, LTC]), FakeMarket(eth_ltc))
    short_a = next(s for s in signals if s.symbol == ETH and s.direction is S)
    assert short_a.rationale.startswith("z +")
    assert f"≥ +2: short {ETH}, long {LTC}; beta " in short_a.rationale
    long_a = next(s for s in signals if s.symbol == ETH and s.direction is L)
    assert f"≤ -2: short {LTC}, long {ETH}; beta " in long_a.rationale
    flat = next(s for s in signals if s.direction is F)
    assert "within ±0.5: close the pair" in flat.rationale


def test_no_signal_during_warm_up(eth_ltc: dict[str, list[Candle]]) -> None:
    agent = make_instance(Pairs, "pairs", legs=[ETH, LTC], window=100, z_window=50)
    signals = run(agent, FakeMarket(eth_ltc))
    assert signals
    assert min(s.ts for s in signals) >= eth_ltc[ETH][148].ts + BAR, "the first z is on joint bar 148"


@pytest.mark.parametrize(("a", "b"), [(ETH, LTC), (XMR, ZEC), (LTC, ETH)])
def test_legs_of_both_directions_on_real_pairs(shared_data: Path, a: str, b: str) -> None:
    market = FakeMarket({a: candles_of(shared_data, a), b: candles_of(shared_data, b)})
    agent = make_instance(Pairs, "pairs", legs=[a, b], liquidity_ref=30.0)
    signals = run(agent, market)
    seen = set()
    previous = (F, F)
    for leg_a, leg_b in legs_of(signals):
        for leg in (leg_a, leg_b):
            leg.validate()
            assert leg.agent == "pairs" and leg.group == f"pairs:{a}|{b}" and leg.horizon_s == 96 * 300
        assert (leg_a.symbol, leg_b.symbol, leg_a.ts) == (a, b, leg_b.ts)
        pair = (leg_a.direction, leg_b.direction)
        assert pair in ((L, S), (S, L), (F, F))
        assert pair != previous, "edge-triggered"
        assert leg_a.leg_weight + leg_b.leg_weight == pytest.approx(1.0)
        if pair != (F, F):
            assert leg_a.expected_return >= 0.0 and leg_a.confidence > 0.0
            beta = float(leg_a.rationale.split("beta ")[1].split(",")[0])
            assert leg_b.leg_weight / leg_a.leg_weight == pytest.approx(beta, abs=1e-3)
        seen.add(pair)
        previous = pair
    assert seen == {(L, S), (S, L), (F, F)}
    hits, settled = agent.track_record()
    assert 0 < hits < settled


# ---- gaps ---------------------------------------------------------------------------------------------


def test_a_missing_bar_of_either_leg_resets_both_and_closes_the_pair(
    eth_ltc: dict[str, list[Candle]],
) -> None:
    a, b = eth_ltc[ETH], eth_ltc[LTC]
    signals = run(make_instance(Pairs, "pairs", legs=[ETH, LTC]), FakeMarket(eth_ltc))
    entry = next(  # a position still open two bars later
        s for s, n in itertools.pairwise(signals[::2]) if s.direction is not F and n.ts > s.ts + 2 * BAR
    )
    i = next(i for i, c in enumerate(a) if c.ts + BAR == entry.ts)
    # LTC/BTC misses the bar after the entry: that bar (ETH/BTC alone) closes the pair
    agent = make_instance(Pairs, "pairs", legs=[ETH, LTC])
    gapped = run(agent, FakeMarket({ETH: a, LTC: b[: i + 1] + b[i + 2 :]}))
    assert gapped[: signals.index(entry) + 2] == signals[: signals.index(entry) + 2]
    closing = [s for s in gapped if s.ts > entry.ts][:2]
    at = a[i + 1].ts + BAR
    assert [(s.symbol, s.direction, s.ts) for s in closing] == [(ETH, F, at), (LTC, F, at)]
    assert closing[0].rationale.startswith(f"no bar of {LTC}: close the pair, warming up again")
    assert closing[0].leg_weight == entry.leg_weight, "the FLAT legs repeat the entry's split"
    # selectable by arbitration: a FLAT scores confidence × liquidity, both must be > 0
    assert all(s.confidence > 0.0 and s.liquidity > 0.0 for s in closing)
    later = [s for s in gapped if s.ts > closing[0].ts]
    assert all(s.ts >= a[i + 2 + 288 + 96 - 2].ts + BAR for s in later), "both windows warm up again"


def test_indicators_restart_after_a_gap(eth_ltc: dict[str, list[Candle]]) -> None:
    a, b = eth_ltc[ETH], eth_ltc[LTC]
    agent = make_instance(Pairs, "pairs", legs=[ETH, LTC], window=50, z_window=20)
    for i in range(600):
        if i == 300:
            feed(agent, {ETH: a[i]}, a[i].ts)  # LTC/BTC has no bar here
            assert agent.indicators() is None
            continue
        feed(agent, {ETH: a[i], LTC: b[i]}, a[i].ts)
        if 300 < i < 350:
            assert agent.indicators() is None, f"the regression restarts after the hole (bar {i})"
        elif i >= 350:
            got = agent.indicators()
            assert got is not None and (got[2] is None) == (i < 369)
    ref = Reference(a[301:600], b[301:600], 50, 20, True)
    got = agent.indicators()
    assert got is not None
    assert got[0] == pytest.approx(ref.beta[-1], rel=1e-9)
    assert got[2] == pytest.approx(ref.z[-1], rel=1e-9)


def test_a_hole_in_time_or_a_flagged_gap_resets(eth_ltc: dict[str, list[Candle]]) -> None:
    a, b = eth_ltc[ETH], eth_ltc[LTC]
    unflagged = make_instance(Pairs, "pairs", legs=[ETH, LTC], window=10, z_window=5)
    flagged = make_instance(Pairs, "pairs", legs=[ETH, LTC], window=10, z_window=5)
    for i in range(100):
        if i != 50:  # both legs miss bar 50, and the provider does not say so
            feed(unflagged, {ETH: a[i], LTC: b[i]}, a[i].ts)
        feed(flagged, {ETH: a[i], LTC: b[i]}, a[i].ts, frozenset({LTC}) if i == 70 else frozenset())
        if 51 <= i < 60:
            assert unflagged.indicators() is None, i
        if 70 <= i < 79:
            assert flagged.indicators() is None, i
    assert unflagged.indicators() is not None and flagged.indicators() is not None


def test_real_holes_in_xmr_and_zec(shared_data: Path) -> None:
    """XMR/BTC misses 2 bars and ZEC/BTC 3: the pair never computes across one of them."""
    data = {XMR: candles_of(shared_data, XMR), ZEC: candles_of(shared_data, ZEC)}
    times = {s: {c.ts for c in cs} for s, cs in data.items()}
    holes = sorted((times[XMR] | times[ZEC]) - (times[XMR] & times[ZEC]))
    assert len(holes) == 5
    agent = make_instance(Pairs, "pairs", legs=[XMR, ZEC], window=20, z_window=10)
    context = AgentContext("pairs", SharedState())
    since_hole = 10**9
    for snap in FakeMarket(data).snapshots():
        agent.ais_agent_signals(snap, context)
        bar_ts = snap.ts - BAR
        since_hole = 0 if bar_ts in holes else since_hole + 1
        if since_hole < 20:
            assert agent.indicators() is None, f"{since_hole} joint bars after a hole"


def test_a_repeated_snapshot_is_consumed_once(eth_ltc: dict[str, list[Candle]]) -> None:
    a, b = eth_ltc[ETH], eth_ltc[LTC]
    once = make_instance(Pairs, "pairs", legs=[ETH, LTC], window=100, z_window=30)
    twice = make_instance(Pairs, "pairs", legs=[ETH, LTC], window=100, z_window=30)
    x: list[Signal] = []
    y: list[Signal] = []
    for i in range(2000):
        x += feed(once, {ETH: a[i], LTC: b[i]}, a[i].ts)
        y += feed(twice, {ETH: a[i], LTC: b[i]}, a[i].ts)
        y += feed(twice, {ETH: a[i], LTC: b[i]}, a[i].ts)
        y += feed(twice, {ETH: a[i]}, a[i].ts)  # a repeat of one leg alone is no hole either
    assert x and x == y


# ---- symbols, instances ---------------------------------------------------------------------------------


def test_other_symbols_do_not_influence_the_pair(shared_data: Path, eth_ltc: dict[str, list[Candle]]) -> None:
    alone = run(make_instance(Pairs, "pairs", legs=[ETH, LTC]), FakeMarket(eth_ltc))
    crowd = {**eth_ltc, XMR: candles_of(shared_data, XMR), ZEC: candles_of(shared_data, ZEC)}
    assert run(make_instance(Pairs, "pairs", legs=[ETH, LTC]), FakeMarket(crowd)) == alone
    assert run(make_instance(Pairs, "pairs", legs=[ETH, LTC]), FakeMarket({ETH: eth_ltc[ETH]})) == []


def test_several_instances_in_one_run(shared_data: Path, eth_ltc: dict[str, list[Candle]]) -> None:
    market = FakeMarket({**eth_ltc, XMR: candles_of(shared_data, XMR), ZEC: candles_of(shared_data, ZEC)})
    first = make_instance(Pairs, "eth_ltc", legs=[ETH, LTC])
    second = make_instance(Pairs, "xmr_zec", legs=[XMR, ZEC], window=144, z_window=48, entry_z=2.5)
    third = make_instance(Pairs, "ltc_xmr", legs=[LTC, XMR], intercept=False)
    together: dict[str, list[Signal]] = {agent.name: [] for agent in (first, second, third)}
    for snap in market.snapshots():
        for agent in (first, second, third):
            together[agent.name] += agent.ais_agent_signals(snap, AgentContext(agent.name, SharedState()))
    for agent in (first, second, third):
        assert together[agent.name], agent.name
        assert together[agent.name] == run(type(agent)(agent.name, agent.config), market)
        a, b = agent.legs
        assert {s.group for s in together[agent.name]} == {f"{agent.name}:{a}|{b}"} == {agent.group}
        assert {s.symbol for s in together[agent.name]} == {a, b}
    assert {s.horizon_s for s in together["xmr_zec"]} == {48 * 300}


# ---- config -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({}, "legs\n  Field required"),
        ({"legs": [ETH]}, "`legs` must name exactly two symbols, [a, b] (got 1: ['ETH/BTC'])"),
        ({"legs": [ETH, LTC, XMR]}, "`legs` must name exactly two symbols, [a, b] (got 3: "),
        ({"legs": [ETH, ETH]}, "`legs` must name two different symbols (got ETH/BTC twice)"),
        ({"legs": [ETH, " "]}, "`legs` must not contain an empty symbol"),
        ({"legs": "ETH/BTC,LTC/BTC"}, "legs\n  Input should be a valid list"),
        (
            {"legs": [ETH, LTC], "exit_z": 2.0},
            "`exit_z` must be smaller than `entry_z` (got exit_z = 2.0, entry_z = 2.0)",
        ),
        ({"legs": [ETH, LTC], "entry_z": 1.0, "exit_z": 1.5}, "`exit_z` must be smaller than `entry_z`"),
        ({"legs": [ETH, LTC], "window": 2}, "window\n  Input should be greater than or equal to 3"),
        ({"legs": [ETH, LTC], "z_window": 1}, "z_window\n  Input should be greater than or equal to 2"),
        ({"legs": [ETH, LTC], "entry_z": 0}, "entry_z\n  Input should be greater than 0"),
        ({"legs": [ETH, LTC], "exit_z": -0.5}, "exit_z\n  Input should be greater than or equal to 0"),
        ({"legs": [ETH, LTC], "horizon": 0}, "horizon\n  Input should be greater than 0"),
        ({"legs": [ETH, LTC], "z_scale": 0}, "z_scale\n  Input should be greater than 0"),
        ({"legs": [ETH, LTC], "hedge": "ols"}, "hedge\n  Extra inputs are not permitted"),
    ],
)
def test_config_validation(options: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        Pairs.Config.model_validate(options)
    assert fragment in str(err.value)


def test_horizon_defaults_to_z_window() -> None:
    assert Pairs.Config.model_validate({"legs": [ETH, LTC], "z_window": 30}).horizon_bars == 30
    assert Pairs.Config.model_validate({"legs": [ETH, LTC], "horizon": 7}).horizon_bars == 7


# ---- conformance --------------------------------------------------------------------------------------


class TestPairsContract(AgentContract):
    """The agent suite on the real ETH/BTC & LTC/BTC pair with XMR/BTC alongside.

    The suite's ``test_symbols_do_not_influence_each_other`` runs the first symbol alone and expects its
    signals unchanged: a pair's signals depend on both legs by nature (alone, a leg has no spread), so it
    is replaced by the equivalent for a pair: symbols outside the pair do not influence it, and one leg
    alone gives nothing rather than a silent half-pair."""

    @pytest.fixture
    def market(self, shared_data: Path) -> FakeMarket:
        return FakeMarket({symbol: candles_of(shared_data, symbol) for symbol in (ETH, LTC, XMR)})

    @pytest.fixture
    def agent(self) -> Pairs:
        return make_instance(Pairs, "pairs", legs=[ETH, LTC])

    def test_symbols_do_not_influence_each_other(self, agent_factory: Any, market: FakeMarket) -> None:
        together = self._run(agent_factory(), market)
        assert together
        assert self._run(agent_factory(), market, [ETH, LTC]) == together
        assert self._run(agent_factory(), market, [ETH, XMR]) == []


class TestPairsTunedContract(TestPairsContract):
    @pytest.fixture
    def agent(self) -> Pairs:
        return make_instance(Pairs, "tuned", legs=[LTC, ETH], window=60, z_window=30, entry_z=1.5, exit_z=0.2)


# ---- through the cycle: arbitration, allocator, risk, OMS, fills ------------------------------------------


class _TakeAll(Plugin[PluginConfig]):
    @hookimpl
    def ais_arbitrate(self, signals: Any, context: Any) -> list[Signal]:
        return list(signals)


def test_legs_are_filled_together_through_the_cycle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, eth_ltc: dict[str, list[Candle]]
) -> None:
    from ais.engine.runner import Run, RunOptions
    from ais.testing.fakes import FakeExchange, host_with

    monkeypatch.setenv("AIS_RISK_HMAC_SECRET", "s" * 40)
    (tmp_path / "ais.toml").write_text(
        '[ais]\nmode = "backtest"\nsymbols = ["ETH/BTC", "LTC/BTC"]\n'
        "[portfolio]\ninitial_cash = 10.0\ntarget_weight = 0.5\nmax_weight = 0.5\n"
        "[data.market]\n[agents.pairs]\n[arbitration.all]\n[exchanges.fake]\n"
    )
    short = {s: c[:2500] for s, c in eth_ltc.items()}
    agent = make_instance(Pairs, "pairs", legs=[ETH, LTC], window=144, z_window=48)
    venue = FakeExchange("fake")
    host = host_with(
        ("data", FakeMarket(short, name="market")),
        ("agents", agent),
        ("arbitration", _TakeAll("all", PluginConfig())),
        ("exchanges", venue),
    )
    options = RunOptions(config=str(tmp_path / "ais.toml"), store=str(tmp_path / "events.sqlite"))
    summary = Run(options, host=host).execute()
    expected = run(make_instance(Pairs, "pairs", legs=[ETH, LTC], window=144, z_window=48), FakeMarket(short))
    assert summary["fills"] == summary["orders"] >= 6
    by_time: dict[int, list[Any]] = {}
    for order in venue.placed:
        by_time.setdefault(order.ts, []).append(order)
    entries = {s.ts: s for s in expected if s.symbol == ETH and s.direction is not F}
    assert set(entries) <= set(by_time), "every entry was traded"
    for orders in by_time.values():
        assert sorted(o.symbol for o in orders) == [ETH, LTC], "both legs at once, never one alone"
    assert any(all(o.reduce_only for o in orders) for orders in by_time.values()), "a pair was closed"
    first = min(by_time)  # from no position: the notional splits as leg_weight says
    price = {s: next(c.close for c in short[s] if c.ts + BAR == first) for s in (ETH, LTC)}
    notional = {o.symbol: o.quantity * price[o.symbol] for o in by_time[first]}
    weight = entries[first].leg_weight
    assert notional[LTC] / notional[ETH] == pytest.approx((1 - weight) / weight, rel=1e-3)
