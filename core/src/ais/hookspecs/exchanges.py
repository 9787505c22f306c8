"""Exchanges (entry-point group ``ais.exchanges``): one plugin instance per venue.

Exchange hooks are *routed*: core calls them on the one exchange instance that ``[routing]`` in
ais.toml names for the symbol (or on each instance, for account-wide calls such as balances).
Adapters should subclass ``ais.exchange.ExchangeAdapter``, whose ``ais_exchange_submit`` verifies
the risk token again before it calls the adapter's ``place_order``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ais.domain.market import MarketSnapshot
from ais.domain.orders import Fill, MarketRules, OpenOrder, Order, SubmitResult
from ais.domain.portfolio import Position
from ais.markers import hookspec


@hookspec
def ais_exchange_submit(order: Order) -> SubmitResult:
    """Send ``order`` (which carries a risk token) to the venue and return the venue's answer.

    Semantics: routed to one instance. Core's OMS has verified the token and journaled the intent
    before this call; the adapter verifies it again (``ExchangeAdapter`` does) and must refuse an
    order whose token is missing or invalid. Use ``order.client_order_id`` as the venue's client id
    so that a retry after a crash is recognised, never duplicated. A timeout should raise
    ``TimeoutError``: the OMS leaves the order in flight for reconciliation and never resubmits blindly.
    May not: alter the order, split it, or send anything without a valid token. Never called in shadow.

    Example::

        class MyVenue(ExchangeAdapter):
            def place_order(self, order):
                reply = self.http.post("/order", json={"clientOrderId": order.client_order_id, ...})
                return SubmitResult(order.client_order_id, True, reply["orderId"])

    .. versionadded:: 1.0
    """


@hookspec
def ais_exchange_cancel(client_order_id: str, symbol: str) -> bool:
    """Cancel a live order; return ``True`` if it was cancelled (or was already gone).

    Semantics: routed to one instance. Used by the kill switch (HALTED cancels every order AIS has
    open, including those the venue still reports from an earlier run); should be idempotent.
    May not: cancel orders AIS did not place.

    Example::

        @hookimpl
        def ais_exchange_cancel(self, client_order_id, symbol):
            return self.http.delete("/order", params={"origClientOrderId": client_order_id}).ok

    .. versionadded:: 1.0
    """


@hookspec
def ais_exchange_open_orders() -> Sequence[OpenOrder]:
    """Return the venue's live orders placed by AIS.

    Semantics: called on each exchange instance (reconciliation, kill switch). Read-only.

    Example::

        @hookimpl
        def ais_exchange_open_orders(self):
            return [self.to_open_order(o) for o in self.http.get("/openOrders").json()]

    .. versionadded:: 1.0
    """


@hookspec
def ais_exchange_balances() -> Mapping[str, float]:
    """Return free balances per asset, e.g. ``{"BTC": 1.5, "ETH": 0.0}``.

    Semantics: called on each exchange instance when a paper or live run starts: the balance of the
    quote currency becomes the run's cash (the venue's book is the account). Read-only.

    Example::

        @hookimpl
        def ais_exchange_balances(self):
            return {b["asset"]: float(b["free"]) for b in self.http.get("/account").json()["balances"]}

    .. versionadded:: 1.0
    """


@hookspec
def ais_exchange_positions() -> Sequence[Position]:
    """Return the venue's positions (signed quantities) for reconciliation.

    Semantics: called on each exchange instance when a paper or live run starts (they become the
    run's positions) and when a resumed run is reconciled (a mismatch is an event; in live mode it
    halts trading). Read-only. A spot venue reports holdings of base assets as positions.

    Example::

        @hookimpl
        def ais_exchange_positions(self):
            return [Position(self.name, s, q, p) for s, (q, p) in self.book.items()]

    .. versionadded:: 1.0
    """


@hookspec
def ais_exchange_fills(since_ms: int) -> Sequence[Fill]:
    """Return fills at or after ``since_ms`` (ms), oldest first; ``trade_id`` unique per venue.

    Semantics: called on each exchange instance after submissions and every cycle; core dedupes by
    ``trade_id``, so returning a fill twice is harmless. Read-only.

    Example::

        @hookimpl
        def ais_exchange_fills(self, since_ms):
            return [f for f in self.fills if f.ts >= since_ms]

    .. versionadded:: 1.0
    """


@hookspec
def ais_exchange_market_rules(symbol: str) -> MarketRules | None:
    """Return lot size, minimum notional and tick size for ``symbol``, or ``None`` if not traded here.

    Semantics: routed to one instance; the allocator rounds quantities with it. Results may be cached.

    Example::

        @hookimpl
        def ais_exchange_market_rules(self, symbol):
            return MarketRules(symbol, lot_size=0.001, min_notional=0.0001)

    .. versionadded:: 1.0
    """


@hookspec
def ais_exchange_on_market(snapshot: MarketSnapshot) -> None:
    """Receive each cycle's market snapshot before new orders are submitted.

    Semantics: called on each exchange instance. Simulated venues (paper) match resting and pending
    orders against the new bar here; a real venue ignores it (the base class does nothing).

    Example::

        @hookimpl
        def ais_exchange_on_market(self, snapshot):
            self.matcher.on_bar(snapshot)

    .. versionadded:: 1.0
    """
