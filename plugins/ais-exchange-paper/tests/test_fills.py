"""The fill model: next-bar market fills with slippage, limit crossing, partial fills, fees."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from ais_exchange_paper.venue import PaperExchange
from paper_kit import BAR_MS, SYMBOL, bar, bar_snapshot, feed, order, signed

from ais.context import RunContext, SharedState
from ais.domain.market import Candle, MarketSnapshot
from ais.domain.orders import OrderStatus, Side
from ais.risk.tokens import Keyring, verify_token
from ais.testing import make_instance

T0 = 1_515_560_100_000
Factory = Callable[..., PaperExchange]


def test_market_buy_fills_at_the_next_bars_open_plus_slippage(
    venue_factory: Factory, keyring: Keyring
) -> None:
    venue = venue_factory(fee_bps=0, slippage_bps=10)
    decided_on = bar(T0, 0.0950, 0.0990, 0.0940, 0.0980)
    venue.ais_exchange_on_market(bar_snapshot(decided_on))
    result = venue.ais_exchange_submit(signed(order(Side.BUY, 2.0), keyring))
    assert result.accepted
    assert venue.fills(0) == []  # nothing fills in the cycle that decided

    next_bar = bar(T0 + BAR_MS, 0.1000, 0.1100, 0.0900, 0.1050)
    venue.ais_exchange_on_market(bar_snapshot(next_bar))
    (fill,) = venue.fills(0)
    assert fill.price == pytest.approx(0.1000 * (1 + 10 / 1e4), rel=1e-12)
    assert fill.quantity == 2.0
    assert fill.ts == next_bar.ts + BAR_MS  # the snapshot.ts of the call that filled it
    assert fill.side is Side.BUY
    assert fill.client_order_id == result.client_order_id
    assert venue.open_orders() == []


def test_market_sell_fills_at_open_minus_slippage(venue_factory: Factory, keyring: Keyring) -> None:
    venue = venue_factory(fee_bps=0, slippage_bps=25)
    venue.ais_exchange_on_market(bar_snapshot(bar(T0, 0.1, 0.1, 0.1, 0.1)))
    venue.ais_exchange_submit(signed(order(Side.SELL, 1.0), keyring))
    venue.ais_exchange_on_market(bar_snapshot(bar(T0 + BAR_MS, 0.2, 0.3, 0.1, 0.25)))
    (fill,) = venue.fills(0)
    assert fill.price == pytest.approx(0.2 * (1 - 25 / 1e4), rel=1e-12)


def test_no_fill_from_a_bar_seen_at_submission(venue_factory: Factory, keyring: Keyring) -> None:
    """A repeated or stale snapshot cannot fill an order: only a bar opening later can."""
    venue = venue_factory()
    seen = bar(T0, 0.1, 0.1, 0.1, 0.1)
    venue.ais_exchange_on_market(bar_snapshot(seen))
    venue.ais_exchange_submit(signed(order(Side.BUY, 1.0), keyring))
    venue.ais_exchange_on_market(bar_snapshot(seen))  # the same bar again
    stale = MarketSnapshot(ts=T0 + 2 * BAR_MS, candles={SYMBOL: bar(T0 - BAR_MS, 0.1, 0.1, 0.1, 0.1)},
                           bar_ms=BAR_MS)
    venue.ais_exchange_on_market(stale)  # a provider handing over an older bar
    assert venue.fills(0) == []
    assert [o.status for o in venue.open_orders()] == [OrderStatus.SUBMITTED]


def test_other_symbols_bars_do_not_fill(venue_factory: Factory, keyring: Keyring) -> None:
    venue = venue_factory()
    venue.ais_exchange_submit(signed(order(Side.BUY, 1.0), keyring))
    feed(venue, [bar(T0, 0.01, 0.01, 0.01, 0.01)], symbol="LTC/BTC")
    assert venue.fills(0) == []
    feed(venue, [bar(T0 + BAR_MS, 0.1, 0.1, 0.1, 0.1)])
    assert len(venue.fills(0)) == 1


def test_fees_and_balances(venue_factory: Factory, keyring: Keyring) -> None:
    venue = venue_factory(fee_bps=10, slippage_bps=0, balances={"BTC": 1.0})
    venue.ais_exchange_submit(signed(order(Side.BUY, 2.0), keyring))
    feed(venue, [bar(T0, 0.1, 0.1, 0.1, 0.1)])
    (buy,) = venue.fills(0)
    assert buy.fee == pytest.approx(0.1 * 2.0 * 10 / 1e4, rel=1e-12)
    assert venue.balances() == pytest.approx({"BTC": 1.0 - 0.2 - 0.0002, "ETH": 2.0}, rel=1e-12)

    venue.ais_exchange_submit(signed(order(Side.SELL, 2.0), keyring))
    feed(venue, [bar(T0 + BAR_MS, 0.11, 0.11, 0.11, 0.11)])
    sell = venue.fills(0)[1]
    assert sell.fee == pytest.approx(0.11 * 2.0 * 10 / 1e4, rel=1e-12)
    assert venue.balances() == pytest.approx(
        {"BTC": 1.0 - 0.2 - 0.0002 + 0.22 - 0.00022, "ETH": 0.0}, rel=1e-12, abs=1e-15
    )


@pytest.mark.parametrize(
    ("side", "limit", "quiet", "crossing", "expected"),
    [
        # buy 0.095: a bar whose low stays above does nothing; one that trades through fills at the limit
        (Side.BUY, 0.095, (0.097, 0.099, 0.0951, 0.098), (0.097, 0.098, 0.094, 0.096), 0.095),
        # buy 0.095 and the bar opens below it (gap down): the better price, the open
        (Side.BUY, 0.095, (0.097, 0.099, 0.0951, 0.098), (0.093, 0.096, 0.092, 0.095), 0.093),
        # sell 0.105: a bar whose high stays below does nothing; one that reaches it fills at the limit
        (Side.SELL, 0.105, (0.100, 0.1049, 0.099, 0.101), (0.101, 0.106, 0.100, 0.104), 0.105),
        # sell 0.105 and the bar opens above it (gap up): the open
        (Side.SELL, 0.105, (0.100, 0.1049, 0.099, 0.101), (0.107, 0.108, 0.104, 0.106), 0.107),
    ],
)
def test_limit_orders_fill_when_a_bar_crosses_them(
    venue_factory: Factory, keyring: Keyring, side: Side, limit: float,
    quiet: tuple[float, float, float, float], crossing: tuple[float, float, float, float], expected: float,
) -> None:
    venue = venue_factory(fee_bps=0, slippage_bps=50)  # slippage must not touch limit fills
    venue.ais_exchange_on_market(bar_snapshot(bar(T0, 0.1, 0.1, 0.1, 0.1)))
    venue.ais_exchange_submit(signed(order(side, 1.0, limit), keyring))
    feed(venue, [bar(T0 + BAR_MS, *quiet), bar(T0 + 2 * BAR_MS, *quiet)])
    assert venue.fills(0) == []
    assert [o.status for o in venue.open_orders()] == [OrderStatus.SUBMITTED]
    feed(venue, [bar(T0 + 3 * BAR_MS, *crossing)])
    (fill,) = venue.fills(0)
    assert fill.price == expected
    assert fill.ts == T0 + 4 * BAR_MS
    assert venue.open_orders() == []


def _expected_partials(quantity: float, candles: list[Candle], share: float) -> list[float]:
    """The documented rule, independently: min(remaining, share × volume floored to 1e-8 lots)."""
    out: list[float] = []
    remaining = quantity
    for c in candles:
        if remaining <= 1e-14:
            break
        cap = share * c.volume
        qty = remaining if cap >= remaining else math.floor(cap * 1e8 + 1e-6) / 1e8
        out.append(qty)
        remaining -= qty
    return out


def test_market_order_fills_partially_over_real_bars(
    venue_factory: Factory, keyring: Keyring, eth_btc: list[Candle]
) -> None:
    share = 0.01
    venue = venue_factory(fee_bps=10, slippage_bps=5, max_volume_share=share)
    window = eth_btc[100:140]
    venue.ais_exchange_on_market(bar_snapshot(window[0]))
    # About 3.5 bars' worth of the allowed volume: takes several bars.
    quantity = round(share * sum(c.volume for c in window[1:4]) + share * window[4].volume / 2, 4)
    result = venue.ais_exchange_submit(signed(order(Side.BUY, quantity), keyring))

    statuses: list[OrderStatus | None] = []
    for candle in window[1:]:
        venue.ais_exchange_on_market(bar_snapshot(candle))
        live = venue.open_orders()
        statuses.append(live[0].status if live else None)
    fills = venue.fills(0)
    expected = _expected_partials(quantity, window[1:], share)
    assert len(fills) == len(expected) >= 3
    assert [f.quantity for f in fills] == pytest.approx(expected, abs=1e-9)
    for fill, candle in zip(fills, window[1:], strict=False):
        assert fill.price == pytest.approx(candle.open * (1 + 5 / 1e4), rel=1e-12)
        assert fill.ts == candle.ts + BAR_MS
        assert fill.quantity <= share * candle.volume + 1e-12
        assert fill.fee == pytest.approx(fill.price * fill.quantity * 10 / 1e4, rel=1e-12)
    assert statuses[: len(fills) - 1] == [OrderStatus.PARTIALLY_FILLED] * (len(fills) - 1)
    assert statuses[len(fills) - 1 :] == [None] * (len(statuses) - len(fills) + 1)
    assert math.fsum(f.quantity for f in fills) == pytest.approx(quantity, abs=1e-12)
    assert len({f.trade_id for f in fills}) == len(fills)
    assert all(f.client_order_id == result.client_order_id for f in fills)
    (position,) = venue.positions()
    vwap = math.fsum(f.price * f.quantity for f in fills) / math.fsum(f.quantity for f in fills)
    assert position.quantity == pytest.approx(quantity, abs=1e-12)
    assert position.avg_price == pytest.approx(vwap, rel=1e-12)
    assert venue.balances()["BTC"] == pytest.approx(-math.fsum(f.price * f.quantity + f.fee for f in fills),
                                                    rel=1e-12)


def test_partial_fill_shows_in_open_orders(
    venue_factory: Factory, keyring: Keyring, eth_btc: list[Candle]
) -> None:
    candle = eth_btc[200]
    venue = venue_factory(max_volume_share=0.001)
    quantity = round(candle.volume, 2)  # a thousand bars' worth of volume: one bar fills a little
    venue.ais_exchange_submit(signed(order(Side.SELL, quantity), keyring))
    feed(venue, [candle])
    (live,) = venue.open_orders()
    assert live.status is OrderStatus.PARTIALLY_FILLED
    assert live.filled_quantity == pytest.approx(math.floor(candle.volume * 0.001 * 1e8) / 1e8, abs=1e-8)
    assert live.quantity == quantity


def test_limit_order_partial_fills_on_real_bars(
    venue_factory: Factory, keyring: Keyring, eth_btc: list[Candle]
) -> None:
    """A resting limit buy fills only on bars whose low reaches it, a volume share at a time."""
    share = 0.02
    venue = venue_factory(fee_bps=0, max_volume_share=share)
    window = eth_btc[1000:1300]
    venue.ais_exchange_on_market(bar_snapshot(window[0]))
    limit = round(sorted(c.low for c in window[1:])[10], 8)  # about eleven bars reach it
    venue.ais_exchange_submit(signed(order(Side.BUY, 50.0, limit), keyring))
    feed(venue, window[1:])
    fills = venue.fills(0)
    crossing = [c for c in window[1:] if c.low <= limit]
    assert len(crossing) >= 10
    by_ts = {c.ts + BAR_MS: c for c in crossing}
    for fill in fills:
        candle = by_ts[fill.ts]  # every fill comes from a bar that reached the limit
        assert fill.price == min(candle.open, limit)
        assert fill.quantity <= share * candle.volume + 1e-12
    assert [f.quantity for f in fills] == pytest.approx(_expected_partials(50.0, crossing, share), abs=1e-9)
    filled = math.fsum(f.quantity for f in fills)
    live = venue.open_orders()
    if filled < 50.0 - 1e-9:
        assert live[0].filled_quantity == pytest.approx(filled, abs=1e-12)
    else:
        assert live == []


def test_zero_volume_bar_fills_nothing(venue_factory: Factory, keyring: Keyring) -> None:
    venue = venue_factory(fee_bps=0, slippage_bps=0)
    venue.ais_exchange_submit(signed(order(Side.BUY, 1.0), keyring))
    feed(venue, [bar(T0, 0.1, 0.1, 0.1, 0.1, volume=0.0)])
    assert venue.fills(0) == []
    feed(venue, [bar(T0 + BAR_MS, 0.2, 0.2, 0.2, 0.2)])
    assert [f.price for f in venue.fills(0)] == [0.2]


def test_orders_fill_in_submission_order_on_the_same_bar(venue_factory: Factory, keyring: Keyring) -> None:
    venue = venue_factory()
    ids = [venue.ais_exchange_submit(signed(order(Side.BUY, 1.0), keyring)).client_order_id for _ in range(3)]
    feed(venue, [bar(T0, 0.1, 0.1, 0.1, 0.1)])
    assert [f.client_order_id for f in venue.fills(0)] == ids


def test_backtest_mode_matches_the_same_way(keyring: Keyring) -> None:
    """In backtests the per-bar match skips the lock; the fills must not change."""
    venue = make_instance(PaperExchange, "paper", fee_bps=0, slippage_bps=0, max_volume_share=0.5)
    venue.ais_startup(RunContext("bt", "backtest", (SYMBOL,), "UTC", SharedState(),
                                 verify_token=lambda o: verify_token(o, keyring)))
    venue.ais_exchange_submit(signed(order(Side.BUY, 3.0), keyring))
    venue.ais_exchange_submit(signed(order(Side.SELL, 1.0, 0.15), keyring))
    feed(venue, [bar(T0, 0.1, 0.1, 0.1, 0.1, volume=4.0),
                 bar(T0 + BAR_MS, 0.14, 0.16, 0.13, 0.15, volume=4.0)])
    assert [(f.quantity, f.price) for f in venue.fills(0)] == [(2.0, 0.1), (1.0, 0.14), (1.0, 0.15)]
    assert venue.open_orders() == []
