"""Order lifecycle and reads: idempotent submission, cancel, fills(since), positions, rules, refusals."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from ais_exchange_paper.venue import PaperExchange
from paper_kit import BAR_MS, bar, bar_snapshot, feed, order, signed
from pydantic import ValidationError

from ais.domain.orders import MarketRules, OrderStatus, Side
from ais.risk.tokens import Keyring
from ais.testing import make_instance

T0 = 1_515_560_100_000
Factory = Callable[..., PaperExchange]


def _bars(n: int, start: int = 0, price: float = 0.1) -> list:
    return [bar(T0 + (start + i) * BAR_MS, price, price, price, price) for i in range(n)]


# -- idempotency and cancel ----------------------------------------------------------------------


def test_resubmitting_a_known_client_order_id_creates_nothing(
    venue_factory: Factory, keyring: Keyring
) -> None:
    venue = venue_factory()
    o = order(Side.BUY, 1.0, 0.05, coid="ais-dup-1")
    first = venue.ais_exchange_submit(signed(o, keyring))
    again = venue.ais_exchange_submit(signed(o, keyring))  # a retry after a timeout, freshly signed
    assert first.accepted
    assert again.accepted
    assert again.venue_order_id == first.venue_order_id
    assert len(venue.open_orders()) == 1


def test_resubmitting_a_filled_order_does_not_trade_again(venue_factory: Factory, keyring: Keyring) -> None:
    venue = venue_factory()
    o = order(Side.BUY, 1.0, coid="ais-dup-2")
    first = venue.ais_exchange_submit(signed(o, keyring))
    feed(venue, _bars(1))
    again = venue.ais_exchange_submit(signed(o, keyring))
    feed(venue, _bars(3, start=1))
    assert again == first
    assert len(venue.fills(0)) == 1
    assert venue.open_orders() == []


def test_cancel_removes_a_live_order_for_good(venue_factory: Factory, keyring: Keyring) -> None:
    venue = venue_factory()
    result = venue.ais_exchange_submit(signed(order(Side.BUY, 1.0, 0.05), keyring))
    assert venue.ais_exchange_cancel(result.client_order_id, "ETH/BTC") is True
    assert venue.open_orders() == []
    feed(venue, [bar(T0, 0.05, 0.05, 0.01, 0.02)])  # would have crossed
    assert venue.fills(0) == []
    assert venue.ais_exchange_cancel(result.client_order_id, "ETH/BTC") is True  # idempotent
    # and the cancelled id stays known: resubmitting it does not revive it
    assert venue.ais_exchange_submit(signed(order(Side.BUY, 1.0, 0.05, coid=result.client_order_id),
                                            keyring)).accepted
    assert venue.open_orders() == []


def test_cancel_of_unknown_or_finished_orders_is_true(venue_factory: Factory, keyring: Keyring) -> None:
    venue = venue_factory()
    assert venue.ais_exchange_cancel("ais-never-placed", "ETH/BTC") is True
    done = venue.ais_exchange_submit(signed(order(Side.BUY, 1.0), keyring))
    feed(venue, _bars(1))
    assert venue.ais_exchange_cancel(done.client_order_id, "ETH/BTC") is True
    assert len(venue.fills(0)) == 1


def test_cancel_after_a_partial_fill_keeps_the_fill(venue_factory: Factory, keyring: Keyring) -> None:
    venue = venue_factory(max_volume_share=0.5)
    result = venue.ais_exchange_submit(signed(order(Side.BUY, 10.0), keyring))
    feed(venue, [bar(T0, 0.1, 0.1, 0.1, 0.1, volume=4.0)])
    assert venue.open_orders()[0].filled_quantity == 2.0
    venue.ais_exchange_cancel(result.client_order_id, "ETH/BTC")
    feed(venue, _bars(2, start=1))
    assert [f.quantity for f in venue.fills(0)] == [2.0]
    assert venue.balances()["ETH"] == 2.0


# -- reads -----------------------------------------------------------------------------------


def test_fills_since_is_inclusive_and_oldest_first(venue_factory: Factory, keyring: Keyring) -> None:
    venue = venue_factory()
    for i in range(4):
        venue.ais_exchange_submit(signed(order(Side.BUY, 1.0), keyring))
        feed(venue, _bars(1, start=i))
    all_fills = venue.fills(0)
    times = [f.ts for f in all_fills]
    assert times == sorted(times)
    assert len(set(times)) == 4
    assert venue.fills(times[2]) == all_fills[2:]
    assert venue.fills(times[2] + 1) == all_fills[3:]
    assert venue.fills(times[-1] + 1) == []
    assert len({f.trade_id for f in all_fills}) == 4
    assert all(f.venue == "paper" for f in all_fills)


def test_open_orders_report_live_orders(venue_factory: Factory, keyring: Keyring) -> None:
    venue = venue_factory()
    a = venue.ais_exchange_submit(signed(order(Side.BUY, 1.5, 0.05), keyring))
    b = venue.ais_exchange_submit(signed(order(Side.SELL, 2.5, 0.2), keyring))
    live = {o.client_order_id: o for o in venue.open_orders()}
    assert set(live) == {a.client_order_id, b.client_order_id}
    assert live[a.client_order_id].limit_price == 0.05
    assert live[b.client_order_id].quantity == 2.5
    assert live[b.client_order_id].side is Side.SELL
    assert {o.status for o in live.values()} == {OrderStatus.SUBMITTED}


def test_positions_track_average_entry_and_realised_pnl(venue_factory: Factory, keyring: Keyring) -> None:
    venue = venue_factory(fee_bps=0, slippage_bps=0)

    def trade(side: Side, qty: float, price: float, i: int) -> None:
        venue.ais_exchange_submit(signed(order(side, qty), keyring))
        feed(venue, [bar(T0 + i * BAR_MS, price, price, price, price)])

    trade(Side.BUY, 1.0, 0.10, 0)
    trade(Side.BUY, 3.0, 0.12, 1)
    (p,) = venue.positions()
    assert (p.symbol, p.quantity, p.venue) == ("ETH/BTC", 4.0, "paper")
    assert p.avg_price == pytest.approx((0.10 + 3 * 0.12) / 4, rel=1e-12)
    trade(Side.SELL, 2.0, 0.13, 2)
    (p,) = venue.positions()
    assert p.quantity == 2.0
    assert p.avg_price == pytest.approx(0.115, rel=1e-12)  # unchanged by a reduction
    assert p.realized_pnl == pytest.approx(2.0 * (0.13 - 0.115), rel=1e-9)
    trade(Side.SELL, 5.0, 0.14, 3)  # through zero: 3 short opened at 0.14
    (p,) = venue.positions()
    assert p.quantity == -3.0
    assert p.avg_price == 0.14
    trade(Side.BUY, 3.0, 0.15, 4)  # flat: no longer listed
    assert venue.positions() == []
    assert venue.balances()["ETH"] == 0.0


def test_starting_balances_are_reported_but_are_not_positions(venue_factory: Factory) -> None:
    venue = venue_factory(balances={"BTC": 2.0, "ETH": 5.0})
    assert venue.balances() == {"BTC": 2.0, "ETH": 5.0}
    assert venue.positions() == []


# -- market rules and refusals --------------------------------------------------------------------


def test_market_rules_defaults_and_overrides() -> None:
    venue = make_instance(PaperExchange, "paper", lot_size=0.001, min_notional=0.0001,
                          markets={"LTC/BTC": {"lot_size": 0.01, "tick_size": 1e-6}})
    assert venue.market_rules("ETH/BTC") == MarketRules("ETH/BTC", 0.001, 0.0001, 1e-8)
    assert venue.market_rules("LTC/BTC") == MarketRules("LTC/BTC", 0.01, 0.0001, 1e-6)
    assert venue.market_rules("ETHBTC") is None
    assert make_instance(PaperExchange, "p").market_rules("A/B") == MarketRules("A/B", 1e-8, 0.0, 1e-8)


@pytest.mark.parametrize(
    ("options", "build", "code"),
    [
        ({}, lambda: order(Side.BUY, 1.0, venue="elsewhere"), "WRONG_VENUE"),
        ({}, lambda: order(Side.BUY, 1.0, symbol="ETHBTC"), "UNKNOWN_SYMBOL"),
        ({}, lambda: order(Side.BUY, 0.0), "INVALID_QUANTITY"),
        ({}, lambda: order(Side.BUY, float("nan")), "INVALID_QUANTITY"),
        ({"lot_size": 0.01}, lambda: order(Side.BUY, 1.005), "LOT_SIZE"),
        ({"lot_size": 0.01}, lambda: order(Side.BUY, 0.001), "LOT_SIZE"),
        ({}, lambda: order(Side.BUY, 1.0, -0.1), "INVALID_PRICE"),
        ({"tick_size": 1e-5}, lambda: order(Side.BUY, 1.0, 0.1000001), "TICK_SIZE"),
        ({"min_notional": 0.01}, lambda: order(Side.BUY, 0.05, 0.1), "MIN_NOTIONAL"),
        (
            {"markets": {"ETH/BTC": {"min_notional": 0.01}}},
            lambda: order(Side.BUY, 0.05, 0.1),
            "MIN_NOTIONAL",
        ),
        ({}, lambda: order(Side.SELL, 1.0, reduce_only=True), "REDUCE_ONLY"),
    ],
)
def test_refusals_name_a_reason_and_create_nothing(
    venue_factory: Factory, keyring: Keyring, options: dict, build: Callable, code: str
) -> None:
    venue = venue_factory(**options)
    result = venue.ais_exchange_submit(signed(build(), keyring))
    assert not result.accepted
    assert result.reason is not None
    assert result.reason.startswith(code + ": ")
    assert venue.open_orders() == []


def test_lot_sized_quantities_are_accepted(venue_factory: Factory, keyring: Keyring) -> None:
    venue = venue_factory(lot_size=0.01, tick_size=0.00001)
    assert venue.ais_exchange_submit(signed(order(Side.BUY, 0.3, 0.09557), keyring)).accepted
    assert venue.ais_exchange_submit(signed(order(Side.BUY, 1234.57), keyring)).accepted


def test_min_notional_of_a_market_order_uses_the_last_close(venue_factory: Factory, keyring: Keyring) -> None:
    venue = venue_factory(min_notional=0.01)
    assert venue.ais_exchange_submit(signed(order(Side.BUY, 0.05), keyring)).accepted  # no price seen yet
    venue.ais_exchange_on_market(bar_snapshot(bar(T0, 0.1, 0.1, 0.1, 0.1)))
    refused = venue.ais_exchange_submit(signed(order(Side.BUY, 0.05), keyring))
    assert not refused.accepted
    assert refused.reason is not None
    assert refused.reason.startswith("MIN_NOTIONAL")
    assert venue.ais_exchange_submit(signed(order(Side.BUY, 0.1), keyring)).accepted


def test_short_refused_when_not_allowed(venue_factory: Factory, keyring: Keyring) -> None:
    venue = venue_factory(allow_short=False, balances={"ETH": 1.0})
    too_big = venue.ais_exchange_submit(signed(order(Side.SELL, 1.5), keyring))
    assert not too_big.accepted
    assert too_big.reason is not None
    assert too_big.reason.startswith("SHORT_NOT_ALLOWED: ")
    assert venue.ais_exchange_submit(signed(order(Side.SELL, 0.6), keyring)).accepted
    # 0.6 is now reserved by the open sell: another 0.6 would oversell
    assert not venue.ais_exchange_submit(signed(order(Side.SELL, 0.6), keyring)).accepted
    assert venue.ais_exchange_submit(signed(order(Side.SELL, 0.4), keyring)).accepted
    feed(venue, _bars(1))
    assert venue.balances()["ETH"] == pytest.approx(0.0, abs=1e-12)
    assert venue.open_orders() == []


def test_short_allowed_by_default(venue_factory: Factory, keyring: Keyring) -> None:
    venue = venue_factory(balances={"ETH": 1.0})
    assert venue.ais_exchange_submit(signed(order(Side.SELL, 1.5), keyring)).accepted
    feed(venue, _bars(1))
    assert venue.balances()["ETH"] == pytest.approx(-0.5, abs=1e-12)
    (p,) = venue.positions()
    assert p.quantity == -1.5


def test_reduce_only_never_fills_past_the_position(venue_factory: Factory, keyring: Keyring) -> None:
    venue = venue_factory(fee_bps=0, slippage_bps=0)
    venue.ais_exchange_submit(signed(order(Side.BUY, 2.0), keyring))
    feed(venue, _bars(1))
    first = venue.ais_exchange_submit(signed(order(Side.SELL, 1.5, reduce_only=True), keyring))
    second = venue.ais_exchange_submit(signed(order(Side.SELL, 1.5, reduce_only=True), keyring))
    assert first.accepted
    assert second.accepted
    feed(venue, _bars(1, start=1))
    assert [f.quantity for f in venue.fills(0)[1:]] == [1.5, 0.5]  # the second is cut to what was left
    assert venue.positions() == []
    assert venue.open_orders() == []


@pytest.mark.parametrize(
    ("options", "where"),
    [
        ({"fee_bps": -1}, "fee_bps"),
        ({"slippage_bps": 10_000}, "slippage_bps"),
        ({"max_volume_share": 0}, "max_volume_share"),
        ({"max_volume_share": 1.5}, "max_volume_share"),
        ({"lot_size": 0}, "lot_size"),
        ({"markets": {"ETHBTC": {}}}, "markets"),
        ({"markets": {"ETH/BTC": {"tick_size": -1}}}, "tick_size"),
        ({"markets": {"ETH/BTC": {"lots": 1}}}, "lots"),
        ({"balances": {"BTC": float("inf")}}, "balances"),
        ({"fees": 1}, "fees"),
    ],
)
def test_config_errors_name_the_key(options: dict, where: str) -> None:
    with pytest.raises(ValidationError) as info:
        make_instance(PaperExchange, "paper", **options)
    assert any(where in map(str, e["loc"]) for e in info.value.errors())
