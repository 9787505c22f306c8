"""The venue's mutable record of one accepted order."""

from __future__ import annotations

from ais.domain.orders import OpenOrder, Order, OrderStatus, OrderType, Side


class OrderRecord:
    """An accepted order and its progress: ``filled`` base units so far, ``status``, and
    ``last_bar_ts``, the open time (ms) of the newest bar already matched against it (a bar is only
    used if it opened after this: no fill from a bar seen when the order was decided, none twice).

    ``symbol``, ``base``, ``quote``, ``is_buy``, ``limit``, ``lot`` and ``dust`` are cached from the
    order and the market rules so the per-bar matching loop reads attributes only.
    """

    __slots__ = (
        "base",
        "dust",
        "filled",
        "is_buy",
        "last_bar_ts",
        "limit",
        "lot",
        "order",
        "quote",
        "seq",
        "status",
        "symbol",
        "venue_order_id",
    )

    def __init__(self, order: Order, seq: int, venue_order_id: str, lot: float, *, filled: float = 0.0,
                 status: OrderStatus = OrderStatus.SUBMITTED, last_bar_ts: int = -1) -> None:
        self.order = order
        self.seq = seq
        self.venue_order_id = venue_order_id
        self.filled = filled
        self.status = status
        self.last_bar_ts = last_bar_ts
        self.symbol = order.symbol
        self.base, _, self.quote = order.symbol.partition("/")
        self.is_buy = order.side is Side.BUY
        self.limit = order.limit_price if order.type is OrderType.LIMIT else None
        self.lot = lot
        # Quantities this close to zero are float noise left by summing lot-sized fills.
        self.dust = lot * 1e-6

    @property
    def remaining(self) -> float:
        return self.order.quantity - self.filled

    def to_open_order(self) -> OpenOrder:
        o = self.order
        return OpenOrder(o.client_order_id, o.symbol, o.side, o.type, o.quantity, self.filled, o.limit_price,
                         self.status)
