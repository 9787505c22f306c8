"""Operator actions on the risk state (``ais kill`` / ``ais rearm`` / the API's /kill and /rearm):
recorded in the store as ``risk.state`` events by ``operator``; a running ``ais run`` picks them up
at its next cycle."""

from __future__ import annotations

import time
from pathlib import Path

from ais.engine.recovery import inspect
from ais.errors import EXIT_FAILURE, AisError, UsageError
from ais.store.events import EventStore


def set_risk_state(store_path: str | Path, state: str, reason: str) -> tuple[str, bool]:
    """Move the store's risk state to ``state`` (``"halted"`` or ``"active"``) for ``reason``.
    Returns (previous state, whether anything changed). Leaving HALTED is the only way to ACTIVE."""
    reason = reason.strip()
    if not reason:
        raise UsageError("a reason is required: say why, it is audited")
    if not Path(store_path).exists():
        # a typo must not create a new store and "halt" nothing
        raise UsageError(f"{store_path}: no event store here (pass --store PATH of the running deployment)")
    store = EventStore(store_path)
    try:
        current = inspect(store).risk_state.value
        if state == "active" and current != "halted":
            raise AisError(f"risk state is {current}, not halted: nothing to re-arm", EXIT_FAILURE)
        if current == state:
            return current, False
        payload = {"state": state, "previous": current, "reason": reason, "by": "operator"}
        store.append("risk.state", payload, int(time.time() * 1000), "operator", durable=True)
        return current, True
    finally:
        store.close()
