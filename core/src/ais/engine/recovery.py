"""Recovery after a restart (DESIGN §7): rebuild from the event store, then reconcile with the
venues — orders, then fills, then positions — and submit nothing twice.

The risk state is global to a store (a kill switch survives restarts and new runs); positions,
orders and tokens belong to the run being resumed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ais.domain.codec import from_payload
from ais.domain.events import Event
from ais.domain.orders import Fill, Order, OrderStatus, Side
from ais.domain.risk import RiskState
from ais.engine.coordinator import RunStats
from ais.oms.manager import OrderManager, OrderRecord
from ais.portfolio.ledger import Ledger
from ais.risk.tokens import token_id
from ais.store.events import EventStore

Record = Callable[..., None]


@dataclass
class StoreState:
    risk_state: RiskState = RiskState.ACTIVE
    risk_reason: str = ""
    unfinished_run: str | None = None
    unfinished_config: str | None = None
    used_tokens: set[str] = field(default_factory=set)


def inspect(store: EventStore) -> StoreState:
    """What a start needs to know: the risk state, every token ever used, and the run (if any) that
    was started and never ended."""
    state = StoreState()
    for event in store.events(types=("risk.state", "run.start", "run.end", "order.intent")):
        payload = event.payload
        if event.type == "risk.state":
            state.risk_state = RiskState(payload["state"])
            state.risk_reason = payload.get("reason", "")
        elif event.type == "run.start":
            state.unfinished_run = event.run_id
            state.unfinished_config = payload.get("config_hash")
        elif event.type == "run.end" and event.run_id == state.unfinished_run:
            state.unfinished_run = None
        elif payload.get("token"):
            state.used_tokens.add(token_id(payload["token"]))
    return state


def fill_from_payload(p: dict[str, Any]) -> Fill:
    """The fill an ``order.fill`` event recorded."""
    return Fill(
        p["trade_id"],
        p["client_order_id"],
        p["venue"],
        p["symbol"],
        Side(p["side"]),
        p["quantity"],
        p["price"],
        p["fee"],
        p["fill_ts"],
    )


def inspect_file(path: Path) -> StoreState:
    """``inspect`` without creating the store: a fresh state if there is no file yet."""
    if not path.exists() or path.stat().st_size == 0:
        return StoreState()  # no store yet (an empty file is an empty SQLite database)
    store = EventStore(path, readonly=True)
    try:
        return inspect(store)
    finally:
        store.close()


#: Events recorded inside a cycle, stamped with its (market) time: the last one stored is where a
#: resumed run goes on from (the cycle after it).
_CYCLE_EVENTS = frozenset({"cycle", "decision", "order.intent", "risk.rejected", "agent.error"})

_TERMINAL_EVENTS = {
    "order.rejected": OrderStatus.REJECTED,
    "order.cancelled": OrderStatus.CANCELLED,
    "order.expired": OrderStatus.EXPIRED,
}


def rebuild(events: list[Event], ledger: Ledger, oms: OrderManager, stats: RunStats) -> tuple[int, int]:
    """Replay one run's events into the ledger, the order book and the counters.
    Returns (orders sequence number reached, last cycle ts)."""
    seq = 0
    last_ts = 0
    for event in events:
        p = event.payload
        kind = event.type
        if kind == "order.intent":
            order = from_payload(Order, p)
            oms.records[order.client_order_id] = OrderRecord(order, OrderStatus.APPROVED)
            seq = max(seq, int(order.id.rsplit(":", 1)[-1]))
            stats.orders += 1
        elif kind in ("order.submitted", "order.in_flight", "order.reconciled"):
            rec = oms.records[p["client_order_id"]]
            if rec.status is OrderStatus.APPROVED:
                rec.status = OrderStatus.SUBMITTED
                oms.live[rec.order.client_order_id] = rec
        elif kind == "order.fill":
            rec = oms.records[p["client_order_id"]]
            fill = fill_from_payload(p)
            oms.seen_trades.add((fill.venue, fill.trade_id))
            rec.avg_price = (rec.avg_price * rec.filled + fill.price * fill.quantity) / (
                rec.filled + fill.quantity
            )
            rec.filled += fill.quantity
            rec.status = OrderStatus(p["status"])
            if rec.status.is_terminal:
                oms.live.pop(rec.order.client_order_id, None)
            ledger.apply_fill(fill)
        elif kind in _TERMINAL_EVENTS:
            ended = oms.records.get(p["client_order_id"])
            if ended is not None:
                ended.status = _TERMINAL_EVENTS[kind]
                oms.live.pop(ended.order.client_order_id, None)
        elif kind == "risk.rejected":
            stats.rejections.update(p.get("reasons", []))
            if p.get("id"):
                seq = max(seq, int(p["id"].rsplit(":", 1)[-1]))  # the number was spent
        elif kind == "order.refused":
            oms.refused += 1
        elif kind == "agent.error":
            stats.agent_errors += 1
        elif kind == "portfolio.adopted":
            ledger.adopt(p["cash"], p["positions"])
        elif kind == "decision":
            stats.decisions += 1 if p.get("selected") else 0
            stats.signals += len(p.get("signals", []))
        elif kind == "cycle":
            stats.cycles = p["n"]
            stats.first_ts = stats.first_ts or event.ts
            stats.last_ts = event.ts
        if kind in _CYCLE_EVENTS:
            last_ts = max(last_ts, event.ts)
    return seq, last_ts


def reconcile(oms: OrderManager, ledger: Ledger, record: Record, *, tolerance: float = 1e-9) -> list[str]:
    """Orders, then fills, then positions. Returns the mismatches found (each also an event)."""
    mismatches: list[str] = []
    venues = oms.exchanges
    # 1. Orders: an intent the venue never acknowledged is looked up, never resent.
    known: dict[str, set[str]] = {}
    fills_by_venue: dict[str, list[Fill]] = {}
    for name, venue in venues.items():
        fills_by_venue[name] = list(venue.fills(0))
        known[name] = {o.client_order_id for o in venue.open_orders()} | {
            f.client_order_id for f in fills_by_venue[name]
        }
    for coid, rec in oms.records.items():
        if rec.status is OrderStatus.APPROVED:
            if coid in known.get(rec.order.venue, set()):
                rec.status = OrderStatus.SUBMITTED
                oms.live[coid] = rec
                record("order.reconciled", {"client_order_id": coid, "found": True})
            else:
                rec.status = OrderStatus.EXPIRED
                record(
                    "order.expired",
                    {
                        "client_order_id": coid,
                        "reason": "journaled but unknown to the venue after restart; not resent",
                    },
                )
    # 2. Fills the store missed (the process died between the venue's fill and our record).
    for fills in fills_by_venue.values():
        for fill in fills:
            oms.apply_fill(fill)
    # 3. Positions.
    for name, venue in venues.items():
        theirs = {p.symbol: p.quantity for p in venue.positions()}
        ours = {s: h.quantity for s, h in ledger.holdings.items() if h.venue == name and h.quantity}
        for symbol in sorted(set(theirs) | set(ours)):
            a, b = ours.get(symbol, 0.0), theirs.get(symbol, 0.0)
            if abs(a - b) > tolerance * max(1.0, abs(a), abs(b)):
                line = f"{name} {symbol}: store says {a:g}, venue says {b:g}"
                mismatches.append(line)
                record("reconcile.mismatch", {"venue": name, "symbol": symbol, "ours": a, "theirs": b})
    return mismatches
