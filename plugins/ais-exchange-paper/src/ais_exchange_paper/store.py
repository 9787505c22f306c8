"""Durable venue state in SQLite (config ``state``): orders, fills, balances and positions.

WAL journal with ``synchronous=NORMAL``: a committed transaction survives the process being
killed (``kill -9``); only a power loss may drop the last ones. The venue commits one transaction
per ``place_order``, per ``cancel_order`` and per ``on_market`` that changed anything, so after a
restart the file holds exactly what the venue had accepted and filled. Floats are stored as
SQLite REAL (8-byte IEEE), so they round-trip exactly.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ais.domain.orders import Fill, Order, OrderStatus, OrderType, Side
from ais_exchange_paper.ledger import PositionState
from ais_exchange_paper.records import OrderRecord

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    seq INTEGER PRIMARY KEY,
    client_order_id TEXT NOT NULL UNIQUE,
    venue_order_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    venue TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    type TEXT NOT NULL,
    quantity REAL NOT NULL,
    limit_price REAL,
    reduce_only INTEGER NOT NULL,
    strategy TEXT NOT NULL,
    order_ts INTEGER NOT NULL,
    lot REAL NOT NULL,
    filled REAL NOT NULL,
    status TEXT NOT NULL,
    last_bar_ts INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS fills (
    seq INTEGER PRIMARY KEY,
    trade_id TEXT NOT NULL UNIQUE,
    client_order_id TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    quantity REAL NOT NULL,
    price REAL NOT NULL,
    fee REAL NOT NULL,
    ts INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS balances (asset TEXT PRIMARY KEY, amount REAL NOT NULL);
CREATE TABLE IF NOT EXISTS positions (
    symbol TEXT PRIMARY KEY, quantity REAL NOT NULL, avg_price REAL NOT NULL, realized_pnl REAL NOT NULL
);
"""

_UPSERT_ORDER = """
INSERT INTO orders (seq, client_order_id, venue_order_id, order_id, venue, symbol, side, type, quantity,
                    limit_price, reduce_only, strategy, order_ts, lot, filled, status, last_bar_ts)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(seq) DO UPDATE SET filled = excluded.filled, status = excluded.status,
                               last_bar_ts = excluded.last_bar_ts
"""


class StateError(RuntimeError):
    """The state file cannot be used (unreadable, another venue's, a newer schema)."""


@dataclass(slots=True)
class LoadedState:
    """What a state file holds; ``fresh`` when it was just created (starting balances not yet written)."""

    fresh: bool
    orders: list[OrderRecord]
    fills: list[Fill]
    balances: dict[str, float]
    positions: dict[str, PositionState]


class StateStore:
    """One venue's SQLite file. Not thread-safe on its own: the venue serialises calls with its lock."""

    def __init__(self, path: str | Path, venue: str) -> None:
        self.path = Path(path)
        self.venue = venue
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per venue call.
            # check_same_thread=False: the venue's lock serialises access from the API and the cycle.
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"paper venue {venue!r}: cannot open state file {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    # -- reading ---------------------------------------------------------------------------------

    def load(self) -> LoadedState:
        """Everything in the file: orders in the order the venue accepted them, fills by time."""
        db = self._db
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("schema", SCHEMA_VERSION) != SCHEMA_VERSION:
            raise StateError(f"{self.path}: state schema {meta['schema']} is not {SCHEMA_VERSION}; "
                             "use a new `state` file")
        owner = meta.get("venue")
        if owner is not None and owner != self.venue:
            raise StateError(f"{self.path} holds the state of venue {owner!r}, not {self.venue!r}; "
                             "point `state` at this venue's own file")
        orders = [_record(row) for row in db.execute("SELECT * FROM orders ORDER BY seq")]
        fills = [
            Fill(trade_id, coid, self.venue, symbol, Side(side), quantity, price, fee, ts)
            for trade_id, coid, symbol, side, quantity, price, fee, ts in db.execute(
                "SELECT trade_id, client_order_id, symbol, side, quantity, price, fee, ts "
                "FROM fills ORDER BY ts, seq"  # the order fills() reads them in
            )
        ]
        balances = dict(db.execute("SELECT asset, amount FROM balances").fetchall())
        positions = {
            symbol: PositionState(quantity, avg, realized)
            for symbol, quantity, avg, realized in db.execute(
                "SELECT symbol, quantity, avg_price, realized_pnl FROM positions"
            )
        }
        return LoadedState("venue" not in meta, orders, fills, balances, positions)

    # -- writing (each call is one transaction) ------------------------------------------------------

    def initialise(self, balances: Mapping[str, float]) -> None:
        """Claim a fresh file for this venue and write the starting balances."""
        with self._transaction() as db:
            db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                           [("schema", SCHEMA_VERSION), ("venue", self.venue)])
            db.executemany("INSERT OR REPLACE INTO balances (asset, amount) VALUES (?, ?)", balances.items())

    def save(
        self,
        orders: Iterable[OrderRecord] = (),
        fills: Iterable[tuple[int, Fill]] = (),
        balances: Mapping[str, float] | None = None,
        positions: Mapping[str, PositionState] | None = None,
    ) -> None:
        """Write changed orders, new fills (with their sequence numbers), balances and positions."""
        with self._transaction() as db:
            db.executemany(_UPSERT_ORDER, [_order_row(r) for r in orders])
            db.executemany(
                "INSERT INTO fills (seq, trade_id, client_order_id, symbol, side, quantity, price, fee, ts) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (seq, f.trade_id, f.client_order_id, f.symbol, f.side.value, f.quantity, f.price, f.fee,
                     f.ts)
                    for seq, f in fills
                ],
            )
            if balances:
                db.executemany(
                    "INSERT OR REPLACE INTO balances (asset, amount) VALUES (?, ?)", balances.items()
                )
            if positions:
                db.executemany(
                    "INSERT OR REPLACE INTO positions (symbol, quantity, avg_price, realized_pnl) "
                    "VALUES (?, ?, ?, ?)",
                    [(s, p.quantity, p.avg_price, p.realized_pnl) for s, p in positions.items()],
                )

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; rolled back on any error. SQLite errors become ``StateError``."""
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StateError(f"cannot write paper venue state to {self.path}: {exc}") from exc


def _order_row(r: OrderRecord) -> tuple[object, ...]:
    o = r.order
    return (r.seq, o.client_order_id, r.venue_order_id, o.id, o.venue, o.symbol, o.side.value, o.type.value,
            o.quantity, o.limit_price, int(o.reduce_only), o.strategy, o.ts, r.lot, r.filled, r.status.value,
            r.last_bar_ts)


def _record(row: tuple[Any, ...]) -> OrderRecord:
    (seq, coid, venue_order_id, order_id, venue, symbol, side, type_, quantity, limit_price, reduce_only,
     strategy, order_ts, lot, filled, status, last_bar_ts) = row
    order = Order(order_id, coid, venue, symbol, Side(side), OrderType(type_), quantity, limit_price,
                  bool(reduce_only), strategy, order_ts)
    return OrderRecord(order, seq, venue_order_id, lot, filled=filled, status=OrderStatus(status),
                       last_bar_ts=last_bar_ts)
