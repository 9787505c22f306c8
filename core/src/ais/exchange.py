"""The base class of exchange adapters: it re-verifies every risk token before an order leaves.

Subclass ``ExchangeAdapter``, implement ``place_order`` and whichever read methods the venue offers;
the ``ais_exchange_*`` hook implementations here delegate to them. The token check in
``ais_exchange_submit`` is the second gate of DESIGN §1 (the OMS is the first); there is no way to
turn it off.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from ais.context import RunContext
from ais.domain.market import MarketSnapshot
from ais.domain.orders import Fill, MarketRules, OpenOrder, Order, SubmitResult
from ais.domain.portfolio import Position
from ais.markers import hookimpl
from ais.plugins.base import Plugin, PluginConfig
from ais.risk.tokens import TokenError

C = TypeVar("C", bound=PluginConfig)


class ExchangeAdapter(Plugin[C]):
    """One venue. Core sets the token verifier at start-up; until then every submission is refused."""

    def __init__(self, name: str, config: C) -> None:
        super().__init__(name, config)
        self._verify: Callable[[Order], None] | None = None

    # -- hooks (final: override the plain methods below instead) -------------------------------

    @hookimpl
    def ais_startup(self, context: RunContext) -> None:
        self._verify = context.verify_token
        self.start(context)

    @hookimpl
    def ais_exchange_submit(self, order: Order) -> SubmitResult:
        if self._verify is None:
            raise TokenError("MISSING", f"{self.name}: no token verifier configured; refusing to send")
        self._verify(order)  # raises TokenError: the order never reaches place_order
        return self.place_order(order)

    @hookimpl
    def ais_exchange_cancel(self, client_order_id: str, symbol: str) -> bool:
        return self.cancel_order(client_order_id, symbol)

    @hookimpl
    def ais_exchange_open_orders(self) -> Sequence[OpenOrder]:
        return self.open_orders()

    @hookimpl
    def ais_exchange_balances(self) -> Mapping[str, float]:
        return self.balances()

    @hookimpl
    def ais_exchange_positions(self) -> Sequence[Position]:
        return self.positions()

    @hookimpl
    def ais_exchange_fills(self, since_ms: int) -> Sequence[Fill]:
        return self.fills(since_ms)

    @hookimpl
    def ais_exchange_market_rules(self, symbol: str) -> MarketRules | None:
        return self.market_rules(symbol)

    @hookimpl
    def ais_exchange_on_market(self, snapshot: MarketSnapshot) -> None:
        self.on_market(snapshot)

    # -- what an adapter implements ------------------------------------------------------------

    def start(self, context: RunContext) -> None:
        """Connect, load markets. Default: nothing."""

    def place_order(self, order: Order) -> SubmitResult:
        """Send a verified order to the venue."""
        raise NotImplementedError

    def cancel_order(self, client_order_id: str, symbol: str) -> bool:
        raise NotImplementedError

    def open_orders(self) -> Sequence[OpenOrder]:
        return ()

    def balances(self) -> Mapping[str, float]:
        return {}

    def positions(self) -> Sequence[Position]:
        return ()

    def fills(self, since_ms: int) -> Sequence[Fill]:
        return ()

    def market_rules(self, symbol: str) -> MarketRules | None:
        return MarketRules(symbol)

    def on_market(self, snapshot: MarketSnapshot) -> None:
        """Simulated venues match orders against the new bar here. Default: nothing."""


__all__ = ["ExchangeAdapter", "TokenError"]
