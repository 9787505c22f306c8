"""Domain types that cross plugin boundaries.

Hot-path types are frozen slotted dataclasses and NamedTuples (cheap to build per bar); pydantic
validates them where they enter or leave the process (store, API, config): see ``ais.domain.codec``.
"""

from ais.domain.events import Event
from ais.domain.market import NO_DATA, BookLevel, Candle, FundingRate, MarketSnapshot, OrderBook, Ticker
from ais.domain.orders import (
    Fill,
    MarketRules,
    OpenOrder,
    Order,
    OrderStatus,
    OrderType,
    Side,
    SubmitResult,
)
from ais.domain.portfolio import PortfolioSnapshot, Position
from ais.domain.risk import Action, RiskState, Verdict
from ais.domain.signals import Direction, Signal

__all__ = [
    "NO_DATA",
    "Action",
    "BookLevel",
    "Candle",
    "Direction",
    "Event",
    "Fill",
    "FundingRate",
    "MarketRules",
    "MarketSnapshot",
    "OpenOrder",
    "Order",
    "OrderBook",
    "OrderStatus",
    "OrderType",
    "PortfolioSnapshot",
    "Position",
    "RiskState",
    "Side",
    "Signal",
    "SubmitResult",
    "Ticker",
    "Verdict",
]
