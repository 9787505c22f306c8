from __future__ import annotations

import pytest
from ais_guards_standard.daily_loss import DailyLoss
from guards_kit import buy, context, portfolio, sell
from pydantic import ValidationError

from ais.domain import Action
from ais.testing import host_with, make_instance
from ais.testing.conformance import GuardContract


class TestDailyLossContract(GuardContract):
    @pytest.fixture
    def guard(self) -> DailyLoss:
        return make_instance(DailyLoss, "daily_loss", max_daily_loss=0.03)


def guard() -> DailyLoss:
    return make_instance(DailyLoss, "kill", max_daily_loss=0.03)


@pytest.mark.parametrize(
    ("pnl", "halts"),
    [
        (250.0, False),
        (0.0, False),
        (-299.99, False),
        (-300.0, True),
        (-301.0, True),
        (float("nan"), True),
    ],
)
def test_assess_halts_at_the_limit(pnl: float, halts: bool) -> None:
    # Day started at 10,000: 3 % is 300.
    verdict = guard().ais_guard_assess(
        portfolio(nav=10_000.0 + pnl, daily_pnl=pnl, day_start_nav=10_000.0), context()
    )
    if not halts:
        assert verdict is None
    else:
        assert verdict is not None
        assert (verdict.action, verdict.reason_code, verdict.guard) == (Action.HALT, "DAILY_LOSS", "kill")
        assert verdict.message


def test_limit_is_relative_to_the_day_start_not_current_nav() -> None:
    # 400 lost from a 20,000 start is 2 %: within a 3 % limit although 400 > 3 % of the current NAV.
    p = portfolio(nav=9_000.0, daily_pnl=-400.0, day_start_nav=20_000.0)
    assert guard().ais_guard_assess(p, context()) is None


def test_check_rejects_added_exposure_once_breached() -> None:
    ctx = context({"ETH/BTC": 0.1})
    ok = portfolio(nav=9_710.0, daily_pnl=-290.0, day_start_nav=10_000.0)
    breached = portfolio(
        nav=9_700.0, holdings={"ETH/BTC": (5.0, 0.1)}, daily_pnl=-300.0, day_start_nav=10_000.0
    )
    assert guard().ais_guard_check(buy("ETH/BTC", 1), ok, ctx).action is Action.PASS
    verdict = guard().ais_guard_check(buy("ETH/BTC", 1), breached, ctx)
    assert (verdict.action, verdict.reason_code) == (Action.REJECT, "DAILY_LOSS")
    assert guard().ais_guard_check(sell("ETH/BTC", 6), breached, ctx).action is Action.REJECT  # flips
    assert guard().ais_guard_check(sell("ETH/BTC", 5), breached, ctx).action is Action.PASS  # closes
    assert guard().ais_guard_check(sell("ETH/BTC", 2), breached, context()).action is Action.PASS


def test_kill_switch_through_the_host() -> None:
    host = host_with(("guards", guard()))
    [halt] = host.guard_assessments(portfolio(daily_pnl=-500.0, day_start_nav=10_000.0), context())
    assert halt.action is Action.HALT


@pytest.mark.parametrize("value", [0.0, -0.01, 1.5, "3%"])
def test_config_is_validated(value: object) -> None:
    with pytest.raises(ValidationError):
        make_instance(DailyLoss, "kill", max_daily_loss=value)


def test_nav_floor_is_the_breach_level_rounded_up() -> None:
    from ais.testing.conformance import levels_portfolio

    g = make_instance(DailyLoss, "daily", max_daily_loss=0.05)
    floor = g.ais_guard_nav_floor(levels_portfolio(10_400.0, 10_400.0, 10_000.0), context())
    assert floor == pytest.approx(9_500.0, rel=1e-8) and floor >= 9_500.0
    assert g.ais_guard_assess(levels_portfolio(9_499.99, 10_400.0, 10_000.0), context()) is not None
