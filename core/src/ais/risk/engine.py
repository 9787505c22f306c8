"""The risk engine: runs every guard in ais.toml order, applies the risk state, signs what passes.

States (DESIGN §6): ACTIVE → REDUCING (only exposure-reducing orders pass) → HALTED (nothing passes).
Guards move the state through ``ais_guard_assess`` once per cycle; REDUCING returns to ACTIVE by itself
when no guard asks for it any more; HALTED is left only by an operator's re-arm (``ais rearm``).
Every transition is an event, recorded before it takes effect.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ais.context import GuardContext
from ais.domain.market import MarketSnapshot
from ais.domain.orders import Order
from ais.domain.portfolio import PortfolioSnapshot
from ais.domain.risk import Action, RiskState, Verdict
from ais.plugins.host import PluginHost
from ais.risk.tokens import Keyring, sign

#: Reason codes core itself gives (guards add their own; see docs/reference/reason-codes.md).
RISK_HALTED = "RISK_HALTED"
RISK_REDUCING = "RISK_REDUCING"
GUARD_ERROR = "GUARD_ERROR"

Record = Callable[[str, dict[str, Any]], None]


def reduces_exposure(order: Order, held: float) -> bool:
    """True if the order shrinks |position| without flipping it."""
    if held == 0.0:
        return False
    after = held + order.signed_quantity
    return abs(after) < abs(held) and (after == 0.0 or (after > 0) == (held > 0))


class RiskEngine:
    def __init__(
        self,
        host: PluginHost,
        keyring: Keyring,
        *,
        ttl_s: int,
        timezone: str,
        record: Record,
        state: RiskState = RiskState.ACTIVE,
    ) -> None:
        self._host = host
        self._keyring = keyring
        self._ttl_s = ttl_s
        self._timezone = timezone
        self._record = record
        self.state = state
        self.state_reason = ""
        #: after a quiet assessment: the NAV above which no guard's assessment can change while the
        #: ledger's revision stays the same (``ais_guard_nav_floor``); ``inf``: assess every cycle
        self.quiet_above = math.inf
        self._ctx = GuardContext(MarketSnapshot(ts=0), state, 0, timezone)

    def _context(self, market: MarketSnapshot, now_ms: int) -> GuardContext:
        ctx = self._ctx  # one object, refreshed per call: no allocation on the per-bar path
        ctx.market = market
        ctx.risk_state = self.state
        ctx.now_ms = now_ms
        return ctx

    def evaluate(
        self, order: Order, portfolio: PortfolioSnapshot, market: MarketSnapshot, now_ms: int
    ) -> tuple[Order | None, list[Verdict]]:
        """(the signed order, []) if approved, else (None, every rejecting verdict)."""
        held = portfolio.position(order.symbol)
        reducing = reduces_exposure(order, held)
        if self.state is RiskState.HALTED:
            return None, [
                Verdict("risk", Action.REJECT, RISK_HALTED, f"risk state is halted: {self.state_reason}")
            ]
        if self.state is RiskState.REDUCING and not reducing:
            return None, [
                Verdict("risk", Action.REJECT, RISK_REDUCING, "risk state is reducing: order adds exposure")
            ]
        passed, reduce_only = Action.PASS, Action.REDUCE_ONLY
        rejections: list[Verdict] = []
        # REJECT, HALT, and REDUCE_ONLY unless the order reduces: a PASS is let go first. A loop, not a
        # comprehension: that would be a function and a closure cell per order
        for verdict in self._host.guard_checks(order, portfolio, self._context(market, now_ms)):
            action = verdict.action
            if action is not passed and (action is not reduce_only or not reducing):
                rejections.append(verdict)
        if rejections:
            return None, rejections
        return order.with_token(sign(order, self._keyring, now_ms, self._ttl_s)), []

    def assess(self, portfolio: PortfolioSnapshot, market: MarketSnapshot, now_ms: int) -> bool:
        """Run the portfolio guards; move the state. True if the kill switch tripped just now.

        Sets ``quiet_above``: the guards' NAV floor after a quiet assessment in state ACTIVE, else
        ``inf``."""
        ctx = self._ctx
        ctx.market = market
        ctx.risk_state = self.state
        ctx.now_ms = now_ms
        verdicts = self._host.guard_assessments(portfolio, ctx)
        self.quiet_above = math.inf
        if not verdicts:
            if self.state is RiskState.REDUCING:
                self.transition(RiskState.ACTIVE, "no guard asks to reduce any more", by="guard")
            elif self.state is RiskState.ACTIVE:
                self.quiet_above = self._host.guard_nav_floor(portfolio, ctx)
            return False
        halts = [v for v in verdicts if v.action is Action.HALT]
        if halts:
            if self.state is not RiskState.HALTED:
                self.transition(RiskState.HALTED, _reason(halts), by="guard", verdicts=halts)
                return True
            return False
        reduces = [v for v in verdicts if v.action is Action.REDUCE_ONLY]
        if reduces and self.state is RiskState.ACTIVE:
            self.transition(RiskState.REDUCING, _reason(reduces), by="guard", verdicts=reduces)
        elif not reduces and self.state is RiskState.REDUCING:
            self.transition(RiskState.ACTIVE, "no guard asks to reduce any more", by="guard")
        return False

    def transition(
        self, state: RiskState, reason: str, *, by: str, verdicts: list[Verdict] | None = None
    ) -> None:
        """Record and apply a state change (the record comes first)."""
        payload: dict[str, Any] = {
            "state": state.value,
            "previous": self.state.value,
            "reason": reason,
            "by": by,
        }
        if verdicts:
            payload["codes"] = [v.reason_code for v in verdicts]
        self._record("risk.state", payload)
        self.state = state
        self.state_reason = reason
        self.quiet_above = math.inf


def _reason(verdicts: list[Verdict]) -> str:
    return "; ".join(f"{v.reason_code}: {v.message}" for v in verdicts)
