from __future__ import annotations

import pytest
from ais_guards_standard.orders import MaxOrderNotional, OrderRate
from guards_kit import NOW_MS, buy, context, portfolio, sell
from pydantic import ValidationError

from ais.domain import Action
from ais.testing import FakeClock, host_with, make_instance
from ais.testing.conformance import GuardContract


class TestMaxOrderNotionalContract(GuardContract):
    @pytest.fixture
    def guard(self) -> MaxOrderNotional:
        return make_instance(MaxOrderNotional, "max_order_notional", max_notional=1.0)


class TestOrderRateContract(GuardContract):
    @pytest.fixture
    def guard(self) -> OrderRate:
        return make_instance(OrderRate, "order_rate", max_orders=5, per_seconds=60)


# -- MaxOrderNotional -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "code"),
    [
        (buy("AAA/USD", 10.0), None),  # 1,000 at 100: at the limit
        (buy("AAA/USD", 10.01), "MAX_ORDER_NOTIONAL"),
        (sell("AAA/USD", 10.01), "MAX_ORDER_NOTIONAL"),
        (buy("ZZZ/USD", 0.01), "NO_MARKET_DATA"),
    ],
)
def test_order_notional(order: object, code: str | None) -> None:
    g = make_instance(MaxOrderNotional, "fat_finger", max_notional=1_000.0)
    verdict = g.ais_guard_check(order, portfolio(), context({"AAA/USD": 100.0}))
    assert verdict.reason_code == code
    assert verdict.guard == "fat_finger"
    assert (verdict.action is Action.PASS) is (code is None)


def test_order_notional_applies_to_closing_orders_too() -> None:
    g = make_instance(MaxOrderNotional, "fat_finger", max_notional=1_000.0)
    held = portfolio(holdings={"AAA/USD": (50.0, 100.0)})
    assert g.ais_guard_check(sell("AAA/USD", 50.0), held, context({"AAA/USD": 100.0})).action is Action.REJECT


@pytest.mark.parametrize("value", [0, -1, "lots"])
def test_order_notional_config(value: object) -> None:
    with pytest.raises(ValidationError):
        make_instance(MaxOrderNotional, "x", max_notional=value)


# -- OrderRate --------------------------------------------------------------------------------------


def rate(max_orders: int = 3, per_seconds: float = 60) -> OrderRate:
    return make_instance(OrderRate, "rate", max_orders=max_orders, per_seconds=per_seconds)


def at(g: OrderRate, ms: int, n: int = 1) -> str | None:
    """The reason code (None = pass) of a 1-unit buy judged at simulated time ``ms``."""
    verdict = g.ais_guard_check(buy("AAA/USD", 1.0, n), portfolio(), context({"AAA/USD": 100.0}, now_ms=ms))
    return verdict.reason_code


def test_rate_window_in_simulated_time() -> None:
    g = rate(3, 60)
    t0 = NOW_MS
    assert [at(g, t0), at(g, t0 + 1_000), at(g, t0 + 2_000)] == [None, None, None]
    assert at(g, t0 + 3_000) == "ORDER_RATE"
    assert at(g, t0 + 59_999) == "ORDER_RATE"  # t0 is still inside the window
    assert at(g, t0 + 60_000) is None  # t0 has left it: one slot free
    assert at(g, t0 + 60_500) == "ORDER_RATE"  # t0+1 s is still inside
    assert at(g, t0 + 61_000) is None
    verdict = rate(1, 1).ais_guard_check(buy("AAA/USD", 1.0), portfolio(), context({"AAA/USD": 1.0}))
    assert verdict.action is Action.PASS


def test_rejected_orders_do_not_use_up_the_budget() -> None:
    g = rate(2, 10)
    t0 = NOW_MS
    assert at(g, t0) is None
    assert at(g, t0 + 9_000) is None
    for i in range(50):
        assert at(g, t0 + 9_500 + i) == "ORDER_RATE"
    assert at(g, t0 + 10_000) is None  # only the two passed orders counted


def test_rate_follows_the_run_clock_not_the_wall_clock() -> None:
    """A backtest replays a month in well under a second of wall time: one order per simulated
    minute must all pass a 2-per-minute limit, and a burst in one simulated second must not."""
    g = rate(2, 60)
    clock = FakeClock(NOW_MS)
    for i in range(2_000):
        assert at(g, clock.advance(60_000), i) is None
    burst = [at(g, clock.now_ms(), i) for i in range(5)]
    assert burst == [None, "ORDER_RATE", "ORDER_RATE", "ORDER_RATE", "ORDER_RATE"]


def test_each_instance_counts_alone() -> None:
    a, b = rate(1, 60), rate(1, 60)
    host = host_with(("guards", a))
    ctx = context({"AAA/USD": 1.0})
    assert host.guard_checks(buy("AAA/USD", 1.0), portfolio(), ctx)[0].reason_code is None
    assert host.guard_checks(buy("AAA/USD", 1.0), portfolio(), ctx)[0].reason_code == "ORDER_RATE"
    assert at(b, NOW_MS) is None


@pytest.mark.parametrize(
    "options",
    [
        {"max_orders": 0, "per_seconds": 1},
        {"max_orders": 1, "per_seconds": 0},
        {"max_orders": 1.5, "per_seconds": 1},
        {"max_orders": 1},
    ],
)
def test_rate_config(options: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        make_instance(OrderRate, "rate", **options)
