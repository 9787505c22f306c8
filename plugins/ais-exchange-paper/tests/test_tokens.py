"""The risk token gate: refused orders never reach ``place_order`` and leave no trace in the venue."""

from __future__ import annotations

import time

import pytest
from ais_exchange_paper.venue import PaperExchange
from paper_kit import VENUE, bar, feed, order, signed, start

from ais.context import RunContext, SharedState
from ais.domain.orders import Order, Side, SubmitResult
from ais.risk.tokens import Keyring, TokenError, sign, verify_token
from ais.testing import host_with, make_instance


class RecordingVenue(PaperExchange):
    """The real venue, recording which orders reached ``place_order``."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.reached: list[str] = []

    def place_order(self, order: Order) -> SubmitResult:
        self.reached.append(order.client_order_id)
        return super().place_order(order)


@pytest.fixture
def venue(keyring: Keyring) -> RecordingVenue:
    return start(make_instance(RecordingVenue, VENUE), keyring)


def _assert_untouched(venue: RecordingVenue) -> None:
    assert venue.reached == []
    assert venue.open_orders() == []
    feed(venue, [bar(1_515_560_100_000, 0.1, 0.1, 0.1, 0.1)])
    assert venue.fills(0) == []


def test_unsigned_order_is_refused_before_place_order(venue: RecordingVenue) -> None:
    with pytest.raises(TokenError) as info:
        venue.ais_exchange_submit(order(Side.BUY, 1.0))
    assert info.value.reason == "MISSING"
    _assert_untouched(venue)


@pytest.mark.parametrize(
    "tamper",
    [
        {"quantity": 100.0},
        {"side": Side.SELL},
        {"limit_price": 0.2},
        {"symbol": "LTC/BTC"},
        {"client_order_id": "ais-someone-else"},
    ],
)
def test_tampered_order_is_refused_before_place_order(venue: RecordingVenue, keyring: Keyring,
                                                      tamper: dict) -> None:
    with pytest.raises(TokenError) as info:
        venue.ais_exchange_submit(signed(order(Side.BUY, 1.0), keyring)._replace(**tamper))
    assert info.value.reason == "BAD_SIGNATURE"
    _assert_untouched(venue)


def test_order_signed_by_another_key_is_refused(venue: RecordingVenue) -> None:
    with pytest.raises(TokenError):
        venue.ais_exchange_submit(signed(order(Side.BUY, 1.0), Keyring.ephemeral()))
    _assert_untouched(venue)


def test_expired_token_is_refused(venue: RecordingVenue, keyring: Keyring) -> None:
    o = order(Side.BUY, 1.0)
    stale = o.with_token(sign(o, keyring, int(time.time() * 1000) - 600_000, 300))
    with pytest.raises(TokenError) as info:
        venue.ais_exchange_submit(stale)
    assert info.value.reason == "EXPIRED"
    _assert_untouched(venue)


def test_venue_not_started_refuses_everything(keyring: Keyring) -> None:
    venue = make_instance(RecordingVenue, VENUE)  # no ais_startup: no verifier
    with pytest.raises(TokenError):
        venue.ais_exchange_submit(signed(order(Side.BUY, 1.0), keyring))
    _assert_untouched(venue)


def test_signed_order_reaches_place_order_once(venue: RecordingVenue, keyring: Keyring) -> None:
    o = signed(order(Side.BUY, 1.0), keyring)
    assert venue.ais_exchange_submit(o).accepted
    assert venue.reached == [o.client_order_id]


def test_through_a_plugin_host(keyring: Keyring) -> None:
    """Registered and started by core's host, the routed submit hook verifies before anything else."""
    venue = make_instance(RecordingVenue, VENUE)
    host = host_with(("exchanges", venue))
    host.startup(RunContext("host-test", "paper", ("ETH/BTC",), "UTC", SharedState(),
                            verify_token=lambda o: verify_token(o, keyring)))
    try:
        handle = host.exchange(VENUE)
        with pytest.raises(TokenError):
            handle.submit(order(Side.BUY, 1.0))
        assert venue.reached == []
        good = signed(order(Side.BUY, 1.0), keyring)
        assert handle.submit(good).accepted
        assert [o.client_order_id for o in handle.open_orders()] == [good.client_order_id]
    finally:
        host.shutdown()
