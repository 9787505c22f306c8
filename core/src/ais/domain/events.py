"""Events: what the store records and integrations receive."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True, frozen=True)
class Event:
    """One row of the event store. ``payload`` is JSON-compatible; see docs/reference/events.md."""

    seq: int
    ts: int
    run_id: str
    type: str
    payload: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of an event (``ais events --json``, the API)."""
        return {
            "seq": self.seq,
            "ts": self.ts,
            "run_id": self.run_id,
            "type": self.type,
            "payload": self.payload,
        }
