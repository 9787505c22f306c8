from __future__ import annotations

import csv

import pytest
from ais_guards_standard.liquidity import MinLiquidity, book_depth
from guards_kit import book, buy, context, portfolio, sell
from pydantic import ValidationError

from ais.context import GuardContext
from ais.domain import Action, RiskState, Side
from ais.testing import FakeMarket, make_instance, market_data_dir, read_candles
from ais.testing.conformance import GuardContract

DATA = market_data_dir() / "binance-5m-2018-01"


class TestMinLiquidityContract(GuardContract):
    @pytest.fixture
    def guard(self) -> MinLiquidity:
        return make_instance(
            MinLiquidity, "min_liquidity", max_volume_share=0.01, min_bar_quote_volume=1000.0
        )


def guard(**options: float) -> MinLiquidity:
    return make_instance(MinLiquidity, "liq", **options)


def test_order_must_fit_a_share_of_the_bar_quote_volume() -> None:
    ctx = context({"AAA/USD": 100.0}, volume=1_000.0)  # quote volume 100,000; 1 % is 1,000 = 10 units
    g = guard(max_volume_share=0.01)
    assert g.ais_guard_check(buy("AAA/USD", 10.0), portfolio(), ctx).action is Action.PASS
    verdict = g.ais_guard_check(buy("AAA/USD", 10.01), portfolio(), ctx)
    assert (verdict.action, verdict.reason_code, verdict.guard) == (Action.REJECT, "MIN_LIQUIDITY", "liq")
    assert "quote volume" in verdict.message
    # Closing a position trades in the same thin market: it is judged too.
    held = portfolio(holdings={"AAA/USD": (50.0, 100.0)})
    assert g.ais_guard_check(sell("AAA/USD", 10.01), held, ctx).reason_code == "MIN_LIQUIDITY"


@pytest.mark.parametrize(
    ("volume", "code"), [(1_000.0, None), (999.99, "MIN_LIQUIDITY"), (0.0, "MIN_LIQUIDITY")]
)
def test_bar_quote_volume_minimum(volume: float, code: str | None) -> None:
    g = guard(max_volume_share=1.0, min_bar_quote_volume=100_000.0)
    ctx = context({"AAA/USD": 100.0}, volume=volume)  # quote volume = 100 × volume
    verdict = g.ais_guard_check(buy("AAA/USD", 0.001), portfolio(), ctx)
    assert verdict.reason_code == code


def test_book_depth_within_the_slippage_band() -> None:
    b = book(
        bids=[(99.9, 2.0), (99.5, 4.0), (99.0, 100.0)], asks=[(100.0, 5.0), (100.5, 5.0), (101.0, 100.0)]
    )
    # 50 bps from 100.0 is 100.5 (inclusive); 101.0 is outside.
    assert book_depth(b, Side.BUY, 50.0) == pytest.approx(100.0 * 5 + 100.5 * 5)
    assert book_depth(b, Side.BUY, 0.0) == pytest.approx(500.0)
    # 50 bps below 99.9 is 99.4005: 99.5 counts, 99.0 does not.
    assert book_depth(b, Side.SELL, 50.0) == pytest.approx(99.9 * 2 + 99.5 * 4)
    assert book_depth(book([], []), Side.BUY, 50.0) == 0.0


def test_a_book_replaces_the_bar_volume_as_the_yardstick() -> None:
    b = book(bids=[(99.9, 2.0), (99.5, 4.0)], asks=[(100.0, 5.0), (100.5, 5.0), (101.0, 100.0)])
    ctx = context({"AAA/USD": 100.0}, volume=1e9, books={"AAA/USD": b})  # a huge bar does not help
    g = guard(max_volume_share=0.5, max_book_slippage_bps=50.0)
    # Ask depth within 50 bps is 1,002.5; half of it is 501.25 = 5.0125 units at 100.
    assert g.ais_guard_check(buy("AAA/USD", 5.0125), portfolio(), ctx).action is Action.PASS
    verdict = g.ais_guard_check(buy("AAA/USD", 5.02), portfolio(), ctx)
    assert verdict.reason_code == "MIN_LIQUIDITY"
    assert "book depth" in verdict.message
    # A sell reads the bids: 99.9×2 + 99.5×4 = 597.8; half is 298.9 = 2.989 units at 100.
    assert g.ais_guard_check(sell("AAA/USD", 2.98), portfolio(), ctx).action is Action.PASS
    assert g.ais_guard_check(sell("AAA/USD", 3.0), portfolio(), ctx).reason_code == "MIN_LIQUIDITY"
    one_sided = context({"AAA/USD": 100.0}, books={"AAA/USD": book([(99.9, 1e6)], [])})
    assert g.ais_guard_check(buy("AAA/USD", 0.001), portfolio(), one_sided).reason_code == "MIN_LIQUIDITY"


def test_a_book_alone_is_enough_unless_a_bar_minimum_is_set() -> None:
    b = book(bids=[(99.9, 10.0)], asks=[(100.0, 10.0)])
    ctx = context(tickers={"AAA/USD": 100.0}, books={"AAA/USD": b})  # price from a ticker, no bar
    lenient = guard(max_volume_share=0.5)
    assert lenient.ais_guard_check(buy("AAA/USD", 5.0), portfolio(), ctx).action is Action.PASS
    strict = guard(max_volume_share=0.5, min_bar_quote_volume=1.0)
    assert strict.ais_guard_check(buy("AAA/USD", 1.0), portfolio(), ctx).reason_code == "NO_MARKET_DATA"


def test_fails_closed_without_market_data() -> None:
    g = guard()
    assert g.ais_guard_check(buy("AAA/USD", 1.0), portfolio(), context()).reason_code == "NO_MARKET_DATA"
    ticker_only = context(tickers={"AAA/USD": 100.0})  # a price but nothing to measure liquidity with
    verdict = g.ais_guard_check(buy("AAA/USD", 1.0), portfolio(), ticker_only)
    assert (verdict.action, verdict.reason_code) == (Action.REJECT, "NO_MARKET_DATA")
    assert "AAA/USD" in verdict.message


@pytest.mark.parametrize(
    "options",
    [
        {"max_volume_share": 0.0},
        {"max_volume_share": 1.5},
        {"max_book_slippage_bps": -1.0},
        {"min_bar_quote_volume": -5.0},
        {"max_share": 0.1},
    ],
)
def test_config_is_validated(options: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        guard(**options)


def test_real_eth_btc_bars_decide_liquidity() -> None:
    """A 0.1 BTC order against the real January-2018 ETH/BTC 5-minute bars with a 1 % participation
    cap: it must pass exactly on the bars that traded at least 10 BTC."""
    path = DATA / "ETH_BTC.csv"
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    thin = {int(r["timestamp"]) for r in rows if float(r["volume"]) * float(r["close"]) < 10.0}
    market = FakeMarket({"ETH/BTC": read_candles(path)})
    g = guard(max_volume_share=0.01)
    rejected: set[int] = set()
    passed = 0
    for snap in market.snapshots():
        bar = snap.candles["ETH/BTC"]
        o = buy("ETH/BTC", 0.1 / bar.close * (1 - 1e-9))  # 0.1 BTC, a hair under to stay off the boundary
        verdict = g.ais_guard_check(o, portfolio(), GuardContext(snap, RiskState.ACTIVE, snap.ts, "UTC"))
        if verdict.action is Action.PASS:
            passed += 1
        else:
            assert verdict.reason_code == "MIN_LIQUIDITY"
            rejected.add(bar.ts)
    assert rejected == thin
    assert len(thin) > 100, "the quiet hours of this data have bars under 10 BTC"
    assert passed > len(thin)
