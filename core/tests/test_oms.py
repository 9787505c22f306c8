"""The order manager: the first gate, the status machine, fills, cancels."""

from __future__ import annotations

from typing import Any

import pytest

from ais.domain import Fill, OrderStatus, Side
from ais.oms.manager import OrderManager
from ais.oms.status import IllegalTransition, check
from ais.plugins.host import PluginHost
from ais.risk.tokens import Keyring, sign
from ais.testing.conformance import sample_order
from ais.testing.fakes import FakeExchange, loaded

NOW = 1_515_542_400_000


def manager(
    venue: FakeExchange | None = None,
) -> tuple[OrderManager, list[tuple[str, dict[str, Any]]], Keyring]:
    venue = venue or FakeExchange("test")
    host = PluginHost([loaded(venue, "exchanges", "test")])
    keyring = Keyring.ephemeral()
    venue._verify = lambda order: None  # the adapter's own check is tested in the exchange contract
    events: list[tuple[str, dict[str, Any]]] = []
    oms = OrderManager(
        keyring=keyring,
        exchanges={"test": host.exchange("test")},
        record=lambda kind, payload, **kw: events.append((kind, payload)),
        now_ms=lambda: NOW,
    )
    return oms, events, keyring


def signed(keyring: Keyring, n: int = 1, **changes: Any) -> Any:
    order = sample_order(n=n)._replace(**changes)
    return order.with_token(sign(order, keyring, NOW, 300))


def test_submit_journals_intent_before_the_venue_and_tracks_it() -> None:
    venue = FakeExchange("test")
    seen_at_submit: list[int] = []
    oms, events, keyring = manager(venue)
    original = venue.place_order
    venue.place_order = lambda order: (seen_at_submit.append(len(events)), original(order))[1]  # type: ignore[method-assign]
    rec = oms.submit(signed(keyring))
    assert rec is not None and rec.status is OrderStatus.SUBMITTED
    assert events[0][0] == "order.intent" and seen_at_submit == [1]
    assert [kind for kind, _ in events] == ["order.intent", "order.submitted"]


def test_replay_refused() -> None:
    oms, events, keyring = manager()
    order = signed(keyring)
    assert oms.submit(order) is not None
    assert oms.submit(order) is None
    assert events[-1][0] == "order.refused" and events[-1][1]["reason"] == "REPLAYED"


def test_tampered_expired_unknown_key_refused() -> None:
    oms, events, keyring = manager()
    assert oms.submit(signed(keyring, 1)._replace(quantity=99.0)) is None
    other = Keyring.ephemeral()
    order = sample_order(n=2)
    assert oms.submit(order.with_token(sign(order, other, NOW, 300))) is None
    order3 = sample_order(n=3)
    assert oms.submit(order3.with_token(sign(order3, keyring, NOW - 301_000, 300))) is None
    assert oms.submit(sample_order(n=4)) is None
    assert [p["reason"] for k, p in events if k == "order.refused"] == [
        "BAD_SIGNATURE",
        "UNKNOWN_KEY",
        "EXPIRED",
        "MISSING",
    ]
    assert oms.refused == 4


def test_timeout_leaves_the_order_in_flight_never_resubmitted() -> None:
    venue = FakeExchange("test")
    calls = []

    def slow(order: Any) -> Any:
        calls.append(order.client_order_id)
        raise TimeoutError("venue did not answer")

    venue.place_order = slow  # type: ignore[method-assign]
    oms, events, keyring = manager(venue)
    rec = oms.submit(signed(keyring))
    assert rec is not None and rec.status is OrderStatus.SUBMITTED
    assert events[-1][0] == "order.in_flight"
    assert calls == ["ais-test-1"]
    assert oms.live  # waiting for reconciliation


def test_fills_move_the_status_and_are_deduplicated() -> None:
    oms, _events, keyring = manager()
    order = signed(keyring, quantity=1.0)
    oms.submit(order)
    part = Fill("t1", order.client_order_id, "test", order.symbol, Side.BUY, 0.4, 0.1, 0.0, NOW)
    assert oms.apply_fill(part) and oms.records[order.client_order_id].status is OrderStatus.PARTIALLY_FILLED
    assert not oms.apply_fill(part)
    rest = part._replace(trade_id="t2", quantity=0.6)
    assert oms.apply_fill(rest) and oms.records[order.client_order_id].status is OrderStatus.FILLED
    assert not oms.live


def test_a_fill_racing_a_cancel_is_booked_and_status_kept() -> None:
    oms, _events, keyring = manager()
    order = signed(keyring, quantity=1.0)
    oms.submit(order)
    assert oms.cancel_all("kill switch") == 1
    booked: list[Fill] = []
    oms.on_fill = booked.append
    late = Fill("t9", order.client_order_id, "test", order.symbol, Side.BUY, 0.5, 0.1, 0.0, NOW)
    assert oms.apply_fill(late)
    assert booked == [late]
    assert oms.records[order.client_order_id].status is OrderStatus.CANCELLED


def test_status_machine() -> None:
    assert check("x", OrderStatus.PENDING, OrderStatus.APPROVED) is OrderStatus.APPROVED
    with pytest.raises(IllegalTransition, match="filled -> submitted"):
        check("x", OrderStatus.FILLED, OrderStatus.SUBMITTED)
    with pytest.raises(IllegalTransition):
        check("x", OrderStatus.PENDING, OrderStatus.SUBMITTED)  # never sent without approval
