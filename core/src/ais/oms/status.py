"""The order status machine. An illegal transition raises: it means a bug or a confused venue."""

from __future__ import annotations

from ais.domain.orders import OrderStatus as S

TRANSITIONS: dict[S, frozenset[S]] = {
    S.PENDING: frozenset({S.APPROVED, S.REJECTED}),
    S.APPROVED: frozenset({S.SUBMITTED, S.REJECTED, S.EXPIRED}),
    S.SUBMITTED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED}),
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}),
    S.FILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}


class IllegalTransition(Exception):
    def __init__(self, client_order_id: str, current: S, new: S) -> None:
        super().__init__(f"order {client_order_id}: illegal status change {current.value} -> {new.value}")


def check(client_order_id: str, current: S, new: S) -> S:
    if new not in TRANSITIONS[current]:
        raise IllegalTransition(client_order_id, current, new)
    return new
