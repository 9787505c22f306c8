"""The order manager: the first gate (DESIGN §1) and the journal.

``submit`` refuses any order whose token is missing, tampered, expired, replayed or signed by an
unknown key; journals the intent (durably, outside backtests) *before* the exchange is called; and
treats an exchange timeout as "in flight": the order is left for reconciliation, never resubmitted.
In shadow mode no exchange order-placing hook is ever called: core simulates the fill at the market
price instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ais.domain.orders import Fill, Order, OrderStatus, Side
from ais.oms.status import check
from ais.plugins.host import ExchangeHandle
from ais.risk.tokens import Keyring, TokenError, token_id, verify_token

Record = Callable[..., None]

#: Every client order id AIS sends starts with this (``ais-<run>-<n>``).
CLIENT_ID_PREFIX = "ais-"


@dataclass(slots=True)
class OrderRecord:
    order: Order
    status: OrderStatus
    filled: float = 0.0
    avg_price: float = 0.0
    venue_order_id: str | None = None

    @property
    def remaining(self) -> float:
        return max(self.order.quantity - self.filled, 0.0)


def order_payload(order: Order) -> dict[str, Any]:
    """An order as stored in events: its fields by name (read back with ``codec.from_payload``)."""
    return {
        "id": order.id,
        "client_order_id": order.client_order_id,
        "venue": order.venue,
        "symbol": order.symbol,
        "side": order.side,
        "type": order.type,
        "quantity": order.quantity,
        "limit_price": order.limit_price,
        "reduce_only": order.reduce_only,
        "strategy": order.strategy,
        "ts": order.ts,
        "token": order.token,
    }


@dataclass
class OrderManager:
    keyring: Keyring
    exchanges: dict[str, ExchangeHandle]
    record: Record
    now_ms: Callable[[], int]
    durable_intents: bool = True
    shadow: bool = False
    shadow_price: Callable[[str], float | None] = lambda symbol: None
    records: dict[str, OrderRecord] = field(default_factory=dict)
    used_tokens: set[str] = field(default_factory=set)
    seen_trades: set[tuple[str, str]] = field(default_factory=set)
    live: dict[str, OrderRecord] = field(default_factory=dict)
    on_fill: Callable[[Fill], object] = lambda fill: None
    refused: int = 0
    submitted: int = 0
    shadow_fills: int = 0

    # -- the gate -----------------------------------------------------------------------------

    def submit(self, order: Order) -> OrderRecord | None:
        """Verify, journal, send. Returns the record, or ``None`` if the token was refused."""
        now = self.now_ms()
        try:
            verify_token(order, self.keyring, now)
            if order.token is not None and token_id(order.token) in self.used_tokens:
                raise TokenError("REPLAYED", f"token of order {order.client_order_id} was already used")
        except TokenError as exc:
            self.refused += 1
            self.record(
                "order.refused",
                {"client_order_id": order.client_order_id, "reason": exc.reason, "message": str(exc)},
            )
            return None
        assert order.token is not None
        self.used_tokens.add(token_id(order.token))
        rec = OrderRecord(order, OrderStatus.APPROVED)
        self.records[order.client_order_id] = rec
        # The intent is on disk before any venue hears of the order.
        self.record("order.intent", order_payload(order), durable=self.durable_intents)
        if self.shadow:
            self._shadow_fill(rec, now)
            return rec
        venue = self.exchanges[order.venue]
        try:
            result = venue.submit(order)
        except TimeoutError as exc:
            self._in_flight(rec, f"timeout: {exc}")
            return rec
        except TokenError as exc:
            self._set(rec, OrderStatus.REJECTED)
            self.refused += 1
            self.record(
                "order.rejected",
                {
                    "client_order_id": order.client_order_id,
                    "reason": exc.reason,
                    "message": f"exchange adapter refused the token: {exc}",
                },
            )
            return rec
        except Exception as exc:  # the venue may or may not have it: reconcile, never resend blindly
            self._in_flight(rec, f"{type(exc).__name__}: {exc}")
            return rec
        if result.accepted:
            self._set(rec, OrderStatus.SUBMITTED)
            rec.venue_order_id = result.venue_order_id
            self.live[order.client_order_id] = rec
            self.submitted += 1
            self.record(
                "order.submitted",
                {"client_order_id": order.client_order_id, "venue_order_id": result.venue_order_id},
            )
        else:
            self._set(rec, OrderStatus.REJECTED)
            self.record(
                "order.rejected",
                {
                    "client_order_id": order.client_order_id,
                    "reason": "VENUE_REJECTED",
                    "message": result.reason or "",
                },
            )
        return rec

    def _in_flight(self, rec: OrderRecord, why: str) -> None:
        self._set(rec, OrderStatus.SUBMITTED)
        self.live[rec.order.client_order_id] = rec
        self.record("order.in_flight", {"client_order_id": rec.order.client_order_id, "error": why})

    def _set(self, rec: OrderRecord, status: OrderStatus) -> None:
        rec.status = check(rec.order.client_order_id, rec.status, status)
        if status.is_terminal:
            self.live.pop(rec.order.client_order_id, None)

    def _shadow_fill(self, rec: OrderRecord, now: int) -> None:
        order = rec.order
        self._set(rec, OrderStatus.SUBMITTED)
        self.record(
            "order.submitted",
            {"client_order_id": order.client_order_id, "venue_order_id": None, "shadow": True},
        )
        price = self.shadow_price(order.symbol)
        if price is None:
            self._set(rec, OrderStatus.EXPIRED)
            self.record(
                "order.expired", {"client_order_id": order.client_order_id, "reason": "no price (shadow)"}
            )
            return
        self.shadow_fills += 1
        self.apply_fill(
            Fill(
                f"shadow-{order.client_order_id}",
                order.client_order_id,
                order.venue,
                order.symbol,
                order.side,
                order.quantity,
                price,
                0.0,
                now,
            )
        )

    # -- fills and cancels --------------------------------------------------------------------

    def apply_fill(self, fill: Fill) -> bool:
        """Book a venue fill once (deduped by trade id); False if already seen or not ours."""
        key = (fill.venue, fill.trade_id)
        if key in self.seen_trades:
            return False
        rec = self.records.get(fill.client_order_id)
        if rec is None:
            return False
        self.seen_trades.add(key)
        total = rec.filled + fill.quantity
        rec.avg_price = (rec.avg_price * rec.filled + fill.price * fill.quantity) / total
        rec.filled = total
        if not rec.status.is_terminal:
            done = total >= rec.order.quantity * (1 - 1e-9)
            self._set(rec, OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED)
        # else: a fill that raced a cancel (kill switch) — the money moved, so it is booked; the
        # order keeps its terminal status
        self.record(
            "order.fill",
            {
                "client_order_id": fill.client_order_id,
                "trade_id": fill.trade_id,
                "venue": fill.venue,
                "symbol": fill.symbol,
                "side": fill.side,
                "quantity": fill.quantity,
                "price": fill.price,
                "fee": fill.fee,
                "fill_ts": fill.ts,
                "status": rec.status,
            },
        )
        self.on_fill(fill)
        return True

    def poll_fills(self, since_ms: int) -> int:
        """Ask each venue with live orders for fills; book the new ones."""
        if not self.live:
            return 0
        booked = 0
        venues = {rec.order.venue for rec in self.live.values()}
        for name in venues:
            for fill in self.exchanges[name].fills(since_ms):
                booked += self.apply_fill(fill)
        return booked

    def cancel_all(self, reason: str) -> int:
        """Cancel every live order (kill switch): those AIS tracks and any the venues still report
        open for an order AIS placed. Returns how many were cancelled."""
        cancelled = 0
        for name, venue in self.exchanges.items():
            try:
                for open_order in venue.open_orders():
                    coid = open_order.client_order_id
                    rec = self.records.get(coid)
                    if rec is not None:
                        if rec.order.venue == name and not rec.status.is_terminal:
                            self.live.setdefault(coid, rec)
                    elif coid.startswith(CLIENT_ID_PREFIX) and venue.cancel(coid, open_order.symbol):
                        # left open by an earlier run: ours (by its id), so the kill switch takes it too
                        cancelled += 1
                        self.record(
                            "order.cancelled",
                            {"client_order_id": coid, "reason": reason, "earlier_run": True},
                        )
            except Exception as exc:
                self.record(
                    "order.cancel_failed",
                    {"venue": name, "error": f"open orders: {type(exc).__name__}: {exc}"},
                )
        for coid, rec in list(self.live.items()):
            try:
                ok = self.exchanges[rec.order.venue].cancel(coid, rec.order.symbol)
            except Exception as exc:
                self.record(
                    "order.cancel_failed", {"client_order_id": coid, "error": f"{type(exc).__name__}: {exc}"}
                )
                continue
            if ok:
                self._set(rec, OrderStatus.CANCELLED)
                cancelled += 1
                self.record("order.cancelled", {"client_order_id": coid, "reason": reason})
        return cancelled

    def in_flight(self, symbol: str) -> float:
        """Signed quantity of live orders not yet filled for ``symbol``."""
        total = 0.0
        for rec in self.live.values():
            if rec.order.symbol == symbol:
                total += rec.remaining if rec.order.side is Side.BUY else -rec.remaining
        return total
