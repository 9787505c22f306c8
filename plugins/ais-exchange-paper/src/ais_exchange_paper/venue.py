"""``PaperExchange``: a simulated venue that fills orders against the bars the core hands it.

Fill model (the docs page ``docs/plugins/exchange-paper.md`` states it for users):

- Orders submitted during cycle *t* are matched from the next ``on_market`` call on, against the
  first bar of their symbol that opened after the newest bar the venue had seen at submission:
  no fill from a bar the decision could see (no look-ahead), and no bar is used twice for an order.
- MARKET: fills at that bar's open × (1 ± slippage_bps / 1e4), against the taker.
- LIMIT: a buy fills when ``low <= limit`` at ``min(open, limit)``; a sell when ``high >= limit`` at
  ``max(open, limit)``. No slippage.
- At most ``max_volume_share × volume`` (base units) fills per bar per order; the rest stays open.
- Fee: ``fee_bps / 1e4 × price × quantity`` in the quote currency on every fill.

The base class verifies the risk token before ``place_order`` runs; nothing here can bypass it.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Mapping, Sequence
from operator import attrgetter
from typing import TYPE_CHECKING, ClassVar

from ais.context import RunContext
from ais.domain.market import MarketSnapshot
from ais.domain.orders import Fill, MarketRules, OpenOrder, Order, OrderStatus, OrderType, Side, SubmitResult
from ais.domain.portfolio import Position
from ais.exchange import ExchangeAdapter
from ais.markers import hookimpl
from ais_exchange_paper.config import PaperConfig
from ais_exchange_paper.fillmodel import fill_quantity, limit_price, market_price, on_grid
from ais_exchange_paper.ledger import Ledger
from ais_exchange_paper.records import OrderRecord

if TYPE_CHECKING:
    from ais_exchange_paper.store import StateStore

_FILL_TS = attrgetter("ts")
_LIVE = (OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED)


class PaperExchange(ExchangeAdapter[PaperConfig]):
    """A simulated venue with balances, positions, resting orders and an optional SQLite state file.

    Reason codes of a refused submission (``SubmitResult.reason`` is ``"CODE: explanation"``):
    WRONG_VENUE, UNKNOWN_SYMBOL, INVALID_QUANTITY, LOT_SIZE, INVALID_PRICE, TICK_SIZE, MIN_NOTIONAL,
    REDUCE_ONLY, SHORT_NOT_ALLOWED.
    """

    Config: ClassVar[type[PaperConfig]] = PaperConfig

    def __init__(self, name: str, config: PaperConfig) -> None:
        super().__init__(name, config)
        self._lock = threading.Lock()
        self._buy_factor = 1.0 + config.slippage_bps / 1e4
        self._sell_factor = 1.0 - config.slippage_bps / 1e4
        self._fee_rate = config.fee_bps / 1e4
        self._max_share = config.max_volume_share
        self._allow_short = config.allow_short
        #: Backtests drive the venue from one thread only: the per-bar match then skips the lock.
        self._single_threaded = False
        self._rules: dict[str, MarketRules] = {}
        #: Every accepted order by client order id (finished ones too: resubmission is idempotent).
        self._orders: dict[str, OrderRecord] = {}
        #: Live orders only, in submission order; ``on_market`` returns at once when it is empty.
        self._live: dict[str, OrderRecord] = {}
        self._fills: list[Fill] = []
        self._ledger = Ledger(dict(config.balances))
        self._order_seq = 0
        self._last: MarketSnapshot | None = None
        self._store: StateStore | None = None
        if config.state is not None:
            self._open_state(config.state)

    def _open_state(self, path: str) -> None:
        from ais_exchange_paper.store import StateStore  # sqlite3 only when durable state is configured

        store = StateStore(path, self.name)
        loaded = store.load()
        if loaded.fresh:
            store.initialise(self._ledger.balances)
        else:
            self._ledger = Ledger(loaded.balances, loaded.positions)
            for record in loaded.orders:
                self._orders[record.order.client_order_id] = record
                if record.status in _LIVE:
                    self._live[record.order.client_order_id] = record
            self._fills = loaded.fills
            self._order_seq = loaded.orders[-1].seq if loaded.orders else 0
        self._store = store

    def start(self, context: RunContext) -> None:
        """A backtest calls the venue from its one loop thread; other modes may read it from others."""
        self._single_threaded = context.mode == "backtest"

    @hookimpl
    def ais_shutdown(self) -> None:
        """Close the state file, if any (everything is already committed)."""
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    # -- submission ------------------------------------------------------------------------------

    def place_order(self, order: Order) -> SubmitResult:
        """Accept (or refuse, with a reason code) a token-verified order; a known client order id
        returns the existing order's result and creates nothing."""
        with self._lock:
            known = self._orders.get(order.client_order_id)
            if known is not None:
                return SubmitResult(order.client_order_id, True, known.venue_order_id)
            rules = self.market_rules(order.symbol)
            problem = self._refusal(order, rules)
            if problem is not None:
                return SubmitResult(order.client_order_id, False, None, problem)
            assert rules is not None  # _refusal returns UNKNOWN_SYMBOL when there are no rules
            seq = self._order_seq + 1
            record = OrderRecord(order, seq, f"{self.name}-{seq}", rules.lot_size,
                                 last_bar_ts=self._newest_bar_ts(order.symbol))
            if self._store is not None:
                self._store.save(orders=(record,))  # durable before the caller hears "accepted"
            self._order_seq = seq
            self._orders[order.client_order_id] = record
            self._live[order.client_order_id] = record
            return SubmitResult(order.client_order_id, True, record.venue_order_id)

    def _newest_bar_ts(self, symbol: str) -> int:
        """Open time of the newest bar of ``symbol`` the venue has seen; an order fills only on later bars."""
        last = self._last
        if last is None:
            return -1
        bar = last.candles.get(symbol)
        return bar.ts if bar is not None else last.ts - last.bar_ms

    def _refusal(self, order: Order, rules: MarketRules | None) -> str | None:
        """Why the venue refuses ``order`` (``"CODE: explanation"``), or ``None`` to accept it."""
        if order.venue != self.name:
            return f"WRONG_VENUE: order is for venue {order.venue!r}, this is {self.name!r}"
        if rules is None:
            return f"UNKNOWN_SYMBOL: {order.symbol!r} is not BASE/QUOTE"
        qty = order.quantity
        if not (math.isfinite(qty) and qty > 0.0):
            return f"INVALID_QUANTITY: quantity must be a positive number (got {qty!r})"
        if not on_grid(qty, rules.lot_size):
            return f"LOT_SIZE: quantity {qty!r} is not a multiple of the lot size {rules.lot_size!r}"
        price: float | None
        if order.type is OrderType.LIMIT:
            price = order.limit_price
            if price is None or not (math.isfinite(price) and price > 0.0):
                return f"INVALID_PRICE: a limit order needs a positive limit price (got {price!r})"
            if not on_grid(price, rules.tick_size):
                return (f"TICK_SIZE: limit price {price!r} is not a multiple of the tick size "
                        f"{rules.tick_size!r}")
        else:
            bar = self._last.candles.get(order.symbol) if self._last is not None else None
            price = bar.close if bar is not None else None  # no price seen yet: notional unknown
        if price is not None and price * qty < rules.min_notional:
            return (f"MIN_NOTIONAL: order value {price * qty!r} is below the minimum notional "
                    f"{rules.min_notional!r}")
        base = order.symbol.partition("/")[0]
        if order.reduce_only:
            position = self._ledger.positions.get(order.symbol)
            held = position.quantity if position is not None else 0.0
            if held == 0.0 or (held > 0.0) == (order.side is Side.BUY):
                return f"REDUCE_ONLY: a reduce-only {order.side.value} cannot reduce a position of {held!r}"
        if order.side is Side.SELL and not self._allow_short:
            free = self._ledger.balances.get(base, 0.0) - self._reserved_sells(base)
            if qty > free + rules.lot_size * 1e-6:
                return (f"SHORT_NOT_ALLOWED: selling {qty!r} {base} exceeds the {max(free, 0.0)!r} held "
                        "and not reserved by open sells (allow_short = false)")
        return None

    def _reserved_sells(self, base: str) -> float:
        """Base units still to be sold by live sell orders on any symbol with this base asset."""
        return sum(r.remaining for r in self._live.values() if not r.is_buy and r.base == base)

    def cancel_order(self, client_order_id: str, symbol: str) -> bool:
        """Cancel a live order. Unknown or finished orders are already gone: ``True``, idempotently."""
        with self._lock:
            record = self._live.get(client_order_id)
            if record is None:
                return True
            record.status = OrderStatus.CANCELLED
            if self._store is not None:
                self._store.save(orders=(record,))
            del self._live[client_order_id]
            return True

    # -- matching (hot path) ------------------------------------------------------------------------

    def on_market(self, snapshot: MarketSnapshot) -> None:
        """Match live orders against the bars in ``snapshot``; O(1) when nothing rests."""
        self._last = snapshot
        if not self._live:
            return
        if self._single_threaded:
            self._match(snapshot)
        else:
            with self._lock:
                self._match(snapshot)

    def _match(self, snapshot: MarketSnapshot) -> None:
        candles = snapshot.candles
        ts = snapshot.ts
        # Lists only when needed: this runs every bar while any order rests.
        sink: list[tuple[int, Fill]] | None = [] if self._store is not None else None
        touched: list[OrderRecord] | None = [] if sink is not None else None
        finished: list[OrderRecord] | None = None
        for record in self._live.values():
            bar = candles.get(record.symbol)
            if bar is None or bar.ts <= record.last_bar_ts:
                continue
            record.last_bar_ts = bar.ts
            is_buy = record.is_buy
            limit = record.limit
            if limit is None:
                price = market_price(bar, is_buy, self._buy_factor, self._sell_factor)
            else:
                crossed = limit_price(bar, is_buy, limit)
                if crossed is None:
                    continue
                price = crossed
            remaining = record.order.quantity - record.filled
            qty = fill_quantity(remaining, bar.volume, self._max_share, record.lot)
            if qty <= 0.0:
                continue
            if touched is not None:
                touched.append(record)
            bounded = record.order.reduce_only or not (is_buy or self._allow_short)
            cap = self._fill_cap(record) if bounded else None
            if cap is not None and qty > cap:
                # Reduce-only or no-short: never fill past the holding; what cannot fill is cancelled.
                if cap > record.dust:
                    self._fill(record, cap, price, ts, sink)
                record.status = OrderStatus.CANCELLED
            else:
                self._fill(record, qty, price, ts, sink)
                if remaining - qty > record.dust:
                    record.status = OrderStatus.PARTIALLY_FILLED
                    continue
                record.filled = record.order.quantity  # drop float noise: done is done
                record.status = OrderStatus.FILLED
            if finished is None:
                finished = []
            finished.append(record)
        if finished is not None:
            for record in finished:
                del self._live[record.order.client_order_id]
        if touched and sink is not None:
            self._persist(touched, sink)

    def _fill_cap(self, record: OrderRecord) -> float | None:
        """The most this order may fill now without breaking reduce-only or ``allow_short = false``."""
        cap: float | None = None
        if record.order.reduce_only:
            position = self._ledger.positions.get(record.order.symbol)
            held = position.quantity if position is not None else 0.0
            cap = abs(held) if held != 0.0 and (held > 0.0) != record.is_buy else 0.0
        if not record.is_buy and not self._allow_short:
            free = max(self._ledger.balances.get(record.base, 0.0), 0.0)
            cap = free if cap is None else min(cap, free)
        return cap

    def _fill(self, record: OrderRecord, qty: float, price: float, ts: int,
              sink: list[tuple[int, Fill]] | None) -> None:
        order = record.order
        fee = price * qty * self._fee_rate
        seq = len(self._fills) + 1
        fill = Fill(f"{self.name}-t{seq}", order.client_order_id, self.name, order.symbol, order.side, qty,
                    price, fee, ts)
        fills = self._fills
        if fills and fills[-1].ts > ts:  # a snapshot older than the last fill: keep fills() sorted
            bisect.insort_right(fills, fill, key=_FILL_TS)
        else:
            fills.append(fill)
        record.filled += qty
        self._ledger.apply_fill(order.symbol, record.base, record.quote, record.is_buy, qty, price, fee,
                                record.dust)
        if sink is not None:
            sink.append((seq, fill))

    def _persist(self, changed: list[OrderRecord], new_fills: list[tuple[int, Fill]]) -> None:
        assert self._store is not None
        balances = self._ledger.balances
        positions = self._ledger.positions
        assets = {a for r in changed for a in (r.base, r.quote)}
        symbols = {r.order.symbol for r in changed}
        self._store.save(
            orders=changed,
            fills=new_fills,
            balances={a: balances[a] for a in assets if a in balances},
            positions={s: positions[s] for s in symbols if s in positions},
        )

    # -- reads -----------------------------------------------------------------------------------

    def open_orders(self) -> Sequence[OpenOrder]:
        with self._lock:
            return [r.to_open_order() for r in self._live.values()]

    def fills(self, since_ms: int) -> Sequence[Fill]:
        """Fills with ``ts >= since_ms``, oldest first."""
        with self._lock:
            start = bisect.bisect_left(self._fills, since_ms, key=_FILL_TS)
            return self._fills[start:]

    def balances(self) -> Mapping[str, float]:
        with self._lock:
            return dict(self._ledger.balances)

    def positions(self) -> Sequence[Position]:
        """One ``Position`` per symbol with a non-zero quantity bought minus sold on it."""
        with self._lock:
            return [
                Position(self.name, symbol, p.quantity, p.avg_price, p.realized_pnl)
                for symbol, p in self._ledger.positions.items()
                if p.quantity != 0.0
            ]

    def market_rules(self, symbol: str) -> MarketRules | None:
        """Venue-wide ``lot_size`` / ``min_notional`` / ``tick_size``, overridden per symbol by ``markets``;
        ``None`` for a symbol that is not ``BASE/QUOTE``."""
        rules = self._rules.get(symbol)
        if rules is None:
            base, slash, quote = symbol.partition("/")
            if not (base and slash and quote) or "/" in quote or any(c.isspace() for c in symbol):
                return None
            cfg = self.config
            override = cfg.markets.get(symbol)
            lot, min_notional, tick = cfg.lot_size, cfg.min_notional, cfg.tick_size
            if override is not None:
                lot = override.lot_size if override.lot_size is not None else lot
                min_notional = override.min_notional if override.min_notional is not None else min_notional
                tick = override.tick_size if override.tick_size is not None else tick
            rules = self._rules[symbol] = MarketRules(symbol, lot, min_notional, tick)
        return rules
