"""What every standard guard shares: a PASS verdict built once, and the rejection helpers."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from ais import Plugin, PluginConfig
from ais.domain import Action, Order, Verdict
from ais_guards_standard.reasons import NO_MARKET_DATA

C = TypeVar("C", bound=PluginConfig)


class Guard(Plugin[C]):
    """Base of the standard guards. Subclasses copy their config into plain attributes in
    ``__init__`` so the per-order path never touches pydantic."""

    #: The reason codes this guard can return (documented, stable).
    reason_codes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str, config: C) -> None:
        super().__init__(name, config)
        # Verdicts are frozen: one PASS object serves every call (no allocation on the common path).
        self._ok = Verdict.ok(name)

    def _reject(self, reason_code: str, message: str) -> Verdict:
        return Verdict(self.name, Action.REJECT, reason_code, message)

    def _no_market_data(self, order: Order) -> Verdict:
        return Verdict(
            self.name, Action.REJECT, NO_MARKET_DATA,
            f"no usable price for {order.symbol}: cannot judge the order, rejecting (fail closed)",
        )


def describe(order: Order) -> str:
    """``buy 0.1 ETH/BTC``: how messages name an order."""
    return f"{order.side.value} {order.quantity:g} {order.symbol}"
