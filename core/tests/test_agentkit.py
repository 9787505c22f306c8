"""ais.agentkit: bar acceptance, liquidity score, the track record (with and without carry)."""

from __future__ import annotations

import math

import pytest

from ais.agentkit import RESET, SKIP, USE, Outcomes, bar_step, liquidity_score

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
