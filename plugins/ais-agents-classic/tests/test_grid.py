"""The grid agent on real and built candles: the reference SMA against numpy, every signal against an
independent replay, inventory bounds and sizing, warm-up, gaps, instances, config, conformance."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
from ais_agents_classic.grid import Grid
from pydantic import ValidationError

from ais.context import AgentContext, SharedState
from ais.domain.market import Candle, MarketSnapshot
from ais.domain.signals import Direction, Signal
from ais.portfolio.allocator import Allocator
from ais.testing import FakeMarket, make_instance, read_candles, synthetic_candles
from ais.testing.conformance import AgentContract

np = pytest.importorskip("numpy")

BAR = 300_000
PAIRS = ("ADA", "DASH", "ETC", "ETH", "LTC", "TRX", "XLM", "XMR", "ZEC")
INVENTORY = re.compile(r"inventory ([+-]\d+)/(\d+)")


def run(agent: Grid, market: FakeMarket) -> list[Signal]:
    context = AgentContext(agent.name, SharedState())
    out: list[Signal] = []
    for snap in market.snapshots():
        out.extend(agent.ais_agent_signals(snap, context))
    return out


def feed(agent: Grid, symbol: str, bar: Candle, gaps: frozenset[str] = frozenset()) -> list[Signal]:
    snap = MarketSnapshot(ts=bar.ts + BAR, candles={symbol: bar}, bar_ms=BAR, gaps=gaps)
    return list(agent.ais_agent_signals(snap, AgentContext(agent.name, SharedState())))


def candles_of(shared_data: Path, pair: str) -> list[Candle]:
    return read_candles(shared_data / "binance-5m-2018-01" / f"{pair}_BTC.csv")


def closes_to_candles(closes: list[float], volume: float = 10.0) -> list[Candle]:
    return [Candle(i * BAR, c, c, c, c, volume) for i, c in enumerate(closes)]


def rolling_mean(values: Any, n: int) -> Any:
    out = np.full(len(values), np.nan)
    out[n - 1 :] = np.convolve(np.asarray(values, dtype=float), np.ones(n) / n, mode="valid")
    return out


@pytest.fixture(scope="module")
def eth(shared_data: Path) -> list[Candle]:
    return candles_of(shared_data, "ETH")


Replayed = tuple[int, Direction, float, float, float, float, int]


def replay(candles: list[Candle], **options: Any) -> list[Replayed]:
    """The grid re-implemented from its documentation on numpy's SMA (gap-free series): per signal
    ``(bar, direction, confidence, expected return, liquidity, leg_weight, inventory)``."""
    config = Grid.Config.model_validate(options)
    n, spacing, levels = config.window, config.spacing, config.max_levels
    close = np.array([c.close for c in candles])
    sma = rolling_mean(close, n)
    quote = rolling_mean(close * np.array([c.volume for c in candles]), n)
    horizon = config.horizon_bars
    reference, level, inventory = 0.0, 0, 0
    opened: list[tuple[int, int, float]] = []
    out = []
    for t in range(n - 1, len(candles)):
        before, left = inventory, False
        if reference > 0.0:
            u = (close[t] / reference - 1.0) / spacing
            if abs(u) < levels + 1:
                if u <= level - 1:
                    level = math.ceil(u)
                elif u >= level + 1:
                    level = math.floor(u)
                else:
                    continue
                inventory = -level if config.allow_short else max(0, -level)
            else:
                reference, inventory, left = 0.0, 0, True
        if reference == 0.0 and abs(close[t] / sma[t] - 1.0) < spacing:
            reference, level = sma[t], 0
        if inventory == before:
            continue
        settled = [sign * (close[due] / entry - 1.0) for due, sign, entry in opened if due <= t]
        hits, count = sum(1 for m in settled if m > 0), len(settled)
        if not left and t + horizon < len(candles):
            opened.append((t + horizon, 1 if inventory > before else -1, close[t]))
        direction = Direction.LONG if inventory > 0 else Direction.SHORT if inventory < 0 else Direction.FLAT
        expected = 0.0 if not inventory else (max(0.0, sum(settled) / count) if count else spacing)
        out.append(
            (
                t,
                direction,
                (hits + 1) / (count + 2),
                expected,
                1.0 - math.exp(-quote[t] / config.liquidity_ref),
                abs(inventory) / levels if inventory else 1.0,
                inventory,
            )
        )
    return out


# ---- indicators and the rule --------------------------------------------------------------------------


def test_reference_sma_matches_numpy_over_the_whole_series(eth: list[Candle]) -> None:
    agent = make_instance(Grid, "grid", window=100)
    sma = rolling_mean([c.close for c in eth], 100)
    references = set()
    for i, candle in enumerate(eth):
        feed(agent, "ETH/BTC", candle)
        got = agent.indicators("ETH/BTC")
        if i < 99:
            assert got is None, f"indicators before warm-up at bar {i}"
            continue
        assert got is not None
        mean, reference, level, inventory = got
        assert mean == pytest.approx(sma[i], rel=1e-9, abs=0)
        assert abs(level) <= 4 and inventory == -level
        if reference:
            references.add(reference)
    centred_on = [float(x) for x in sma[99:]]
    for reference in references:  # every grid was centred on the SMA of some bar
        assert min(abs(reference / x - 1) for x in centred_on) < 1e-12
    assert len(references) > 10, "the grid recentred many times in a month"


@pytest.mark.parametrize(
    ("pair", "options"),
    [
        ("ETH", {}),
        ("LTC", {}),
        ("ETH", {"window": 50, "spacing": 0.01, "max_levels": 2, "horizon": 30}),
        ("LTC", {"window": 288, "spacing": 0.003, "max_levels": 6, "allow_short": False, "horizon": 20}),
    ],
)
def test_every_signal_matches_an_independent_replay(
    shared_data: Path, pair: str, options: dict[str, Any]
) -> None:
    candles = candles_of(shared_data, pair)
    agent = make_instance(Grid, "grid", **options)
    signals = run(agent, FakeMarket({f"{pair}/BTC": candles}))
    expected = replay(candles, **options)
    assert len(signals) == len(expected) > 20
    for s, (t, direction, confidence, expected_return, liquidity, leg_weight, inventory) in zip(
        signals, expected, strict=True
    ):
        assert (s.ts, s.direction) == (candles[t].ts + BAR, direction)
        assert s.confidence == pytest.approx(confidence, rel=1e-9)
        assert s.expected_return == pytest.approx(expected_return, rel=1e-9, abs=1e-15)
        assert s.liquidity == pytest.approx(liquidity, rel=1e-9)
        assert s.leg_weight == pytest.approx(leg_weight, rel=1e-12)
        match = INVENTORY.search(s.rationale)
        assert match is not None and int(match.group(1)) == inventory


def test_a_grid_walk_by_hand() -> None:
    """Ten closes of 100 centre the grid on R = 100 with levels every 1 % (99, 98, … and 101, 102, …);
    the documented rule, step by step, including leaving the grid and recentring."""
    closes = [100.0] * 10 + [98.9, 97.5, 98.5, 99.1, 101.5, 103.2, 105.5, 100.5, 99.3]
    agent = make_instance(Grid, "grid", window=10, spacing=0.01, max_levels=4, horizon=3)
    signals = run(agent, FakeMarket({"X": closes_to_candles(closes)}, bar_ms=BAR))
    got = [(s.ts // BAR - 1, s.direction, s.leg_weight) for s in signals]
    L, S, F = Direction.LONG, Direction.SHORT, Direction.FLAT
    assert got == [
        (10, L, 0.25),  # 98.9: down through 99 → bought 1, inventory +1
        (11, L, 0.5),  # 97.5: down through 98 → bought 1, +2 (98.5 next: not up to 99 yet, nothing)
        (13, L, 0.25),  # 99.1: up through 99 → sold 1, +1
        (14, S, 0.25),  # 101.5: up through 100 and 101 → sold 2, −1
        (15, S, 0.75),  # 103.2: up through 102 and 103 → sold 2, −3
        (16, F, 1.0),  # 105.5: five levels up: left the grid, flattened
        (18, L, 0.25),  # 100.5 recentred the grid on the SMA 100.47; 99.3 is 1.15 levels below: bought 1
    ]
    rationales = [s.rationale for s in signals]
    assert rationales[0] == (
        "close 98.9 at -1.10 levels of 1.00% around R 100, bought 1: inventory +1/4, hit rate 0/0"
    )
    assert rationales[3].startswith(
        "close 101.5 at +1.50 levels of 1.00% around R 100, sold 2: inventory -1/4"
    )
    assert rationales[5] == (
        "close 105.5, no grid (SMA10 100.42), flattened: inventory +0/4, hit rate 2/3"
        ", left the grid at +5.50 levels"
    )
    assert agent.indicators("X") == pytest.approx((100.4, 100.47, -1, 1))
    # outcomes after 3 bars: buys at 98.9 and 97.5 won, the sell at 99.1 lost (105.5), the sells at
    # 101.5 and 103.2 won (100.5, 99.3); leaving the grid is no trade
    assert [s.confidence for s in signals] == pytest.approx([1 / 2, 1 / 2, 2 / 3, 3 / 4, 3 / 4, 3 / 5, 5 / 7])
    buys = [99.1 / 98.9 - 1, 101.5 / 97.5 - 1]
    moves = [*buys, -(105.5 / 99.1 - 1), -(100.5 / 101.5 - 1), -(99.3 / 103.2 - 1)]
    assert signals[-1].expected_return == pytest.approx(sum(moves) / 5, rel=1e-12)
    assert signals[0].expected_return == 0.01, "the prior: one spacing"
    assert signals[5].expected_return == 0.0


def test_without_shorting_sells_only_unwind() -> None:
    closes = [100.0] * 10 + [98.9, 97.5, 98.5, 99.1, 101.5, 103.2, 105.5]
    agent = make_instance(Grid, "grid", window=10, spacing=0.01, allow_short=False)
    signals = run(agent, FakeMarket({"X": closes_to_candles(closes)}, bar_ms=BAR))
    assert [(s.ts // BAR - 1, s.direction, s.leg_weight) for s in signals] == [
        (10, Direction.LONG, 0.25),
        (11, Direction.LONG, 0.5),
        (13, Direction.LONG, 0.25),
        (14, Direction.FLAT, 1.0),  # above R the inventory stays 0
    ]


def test_inventory_sizes_the_position_through_leg_weight(eth: list[Candle]) -> None:
    """The allocator's target is proportional to |inventory| / max_levels at a given confidence."""
    signals = run(make_instance(Grid, "grid"), FakeMarket({"ETH/BTC": eth}))
    allocator = Allocator(target_weight=0.1, max_weight=1.0)
    for s in signals:
        match = INVENTORY.search(s.rationale)
        assert match is not None
        inventory, levels = int(match.group(1)), int(match.group(2))
        assert abs(inventory) <= levels == 4
        target = allocator.target_quantity(s, nav=1.0, price=1.0)
        assert target == pytest.approx(0.1 * s.confidence * inventory / levels, rel=1e-12)
        assert (s.direction is Direction.FLAT) == (inventory == 0)


def test_no_signal_during_warm_up(eth: list[Candle]) -> None:
    signals = run(make_instance(Grid, "grid", window=100), FakeMarket({"ETH/BTC": eth}))
    assert signals
    assert min(s.ts for s in signals) > eth[99].ts + BAR, "centred on bar 99 at the earliest, trades after"


@pytest.mark.parametrize("pair", PAIRS)
def test_signals_of_both_directions_on_real_pairs(shared_data: Path, pair: str) -> None:
    symbol = f"{pair}/BTC"
    agent = make_instance(Grid, "grid", liquidity_ref=50.0)
    signals = run(agent, FakeMarket({symbol: candles_of(shared_data, pair)}))
    assert {Direction.LONG, Direction.SHORT, Direction.FLAT} <= {s.direction for s in signals}
    previous = 0
    for s in signals:
        s.validate()
        assert s.symbol == symbol and s.agent == "grid" and s.horizon_s == 100 * 300
        match = INVENTORY.search(s.rationale)
        assert match is not None
        inventory = int(match.group(1))
        assert inventory != previous, "a signal is an inventory change"
        assert abs(inventory) <= 4
        assert s.expected_return >= 0.0 and (s.expected_return == 0.0 or inventory != 0)
        assert 0.0 < s.confidence < 1.0
        previous = inventory
    hits, settled = agent.track_record(symbol)
    assert 0 < hits < settled


# ---- gaps, repeats, symbols, instances --------------------------------------------------------------


def test_gap_resets_the_grid_and_restarts_warm_up(eth: list[Candle]) -> None:
    candles = eth[:1000] + eth[1001:1400]
    agent = make_instance(Grid, "grid", window=100)
    for i, bar in enumerate(candles):
        feed(agent, "ETH/BTC", bar)
        if 1000 <= i < 1099:
            assert agent.indicators("ETH/BTC") is None, f"warm-up must start again after the gap (bar {i})"
    got = agent.indicators("ETH/BTC")
    assert got is not None
    assert got[0] == pytest.approx(sum(c.close for c in candles[-100:]) / 100, rel=1e-12)


def test_inventory_is_closed_on_the_bar_after_a_gap(eth: list[Candle]) -> None:
    signals = run(make_instance(Grid, "grid"), FakeMarket({"ETH/BTC": eth}))
    held = next(s for s in signals if s.direction is not Direction.FLAT)
    i = next(i for i, c in enumerate(eth) if c.ts + BAR == held.ts)
    gapped = eth[: i + 1] + eth[i + 2 :]  # drop the bar right after the trade
    signals = run(make_instance(Grid, "grid"), FakeMarket({"ETH/BTC": gapped}))
    after = [s for s in signals if s.ts > held.ts]
    closing = after[0]
    assert closing.direction is Direction.FLAT
    assert closing.ts == eth[i + 2].ts + BAR
    assert closing.confidence > 0.0 and closing.liquidity > 0.0, "selectable by arbitration"
    inventory = INVENTORY.search(held.rationale)
    assert inventory is not None
    note = f"gap before this bar: inventory {inventory.group(1)} dropped, warming up again"
    assert note in closing.rationale
    assert all(s.ts > eth[i + 2 + 99].ts + BAR for s in after[1:]), "warm-up again"


def test_gap_is_noticed_even_when_the_provider_does_not_flag_it() -> None:
    candles = synthetic_candles(200, bar_ms=BAR, seed=4)
    agent = make_instance(Grid, "grid", window=20)
    for bar in candles[:100] + candles[101:110]:
        feed(agent, "X", bar)
    assert agent.indicators("X") is None


def test_a_flagged_gap_resets_even_without_a_hole_in_time() -> None:
    candles = synthetic_candles(100, bar_ms=BAR, seed=6)
    agent = make_instance(Grid, "grid", window=20)
    for i, bar in enumerate(candles):
        feed(agent, "X", bar, frozenset({"X"}) if i == 60 else frozenset())
        if 60 <= i < 79:
            assert agent.indicators("X") is None, i
    assert agent.indicators("X") is not None


def test_a_repeated_bar_is_consumed_once(eth: list[Candle]) -> None:
    once = make_instance(Grid, "grid")
    twice = make_instance(Grid, "grid")
    a: list[Signal] = []
    b: list[Signal] = []
    for bar in eth[:1500]:
        a += feed(once, "ETH/BTC", bar)
        b += feed(twice, "ETH/BTC", bar)
        b += feed(twice, "ETH/BTC", bar)
    assert a and a == b


def test_symbols_are_independent_on_real_data(shared_data: Path) -> None:
    data = {f"{p}/BTC": candles_of(shared_data, p) for p in PAIRS[:4]}  # ADA and DASH have gaps
    together = run(make_instance(Grid, "grid"), FakeMarket(data))
    for symbol, candles in data.items():
        alone = run(make_instance(Grid, "grid"), FakeMarket({symbol: candles}))
        assert [s for s in together if s.symbol == symbol] == alone


def test_several_instances_in_one_run(shared_data: Path) -> None:
    market = FakeMarket({f"{p}/BTC": candles_of(shared_data, p) for p in ("ETH", "LTC")})
    tight = make_instance(Grid, "tight_grid", window=50, spacing=0.003, max_levels=3)
    wide = make_instance(Grid, "wide_grid", window=288, spacing=0.01, max_levels=5, horizon=48)
    together: dict[str, list[Signal]] = {"tight_grid": [], "wide_grid": []}
    for snap in market.snapshots():
        for agent in (tight, wide):
            together[agent.name] += agent.ais_agent_signals(snap, AgentContext(agent.name, SharedState()))
    for agent in (tight, wide):
        assert together[agent.name] == run(type(agent)(agent.name, agent.config), market)
        assert {s.agent for s in together[agent.name]} == {agent.name}
    assert {s.horizon_s for s in together["wide_grid"]} == {48 * 300}
    held = {round(s.leg_weight * 3) for s in together["tight_grid"] if s.direction is not Direction.FLAT}
    assert held == {1, 2, 3}
    assert len(together["tight_grid"]) > 3 * len(together["wide_grid"]) > 0


# ---- config ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"window": 1}, "window\n  Input should be greater than 1"),
        ({"spacing": 0}, "spacing\n  Input should be greater than 0"),
        ({"spacing": 0.8}, "spacing\n  Input should be less than or equal to 0.5"),
        ({"max_levels": 0}, "max_levels\n  Input should be greater than or equal to 1"),
        ({"horizon": -3}, "horizon\n  Input should be greater than 0"),
        ({"liquidity_ref": -1}, "liquidity_ref\n  Input should be greater than 0"),
        ({"allow_short": "sometimes"}, "allow_short\n  Input should be a valid boolean"),
        ({"levels": 3}, "levels\n  Extra inputs are not permitted"),
    ],
)
def test_config_validation(options: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        Grid.Config.model_validate(options)
    assert fragment in str(err.value)


def test_horizon_defaults_to_window() -> None:
    assert Grid.Config.model_validate({"window": 30}).horizon_bars == 30
    assert Grid.Config.model_validate({"window": 30, "horizon": 7}).horizon_bars == 7


# ---- conformance ------------------------------------------------------------------------------------


class TestGridDefaults(AgentContract):
    @pytest.fixture
    def agent(self) -> Grid:
        return make_instance(Grid, "grid")


class TestGridTuned(AgentContract):
    @pytest.fixture
    def agent(self) -> Grid:
        return make_instance(Grid, "tuned", window=30, spacing=0.002, max_levels=2, allow_short=False)
