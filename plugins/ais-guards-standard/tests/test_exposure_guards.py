from __future__ import annotations

import pytest
from ais_guards_standard.exposure import Exposure, ExposureConfig, MaxLeverage, MaxPositionWeight
from guards_kit import buy, context, portfolio, sell
from pydantic import ValidationError

from ais.config.messages import first_error_line
from ais.domain import Action
from ais.testing import host_with, make_instance
from ais.testing.conformance import GuardContract

PX = {"AAA/USD": 100.0, "BBB/USD": 100.0}


class TestMaxLeverageContract(GuardContract):
    @pytest.fixture
    def guard(self) -> MaxLeverage:
        return make_instance(MaxLeverage, "max_leverage", max_leverage=1.0)


class TestExposureContract(GuardContract):
    @pytest.fixture
    def guard(self) -> Exposure:
        return make_instance(Exposure, "exposure", max_gross=1.0, max_net=0.5)


class TestMaxPositionWeightContract(GuardContract):
    @pytest.fixture
    def guard(self) -> MaxPositionWeight:
        return make_instance(MaxPositionWeight, "max_position_weight", max_weight=0.1)


# -- MaxLeverage ------------------------------------------------------------------------------------


def leverage(limit: float = 2.0) -> MaxLeverage:
    return make_instance(MaxLeverage, "lev", max_leverage=limit)


@pytest.mark.parametrize(
    ("held", "order_qty", "passes"),
    [
        (0.0, 200.0, True),  # 20,000 / 10,000 = 2.0×: at the limit
        (0.0, 200.01, False),
        (150.0, 50.0, True),  # adds to a long up to the limit
        (150.0, 51.0, False),
        (-100.0, 300.0, True),  # flips a short to +200: judged on the projection, 2.0×
        (-100.0, 301.0, False),  # a flip is not a reduction
    ],
)
def test_leverage_at_and_around_the_limit(held: float, order_qty: float, passes: bool) -> None:
    p = portfolio(holdings={"AAA/USD": (held, 100.0)} if held else None)
    verdict = leverage().ais_guard_check(buy("AAA/USD", order_qty), p, context(PX))
    assert (verdict.action is Action.PASS) is passes
    if not passes:
        assert (verdict.reason_code, verdict.guard) == ("MAX_LEVERAGE", "lev")


def test_leverage_counts_the_other_positions() -> None:
    p = portfolio(holdings={"BBB/USD": (-150.0, 100.0)})  # 1.5× already, short
    assert leverage().ais_guard_check(buy("AAA/USD", 50.0), p, context(PX)).action is Action.PASS
    assert leverage().ais_guard_check(buy("AAA/USD", 51.0), p, context(PX)).reason_code == "MAX_LEVERAGE"


def test_reducing_passes_even_when_over_the_limit_or_without_a_price() -> None:
    p = portfolio(holdings={"AAA/USD": (300.0, 100.0)})  # 3× against a 2× limit
    assert leverage().ais_guard_check(sell("AAA/USD", 100.0), p, context(PX)).action is Action.PASS
    assert leverage().ais_guard_check(sell("AAA/USD", 300.0), p, context()).action is Action.PASS
    assert leverage().ais_guard_check(buy("AAA/USD", 1.0), p, context(PX)).action is Action.REJECT


def test_leverage_fails_closed_without_a_price_or_nav() -> None:
    verdict = leverage().ais_guard_check(buy("AAA/USD", 1.0), portfolio(), context({"BBB/USD": 100.0}))
    assert (verdict.action, verdict.reason_code) == (Action.REJECT, "NO_MARKET_DATA")
    nan = leverage().ais_guard_check(buy("AAA/USD", 1.0), portfolio(), context({"AAA/USD": float("nan")}))
    assert nan.reason_code == "NO_MARKET_DATA"
    broke = portfolio(nav=0.0)
    assert leverage().ais_guard_check(buy("AAA/USD", 0.001), broke, context(PX)).reason_code == "MAX_LEVERAGE"


# -- Exposure ---------------------------------------------------------------------------------------


def exposure(**limits: float) -> Exposure:
    return make_instance(Exposure, "expo", **limits)


def test_gross_exposure_at_and_around_the_limit() -> None:
    hedged = portfolio(holdings={"AAA/USD": (50.0, 100.0), "BBB/USD": (-50.0, 100.0)})  # gross 1.0, net 0
    g = exposure(max_gross=1.5, max_net=1.0)
    assert g.ais_guard_check(buy("AAA/USD", 50.0), hedged, context(PX)).action is Action.PASS
    verdict = g.ais_guard_check(buy("AAA/USD", 50.5), hedged, context(PX))
    assert (verdict.action, verdict.reason_code, verdict.guard) == (Action.REJECT, "GROSS_EXPOSURE", "expo")
    assert g.ais_guard_check(sell("BBB/USD", 51.0), hedged, context(PX)).reason_code == "GROSS_EXPOSURE"


@pytest.mark.parametrize(
    ("side", "qty", "code"),
    [
        ("buy", 50.0, None),
        ("buy", 50.5, "NET_EXPOSURE"),
        ("sell", 50.0, None),
        ("sell", 50.5, "NET_EXPOSURE"),
    ],
)
def test_net_exposure_is_judged_on_its_absolute_value(side: str, qty: float, code: str | None) -> None:
    g = exposure(max_net=0.5)
    o = buy("AAA/USD", qty) if side == "buy" else sell("AAA/USD", qty)
    verdict = g.ais_guard_check(o, portfolio(), context(PX))
    assert verdict.reason_code == code


def test_a_hedge_lowers_net_exposure_and_passes() -> None:
    # Long 80 AAA is 0.8 net > 0.5; shorting 40 BBB adds gross but brings net back to 0.4.
    long = portfolio(holdings={"AAA/USD": (80.0, 100.0)})
    g = exposure(max_net=0.5)
    assert g.ais_guard_check(sell("BBB/USD", 40.0), long, context(PX)).action is Action.PASS
    assert g.ais_guard_check(sell("BBB/USD", 20.0), long, context(PX)).action is Action.REJECT


def test_exposure_needs_a_limit_and_says_so_in_one_line() -> None:
    with pytest.raises(ValidationError) as info:
        ExposureConfig.model_validate({})
    line = first_error_line("ais.toml", ["guards", "exposure"], info.value, ExposureConfig)
    assert line == "ais.toml: guards.exposure: set max_gross, max_net or both (got neither)"
    with pytest.raises(ValidationError):
        ExposureConfig.model_validate({"max_gross": 0})


def test_exposure_reducing_and_missing_price() -> None:
    over = portfolio(holdings={"AAA/USD": (200.0, 100.0)})  # gross 2.0
    g = exposure(max_gross=1.0)
    assert g.ais_guard_check(sell("AAA/USD", 50.0), over, context()).action is Action.PASS
    assert g.ais_guard_check(buy("AAA/USD", 1.0), portfolio(), context()).reason_code == "NO_MARKET_DATA"


# -- MaxPositionWeight ------------------------------------------------------------------------------


def weight(limit: float = 0.25) -> MaxPositionWeight:
    return make_instance(MaxPositionWeight, "weight", max_weight=limit)


@pytest.mark.parametrize(
    ("held", "side", "qty", "code"),
    [
        (0.0, "buy", 25.0, None),  # 2,500 / 10,000 = 25 %: at the limit
        (0.0, "buy", 25.01, "MAX_POSITION_WEIGHT"),
        (0.0, "sell", 25.01, "MAX_POSITION_WEIGHT"),  # shorts weigh |value|
        (20.0, "buy", 5.0, None),
        (20.0, "buy", 5.5, "MAX_POSITION_WEIGHT"),
        (-30.0, "buy", 10.0, None),  # over the limit but reducing
        (-30.0, "sell", 1.0, "MAX_POSITION_WEIGHT"),
        (10.0, "sell", 35.0, None),  # flips to -25: judged on the projection
        (10.0, "sell", 35.5, "MAX_POSITION_WEIGHT"),
    ],
)
def test_position_weight_at_and_around_the_limit(
    held: float, side: str, qty: float, code: str | None
) -> None:
    p = portfolio(holdings={"AAA/USD": (held, 100.0)} if held else None)
    o = buy("AAA/USD", qty) if side == "buy" else sell("AAA/USD", qty)
    verdict = weight().ais_guard_check(o, p, context(PX))
    assert verdict.reason_code == code
    assert verdict.guard == "weight"


def test_position_weight_ignores_other_symbols_and_fails_closed() -> None:
    p = portfolio(holdings={"BBB/USD": (90.0, 100.0)})  # BBB is 90 %: not this order's business
    assert weight().ais_guard_check(buy("AAA/USD", 20.0), p, context(PX)).action is Action.PASS
    assert weight().ais_guard_check(buy("CCC/USD", 1.0), p, context(PX)).reason_code == "NO_MARKET_DATA"


def test_all_three_through_the_host_in_order() -> None:
    host = host_with(("guards", leverage(1.0)), ("guards", exposure(max_net=0.5)), ("guards", weight(0.4)))
    verdicts = host.guard_checks(buy("AAA/USD", 60.0), portfolio(), context(PX))
    assert [(v.guard, v.reason_code) for v in verdicts] == [
        ("lev", None),
        ("expo", "NET_EXPOSURE"),
        ("weight", "MAX_POSITION_WEIGHT"),
    ]
