"""Sizing and the risk state machine."""

from __future__ import annotations

from typing import Any

import pytest

from ais import Plugin, PluginConfig, hookimpl
from ais.domain import Action, Direction, MarketRules, MarketSnapshot, RiskState, Side, Signal, Verdict
from ais.portfolio.allocator import Allocator
from ais.risk.engine import RiskEngine, reduces_exposure
from ais.risk.tokens import Keyring, verify_token
from ais.testing.conformance import empty_portfolio, sample_order
from ais.testing.fakes import host_with


def signal(direction: Direction, confidence: float = 1.0) -> Signal:
    return Signal("ETH/BTC", direction, confidence, 0.01, 3600, 1.0, "test", 0, "agent")


def size(
    direction: Direction, held: float, *, confidence: float = 1.0, rules: MarketRules | None = None
) -> Any:
    return Allocator(target_weight=0.2, max_weight=0.15).size(
        signal(direction, confidence),
        nav=1000.0,
        price=10.0,
        held=held,
        rules=rules or MarketRules("ETH/BTC", lot_size=0.01, min_notional=1.0),
        order_id="r:1",
        client_order_id="ais-r-1",
        venue="paper",
        ts=0,
    )


def test_target_is_weight_times_confidence_capped() -> None:
    order = size(Direction.LONG, 0.0, confidence=0.5)  # 0.2 × 0.5 × 1000 / 10 = 10
    assert (order.side, order.quantity, order.reduce_only) == (Side.BUY, 10.0, False)
    capped = size(Direction.LONG, 0.0)  # 0.2 × 1000 capped at 0.15 × 1000 → 15
    assert capped.quantity == 15.0


def test_order_is_the_difference_to_the_position() -> None:
    order = size(Direction.SHORT, 5.0)  # target -15, held +5 → sell 20 (not reduce-only: it flips)
    assert (order.side, order.quantity, order.reduce_only) == (Side.SELL, 20.0, False)
    assert size(Direction.LONG, 15.0) is None  # already there


def test_flat_closes_or_holds_never_opens() -> None:
    close = size(Direction.FLAT, -7.5)
    assert (close.side, close.quantity, close.reduce_only) == (Side.BUY, 7.5, True)
    assert size(Direction.FLAT, 0.0) is None


def test_lot_rounding_toward_zero_and_min_notional() -> None:
    rules = MarketRules("ETH/BTC", lot_size=0.3, min_notional=1.0)
    assert size(Direction.LONG, 0.0, confidence=0.5, rules=rules).quantity == pytest.approx(9.9)
    tiny = MarketRules("ETH/BTC", lot_size=0.01, min_notional=200.0)  # 15 × 10 = 150 < 200
    assert size(Direction.LONG, 0.0, rules=tiny) is None


def test_reduces_exposure() -> None:
    sell = sample_order(quantity=1.0, side=Side.SELL)
    assert reduces_exposure(sell, 2.0) and reduces_exposure(sell, 1.0)
    assert not reduces_exposure(sell, 0.5)  # flips to short
    assert not reduces_exposure(sell, 0.0) and not reduces_exposure(sell, -1.0)


class Drawdown(Plugin[PluginConfig]):
    """Asks to reduce while ``self.breached``; passes every order."""

    breached = False

    @hookimpl
    def ais_guard_check(self, order: Any, portfolio: Any, context: Any) -> Verdict:
        return Verdict.ok(self.name)

    @hookimpl
    def ais_guard_assess(self, portfolio: Any, context: Any) -> Verdict | None:
        return Verdict(self.name, Action.REDUCE_ONLY, "TEST_DD", "too deep") if self.breached else None


def test_reducing_state_passes_only_reducing_orders_and_recovers() -> None:
    guard = Drawdown("dd", PluginConfig())
    events: list[tuple[str, dict[str, Any]]] = []
    keyring = Keyring.ephemeral()
    risk = RiskEngine(
        host_with(("guards", guard)),
        keyring,
        ttl_s=300,
        timezone="UTC",
        record=lambda kind, payload: events.append((kind, payload)),
    )
    market = MarketSnapshot(ts=1000)
    long_book = empty_portfolio()._replace(positions=(), nav=1000.0)
    from ais.domain import Position

    holding = long_book._replace(positions=(Position("test", "ETH/BTC", 2.0, 0.1),))
    guard.breached = True
    assert not risk.assess(holding, market, 1000)
    assert risk.state is RiskState.REDUCING
    adding, rejections = risk.evaluate(sample_order(quantity=1.0, side=Side.BUY), holding, market, 1000)
    assert adding is None and rejections[0].reason_code == "RISK_REDUCING"
    reducing, _ = risk.evaluate(sample_order(quantity=1.0, side=Side.SELL), holding, market, 1000)
    assert reducing is not None
    verify_token(reducing, keyring, 1000)
    guard.breached = False
    risk.assess(holding, market, 2000)
    assert risk.state is RiskState.ACTIVE
    assert [(k, p["state"]) for k, p in events] == [("risk.state", "reducing"), ("risk.state", "active")]
