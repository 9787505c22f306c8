"""MinLiquidity: an order may take only a small share of what the market actually trades or shows."""

from __future__ import annotations

from pydantic import Field

from ais import PluginConfig, hookimpl
from ais.context import GuardContext
from ais.domain import Order, OrderBook, PortfolioSnapshot, Side, Verdict
from ais_guards_standard.guard import Guard, describe
from ais_guards_standard.projection import usable_price
from ais_guards_standard.reasons import MIN_LIQUIDITY, NO_MARKET_DATA

#: Relative slack on the slippage bound so a level exactly N bps from the touch counts as within
#: N bps despite float rounding of ``best × (1 ± N / 10,000)``.
_INCLUSIVE = 1e-12


def book_depth(book: OrderBook, side: Side, slippage_bps: float) -> float:
    """Quote-currency depth a ``side`` order can take within ``slippage_bps`` of the touch:
    ``Σ price × quantity`` over the asks priced ≤ ``best_ask × (1 + bps / 10,000)`` for a buy, or
    the bids priced ≥ ``best_bid × (1 − bps / 10,000)`` for a sell. 0.0 if that side is empty.
    O(levels within the band): the book is best first, so the walk stops at the first level outside."""
    depth = 0.0
    if side is Side.BUY:
        if not book.asks:
            return 0.0
        bound = book.asks[0].price * (1.0 + slippage_bps / 10_000.0) * (1.0 + _INCLUSIVE)
        for level in book.asks:
            if level.price > bound:
                break
            depth += level.price * level.quantity
    else:
        if not book.bids:
            return 0.0
        bound = book.bids[0].price * (1.0 - slippage_bps / 10_000.0) * (1.0 - _INCLUSIVE)
        for level in book.bids:
            if level.price < bound:
                break
            depth += level.price * level.quantity
    return depth


class MinLiquidityConfig(PluginConfig):
    max_volume_share: float = Field(
        0.01,
        gt=0,
        le=1,
        description="largest order notional as a fraction of the last bar's quote volume, or of the book "
        "depth within max_book_slippage_bps when a book is present (0.01 = 1 %)",
    )
    max_book_slippage_bps: float = Field(
        50.0, ge=0, description="book depth counted: levels within this many basis points of the touch"
    )
    min_bar_quote_volume: float = Field(
        0.0, ge=0, description="the last bar's quote volume (volume × close) must be at least this"
    )


class MinLiquidity(Guard[MinLiquidityConfig]):
    """Liquidity read from the market, never assumed. With ``notional = quantity × price``:

    - the symbol's last bar must have ``volume × close ≥ min_bar_quote_volume``;
    - if ``context.market.books`` has the symbol: ``notional ≤ max_volume_share × depth`` where
      ``depth`` is the quote value on the order's side within ``max_book_slippage_bps`` of the touch;
      otherwise ``notional ≤ max_volume_share × bar quote volume``.

    Failing either → ``MIN_LIQUIDITY``. No usable price, or neither a bar nor a book to measure
    liquidity with (or no bar while ``min_bar_quote_volume > 0``) → ``NO_MARKET_DATA`` (fail closed).
    Applies to every order, reducing ones included: a thin market is thin in both directions.
    """

    Config = MinLiquidityConfig
    reason_codes = (MIN_LIQUIDITY, NO_MARKET_DATA)

    def __init__(self, name: str, config: MinLiquidityConfig) -> None:
        super().__init__(name, config)
        self._share = float(config.max_volume_share)
        self._bps = float(config.max_book_slippage_bps)
        self._min_bar = float(config.min_bar_quote_volume)

    @hookimpl
    def ais_guard_check(self, order: Order, portfolio: PortfolioSnapshot, context: GuardContext) -> Verdict:
        market = context.market
        symbol = order.symbol
        price = usable_price(market, symbol)
        if price is None:
            return self._no_market_data(order)
        candle = market.candles.get(symbol)
        book = market.books.get(symbol)
        bar_quote = 0.0
        if candle is not None:
            bar_quote = candle.volume * candle.close
            if not bar_quote >= self._min_bar:
                return self._reject(
                    MIN_LIQUIDITY,
                    f"{symbol} last bar traded {bar_quote:.6g} in quote volume < minimum {self._min_bar:g}",
                )
        elif book is None or self._min_bar > 0.0:
            return self._reject(
                NO_MARKET_DATA,
                f"no bar volume{'' if self._min_bar > 0.0 else ' or order book'} for {symbol}: "
                "cannot measure liquidity, rejecting (fail closed)",
            )
        notional = order.quantity * price
        if book is not None:
            depth = book_depth(book, order.side, self._bps)
            if not notional <= self._share * depth:
                return self._reject(
                    MIN_LIQUIDITY,
                    f"{describe(order)} notional {notional:.6g} > {self._share:.2%} of the book depth "
                    f"{depth:.6g} within {self._bps:g} bps of the touch",
                )
        elif not notional <= self._share * bar_quote:
            return self._reject(
                MIN_LIQUIDITY,
                f"{describe(order)} notional {notional:.6g} > {self._share:.2%} of the last bar's "
                f"quote volume {bar_quote:.6g}",
            )
        return self._ok
