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
