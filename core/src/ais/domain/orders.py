"""Orders, their lifecycle, and fills."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

#: ``tuple.__new__``: builds a NamedTuple from a tuple without the class's Python-level ``__new__``
_new_tuple = tuple.__new__


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class OrderStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    SUBMITTED = "submitted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED})


class Order(NamedTuple):
    """A sized order. ``token`` is the risk engine's signature; no token, no submission.

    A NamedTuple, as every type built per order (``Fill``, ``SubmitResult``, ``Signal``,
    ``Position``): immutable, and built in a fifth of a frozen dataclass's time. ``_replace`` makes a
    changed copy."""

    id: str
    client_order_id: str
    venue: str
    symbol: str
    side: Side
    type: OrderType
    quantity: float
    limit_price: float | None
    reduce_only: bool
    strategy: str
    ts: int
    token: str | None = None

    @property
    def signed_quantity(self) -> float:
        return self.quantity if self.side is Side.BUY else -self.quantity

    def with_token(self, token: str) -> Order:
        # one C-level copy rather than ``_replace``: this runs for every approved order
        order: Order = _new_tuple(Order, (*self[:-1], token))
        return order


@dataclass(slots=True, frozen=True)
class MarketRules:
    """A venue's trading rules for one symbol."""

    symbol: str
    lot_size: float = 1e-8
    min_notional: float = 0.0
    tick_size: float = 1e-8


class SubmitResult(NamedTuple):
    """What a venue said to a submission: accepted (with its own order id) or rejected with a reason."""

    client_order_id: str
    accepted: bool
    venue_order_id: str | None = None
    reason: str | None = None


class Fill(NamedTuple):
    """An execution. ``fee`` is in the quote currency; ``trade_id`` is unique per venue."""

    trade_id: str
    client_order_id: str
    venue: str
    symbol: str
    side: Side
    quantity: float
    price: float
    fee: float
    ts: int


@dataclass(slots=True, frozen=True)
class OpenOrder:
    """A venue's view of a live order."""

    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    quantity: float
    filled_quantity: float
    limit_price: float | None
    status: OrderStatus
