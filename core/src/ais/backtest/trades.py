"""Round-trip trades rebuilt from the event store: what a run actually did, not what it meant to do.

A trade on a symbol opens when its position leaves zero and closes when it returns to zero; a fill
that flips the position closes the trade and opens the next one with the remainder (as most
backtesters count it). Each trade belongs to the agent (``strategy``) of the order that opened it.
Fees are shared by quantity between the trades a fill belongs to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from ais.domain.events import Event

_EPSILON = 1e-12
#: trades in order of entry time, then symbol
_BY_ENTRY = attrgetter("entry_ts", "symbol")


@dataclass(slots=True)
class Trade:
    """One round trip. ``direction`` is +1 (long) or −1 (short); prices are quantity-weighted means of
    the fills; ``pnl`` is in the quote currency after fees; ``open`` trades are marked at the last
    close of the run (their ``exit_*`` fields say where)."""

    symbol: str
    agent: str
    direction: int
    quantity: float
    entry_ts: int
    entry_price: float
    exit_ts: int
    exit_price: float
    pnl: float
    fees: float
    open: bool = False

    @property
    def return_pct(self) -> float:
        """P&L over the notional at entry (a fraction)."""
        notional = self.quantity * self.entry_price
        return self.pnl / notional if notional else 0.0

    def as_row(self) -> dict[str, object]:
        return {
            "symbol": self.symbol,
            "agent": self.agent,
            "side": "long" if self.direction > 0 else "short",
            "quantity": self.quantity,
            "entry_ts": self.entry_ts,
            "entry_price": self.entry_price,
            "exit_ts": self.exit_ts,
            "exit_price": self.exit_price,
            "pnl": self.pnl,
            "return": self.return_pct,
            "fees": self.fees,
            "open": self.open,
        }


class _Building:
    """The trade being built on one symbol."""

    __slots__ = (
        "agent",
        "direction",
        "entry_cost",
        "entry_qty",
        "entry_ts",
        "exit_qty",
        "exit_ts",
        "exit_value",
        "fees",
        "position",
    )

    def __init__(self, agent: str, direction: int, ts: int) -> None:
        self.agent = agent
        self.direction = direction
        self.entry_ts = ts
        self.entry_qty = 0.0
        self.entry_cost = 0.0
        self.exit_qty = 0.0
        self.exit_value = 0.0
        self.exit_ts = ts
        self.fees = 0.0
        self.position = 0.0

    def trade(self, symbol: str, exit_price: float | None = None, exit_ts: int | None = None) -> Trade:
        entry = self.entry_cost / self.entry_qty
        still_open = exit_price is not None
        if still_open:
            # mark what is left at the given price, as if closed there
            rest = abs(self.position)
            value = self.exit_value + rest * exit_price  # type: ignore[operator]
            qty = self.exit_qty + rest
        else:
            value, qty = self.exit_value, self.exit_qty
        exit_avg = value / qty if qty else entry
        gross = self.direction * (exit_avg - entry) * self.entry_qty
        return Trade(
            symbol=symbol,
            agent=self.agent,
            direction=self.direction,
            quantity=self.entry_qty,
            entry_ts=self.entry_ts,
            entry_price=entry,
            exit_ts=exit_ts if exit_ts is not None else self.exit_ts,
            exit_price=exit_avg,
            pnl=gross - self.fees,
            fees=self.fees,
            open=still_open,
        )


class TradeBook:
    """Round trips built as the events are recorded: ``record(type, ts, payload)`` for each event of a
    run, in order (``Run.on_record``), then ``trades()``. The same result as reading the run's events
    back from the store (``trades_from_events``), without decoding them again."""

    __slots__ = ("_agent_of", "_building", "_done")

    def __init__(self) -> None:
        self._agent_of: dict[str, str] = {}
        self._building: dict[str, _Building] = {}
        self._done: list[Trade] = []

    def record(self, type_: str, ts: int, payload: dict[str, Any]) -> None:
        if type_ == "order.fill":
            self._fill(ts, payload)
        elif type_ == "order.intent":
            self._agent_of[payload["client_order_id"]] = payload.get("strategy") or "?"

    def _fill(self, event_ts: int, payload: dict[str, Any]) -> None:
        building = self._building
        symbol = payload["symbol"]
        quantity = float(payload["quantity"])
        price = float(payload["price"])
        fee = float(payload["fee"])
        ts = int(payload.get("fill_ts") or event_ts)
        signed = quantity if payload["side"] == "buy" else -quantity
        agent = self._agent_of.get(payload["client_order_id"], "?")
        current = building.get(symbol)
        while quantity > _EPSILON:
            if current is None:
                current = building[symbol] = _Building(agent, 1 if signed > 0 else -1, ts)
            if (signed > 0) == (current.direction > 0):
                # opening or adding
                current.entry_qty += quantity
                current.entry_cost += quantity * price
                current.position += signed
                current.fees += fee
                break
            closing = min(quantity, abs(current.position))
            share = closing / quantity
            current.exit_qty += closing
            current.exit_value += closing * price
            current.exit_ts = ts
            current.fees += fee * share
            current.position += closing if signed > 0 else -closing
            fee -= fee * share
            quantity -= closing
            signed = quantity if signed > 0 else -quantity
            if abs(current.position) <= _EPSILON * max(1.0, current.entry_qty):
                self._done.append(current.trade(symbol))
                del building[symbol]
                current = None

    def trades(self, last_prices: dict[str, tuple[int, float]] | None = None) -> list[Trade]:
        """Every round trip so far, by entry time. ``last_prices`` (symbol -> (ts, close)) marks the
        trades still open; without it they are left out."""
        done = list(self._done)
        if last_prices:
            for symbol, current in self._building.items():
                if symbol in last_prices:
                    ts, close = last_prices[symbol]
                    done.append(current.trade(symbol, close, ts))
        done.sort(key=_BY_ENTRY)
        return done


def trades_from_events(
    events: Iterable[Event], last_prices: dict[str, tuple[int, float]] | None = None
) -> list[Trade]:
    """Round trips from stored ``order.intent`` (which agent) and ``order.fill`` events, in store
    order. ``last_prices`` (symbol -> (ts, close)) marks trades still open at the end; without it
    they are left out."""
    book = TradeBook()
    for event in events:
        book.record(event.type, event.ts, event.payload)
    return book.trades(last_prices)
