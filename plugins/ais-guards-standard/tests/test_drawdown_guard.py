from __future__ import annotations

import pytest
from ais_guards_standard.drawdown import MaxDrawdown
from guards_kit import buy, context, portfolio, sell
from pydantic import ValidationError

from ais.context import GuardContext
from ais.domain import Action, MarketSnapshot, PortfolioSnapshot, RiskState
from ais.testing import FakeMarket, host_with, make_instance, market_data_dir, read_candles
from ais.testing.conformance import GuardContract

DATA = market_data_dir() / "binance-5m-2018-01"


class TestMaxDrawdownContract(GuardContract):
    @pytest.fixture
    def guard(self) -> MaxDrawdown:
        return make_instance(MaxDrawdown, "drawdown", max_drawdown=0.2)


def guard(limit: float = 0.2, action: str = "reduce") -> MaxDrawdown:
    return make_instance(MaxDrawdown, "dd", max_drawdown=limit, action=action)


@pytest.mark.parametrize(
    ("drawdown", "expected"),
    [
        (0.0, None),
        (0.1999, None),
        (0.2, Action.REDUCE_ONLY),
        (0.35, Action.REDUCE_ONLY),
    ],
)
def test_assess_reduces_at_and_beyond_the_limit(drawdown: float, expected: Action | None) -> None:
    verdict = guard().ais_guard_assess(portfolio(drawdown=drawdown), context())
    if expected is None:
        assert verdict is None
    else:
        assert verdict is not None
        assert (verdict.action, verdict.reason_code, verdict.guard) == (expected, "MAX_DRAWDOWN", "dd")
        assert "20.00%" in verdict.message


def test_assess_halts_when_configured_to() -> None:
    verdict = guard(action="halt").ais_guard_assess(portfolio(drawdown=0.25), context())
    assert verdict is not None
    assert verdict.action is Action.HALT


def test_nan_drawdown_counts_as_breached() -> None:
    assert guard().ais_guard_assess(portfolio(drawdown=float("nan")), context()) is not None


def test_check_rejects_added_exposure_only_while_breached() -> None:
    g = guard()
    ctx = context({"ETH/BTC": 0.1})
    assert g.ais_guard_check(buy("ETH/BTC", 1), portfolio(drawdown=0.1999), ctx).action is Action.PASS
    verdict = g.ais_guard_check(buy("ETH/BTC", 1), portfolio(drawdown=0.2), ctx)
    assert (verdict.action, verdict.reason_code, verdict.guard) == (Action.REJECT, "MAX_DRAWDOWN", "dd")
    # Adding to a long, or opening a short, also adds exposure.
    long = portfolio(holdings={"ETH/BTC": (10.0, 0.1)}, drawdown=0.3)
    assert g.ais_guard_check(buy("ETH/BTC", 1), long, ctx).action is Action.REJECT
    assert g.ais_guard_check(sell("LTC/BTC", 1), long, ctx).action is Action.REJECT


@pytest.mark.parametrize(
    ("held", "order_side", "quantity", "passes"),
    [
        (10.0, "sell", 4.0, True),  # trims a long
        (10.0, "sell", 10.0, True),  # closes it
        (10.0, "sell", 10.5, False),  # flips it short: not a reduction
        (-10.0, "buy", 10.0, True),  # covers a short
        (-10.0, "buy", 25.0, False),  # flips it long
    ],
)
def test_reducing_orders_always_pass(held: float, order_side: str, quantity: float, passes: bool) -> None:
    p = portfolio(holdings={"ETH/BTC": (held, 0.1)}, drawdown=0.5)
    o = buy("ETH/BTC", quantity) if order_side == "buy" else sell("ETH/BTC", quantity)
    # No price needed to see that an order reduces: it passes even without market data.
    verdict = guard().ais_guard_check(o, p, context())
    assert (verdict.action is Action.PASS) is passes


def test_through_the_host_hooks() -> None:
    g = guard()
    host = host_with(("guards", g))
    assert host.guard_assessments(portfolio(drawdown=0.05), context()) == []
    [assessed] = host.guard_assessments(portfolio(drawdown=0.21), context())
    assert assessed.action is Action.REDUCE_ONLY
    [checked] = host.guard_checks(buy("ETH/BTC", 1), portfolio(drawdown=0.21), context({"ETH/BTC": 0.1}))
    assert checked.reason_code == "MAX_DRAWDOWN"


@pytest.mark.parametrize(
    "options",
    [
        {"max_drawdown": 0.0},
        {"max_drawdown": 1.0},
        {"max_drawdown": -0.1},
        {},
        {"max_drawdown": 0.2, "action": "stop"},
        {"max_drawdown": 0.2, "limit": 0.1},
    ],
)
def test_config_is_validated(options: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        make_instance(MaxDrawdown, "dd", **options)


def test_fires_in_the_real_january_2018_sell_off() -> None:
    """Hold TRX/BTC bought with all cash at the first close of the real 5-minute series, mark it bar
    by bar and assess: the guard stays quiet until NAV first falls 15 % below its peak."""
    candles = read_candles(DATA / "TRX_BTC.csv")
    market = FakeMarket({"TRX/BTC": candles})
    cash = 1.0
    qty = cash / candles[0].close
    peak = 0.0
    g = guard(limit=0.15)
    first_fire: int | None = None
    worst = 0.0
    for snap in market.snapshots():
        nav = qty * snap.candles["TRX/BTC"].close
        peak = max(peak, nav)
        drawdown = (peak - nav) / peak
        p = PortfolioSnapshot(snap.ts, nav, 0.0, (), 0.0, 0.0, 0.0, nav, nav, 1.0, peak, drawdown, 0.0, nav)
        verdict = g.ais_guard_assess(p, GuardContext(snap, RiskState.ACTIVE, snap.ts, "UTC"))
        if verdict is None:
            assert drawdown < 0.15
        elif first_fire is None:
            first_fire = snap.ts
            assert drawdown >= 0.15
        worst = max(worst, drawdown)
    assert worst > 0.15, "the sell-off in this data is deeper than 15 %"
    assert first_fire is not None
    assert first_fire > candles[0].ts


def test_market_snapshot_is_not_needed_to_assess() -> None:
    empty = GuardContext(MarketSnapshot(0), RiskState.ACTIVE, 0, "UTC")
    assert guard().ais_guard_assess(portfolio(drawdown=0.3), empty) is not None


def test_nav_floor_is_the_breach_level_rounded_up() -> None:
    from ais.testing.conformance import levels_portfolio

    g = guard(0.2)
    floor = g.ais_guard_nav_floor(levels_portfolio(12_000.0, 12_000.0, 11_000.0), context())
    assert floor == pytest.approx(9_600.0, rel=1e-8) and floor >= 9_600.0
    assert g.ais_guard_assess(levels_portfolio(9_599.99, 12_000.0, 11_000.0), context()) is not None
    # no positive peak: no NAV level to give (drawdown is taken as 0), so assessed every cycle
    assert g.ais_guard_nav_floor(levels_portfolio(0.0, 0.0, 0.0), context()) is None
