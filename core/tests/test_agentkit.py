"""ais.agentkit: per-symbol agents, bar acceptance, liquidity score, the track record (with carry)."""

from __future__ import annotations

import math

import pytest

from ais import PluginConfig
from ais.agentkit import RESET, SKIP, USE, Outcomes, SymbolAgent, bar_step, liquidity_score
from ais.context import AgentContext, SharedState
from ais.domain.market import Candle, MarketSnapshot
from ais.domain.signals import Direction, Signal
from ais.testing import FakeMarket, synthetic_candles

BAR = 300_000


def test_bar_step() -> None:
    assert bar_step(None, 0, BAR, gap=False) == USE
    assert bar_step(0, BAR, BAR, gap=False) == USE
    assert bar_step(BAR, BAR, BAR, gap=False) == SKIP  # a repeated bar
    assert bar_step(BAR, 0, BAR, gap=False) == SKIP  # an older one
    assert bar_step(0, 2 * BAR, BAR, gap=False) == RESET  # one bar missing, unflagged
    assert bar_step(0, BAR, BAR, gap=True) == RESET  # the provider says so


def test_liquidity_score() -> None:
    assert liquidity_score(0.0, 10.0) == 0.0
    assert liquidity_score(-5.0, 10.0) == 0.0
    assert liquidity_score(10.0, 10.0) == pytest.approx(1 - math.exp(-1))
    assert 0.99 < liquidity_score(50.0, 10.0) < 1.0


def test_outcomes_settle_at_the_horizon_and_calibrate() -> None:
    record = Outcomes()
    assert (record.hit_rate, record.mean_move(prior=0.02)) == (0.5, 0.02)
    record.open(due_ms=2 * BAR, sign=1, price=100.0)
    record.open(due_ms=3 * BAR, sign=-1, price=100.0)
    record.settle(BAR, 90.0, BAR)  # nothing due yet
    assert record.count == 0
    record.settle(2 * BAR, 110.0, BAR)  # the long: +10 %
    record.settle(3 * BAR, 105.0, BAR)  # the short: -5 %
    assert (record.hits, record.count) == (1, 2)
    assert record.total_move == pytest.approx(0.10 - 0.05)
    assert record.hit_rate == pytest.approx(2 / 4)
    assert record.mean_move(prior=1.0) == pytest.approx(0.025)


def test_outcome_whose_bar_is_missing_is_dropped() -> None:
    record = Outcomes()
    record.open(due_ms=2 * BAR, sign=1, price=100.0)
    record.settle(4 * BAR, 120.0, BAR)  # the bar at 2 × BAR never came: no honest measurement
    assert (record.count, len(record.pending)) == (0, 0)


def test_carry_is_paid_by_longs_and_received_by_shorts() -> None:
    record = Outcomes()
    record.open(due_ms=BAR, sign=1, price=100.0, carry=0.001)
    record.open(due_ms=BAR, sign=-1, price=100.0, carry=0.001)
    record.settle(BAR, 100.0, BAR, carry=0.004)  # flat price, 0.3 % of funding paid by longs
    assert record.total_move == pytest.approx(-0.003 + 0.003)
    assert (record.hits, record.count) == (1, 2)
    record.add(-0.01)
    assert (record.hits, record.count) == (1, 3)


class _Count:
    __slots__ = ("bars", "last_open", "outcomes")

    def __init__(self) -> None:
        self.bars = 0
        self.last_open: int | None = None
        self.outcomes = Outcomes()

    def reset(self) -> None:
        self.bars = 0


class _EveryTenth(SymbolAgent[PluginConfig, _Count]):
    """Says LONG on every tenth bar of a symbol (counting its bars since its last gap), and FLAT on
    the first bar after a gap if it had counted any."""

    def new_state(self) -> _Count:
        return _Count()

    def _gap(self, state: _Count) -> int | None:
        counted = state.bars
        state.reset()
        return counted or None

    def _update(
        self, symbol: str, state: _Count, bar: Candle, bar_ms: int, closed: int | None
    ) -> Signal | None:
        if closed is not None:
            return Signal(symbol, Direction.FLAT, 0.5, 0.0, 60, 0.5, f"gap after {closed}", bar.ts + bar_ms)
        state.bars += 1
        if state.bars % 10:
            return None
        state.outcomes.add(0.01)
        return Signal(symbol, Direction.LONG, 0.5, 0.01, 60, 0.5, f"bar {state.bars}", bar.ts + bar_ms)


def test_symbol_agent_keeps_one_state_per_symbol() -> None:
    agent = _EveryTenth("tenth", PluginConfig())
    market = FakeMarket(
        {"AAA/USD": synthetic_candles(30, seed=1), "BBB/USD": synthetic_candles(20, seed=2)}
    )
    context = AgentContext("tenth", SharedState())
    out = [s for snap in market.snapshots() for s in agent.ais_agent_signals(snap, context)]
    assert sorted((s.symbol, s.rationale) for s in out) == [
        ("AAA/USD", "bar 10"), ("AAA/USD", "bar 20"), ("AAA/USD", "bar 30"),
        ("BBB/USD", "bar 10"), ("BBB/USD", "bar 20"),
    ]
    assert agent.track_record("AAA/USD") == (3, 3)
    assert agent.track_record("CCC/USD") == (0, 0)
    silent = MarketSnapshot(ts=1, candles={})
    assert agent.ais_agent_signals(silent, context) == ()


def test_symbol_agent_skips_repeats_and_resets_after_a_gap() -> None:
    candles = synthetic_candles(25, seed=3)
    gapped = candles[:12] + candles[13:]  # bar 12 is missing
    agent = _EveryTenth("tenth", PluginConfig())
    context = AgentContext("tenth", SharedState())
    out: list[Signal] = []
    for snap in FakeMarket({"AAA/USD": gapped}).snapshots():
        out += agent.ais_agent_signals(snap, context)
        out += agent.ais_agent_signals(snap, context)  # a provider repeating its bar: skipped
    assert [s.rationale for s in out] == ["bar 10", "gap after 12", "bar 10"]
    assert out[1].direction is Direction.FLAT and out[1].ts == candles[13].ts + candles[1].ts - candles[0].ts
