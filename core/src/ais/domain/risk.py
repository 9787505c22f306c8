"""Risk verdicts and states."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RiskState(StrEnum):
    """ACTIVE → REDUCING (only exposure-reducing orders pass) → HALTED (nothing passes)."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


class Action(StrEnum):
    """What a guard says.

    On an order: ``PASS``, ``REJECT`` or ``REDUCE_ONLY`` (pass only if the order reduces exposure).
    On the portfolio: ``REDUCE_ONLY`` moves the risk state to REDUCING, ``HALT`` trips the kill switch.
    """

    PASS = "pass"
    REJECT = "reject"
    REDUCE_ONLY = "reduce_only"
    HALT = "halt"


@dataclass(slots=True, frozen=True)
class Verdict:
    """A guard's answer. ``reason_code`` is a stable UPPER_SNAKE code (documented); ``message`` says why."""

    guard: str
    action: Action
    reason_code: str | None = None
    message: str = ""

    @classmethod
    def ok(cls, guard: str) -> Verdict:
        return cls(guard, Action.PASS)

    @classmethod
    def reject(cls, guard: str, reason_code: str, message: str) -> Verdict:
        return cls(guard, Action.REJECT, reason_code, message)
