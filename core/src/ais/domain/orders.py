"""Orders, their lifecycle, and fills."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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


@dataclass(slots=True, frozen=True)
class Order:
    """A sized order. ``token`` is the risk engine's signature; no token, no submission."""

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
        # spelled out rather than dataclasses.replace: this runs for every approved order
        return Order(
            self.id,
            self.client_order_id,
            self.venue,
            self.symbol,
            self.side,
            self.type,
            self.quantity,
            self.limit_price,
            self.reduce_only,
            self.strategy,
            self.ts,
            token,
        )


@dataclass(slots=True, frozen=True)
class MarketRules:
    """A venue's trading rules for one symbol."""

    symbol: str
    lot_size: float = 1e-8
    min_notional: float = 0.0
    tick_size: float = 1e-8


@dataclass(slots=True, frozen=True)
class SubmitResult:
    """What a venue said to a submission: accepted (with its own order id) or rejected with a reason."""

    client_order_id: str
    accepted: bool
    venue_order_id: str | None = None
    reason: str | None = None


@dataclass(slots=True, frozen=True)
class Fill:
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
