"""The append-only, hash-chained event store (SQLite)."""

from ais.store.events import ChainBreak, EventStore

__all__ = ["ChainBreak", "EventStore"]
