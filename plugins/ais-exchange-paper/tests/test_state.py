"""Durable state: a venue rebuilt from its SQLite file (also after ``kill -9``) carries on exactly."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from ais_exchange_paper.store import StateError
from ais_exchange_paper.venue import PaperExchange
from paper_kit import BAR_MS, SYMBOL, VENUE, bar, bar_snapshot, feed, order, signed, start

from ais.domain.orders import OrderStatus, Side
from ais.risk.tokens import Keyring
from ais.testing import make_instance

T0 = 1_515_560_100_000
OPTIONS = {"balances": {"BTC": 10.0}, "max_volume_share": 0.5, "fee_bps": 10.0, "slippage_bps": 5.0}


def _venue(path: Path, keyring: Keyring, **options: object) -> PaperExchange:
    return start(make_instance(PaperExchange, VENUE, state=str(path), **{**OPTIONS, **options}), keyring)


def _view(venue: PaperExchange) -> dict:
    return {
        "open": sorted((o.client_order_id, o.side.value, o.quantity, o.filled_quantity, o.limit_price,
                        o.status.value) for o in venue.open_orders()),
        "fills": [(f.trade_id, f.client_order_id, f.side.value, f.quantity, f.price, f.fee, f.ts)
                  for f in venue.fills(0)],
        "balances": dict(venue.balances()),
        "positions": sorted((p.symbol, p.quantity, p.avg_price, p.realized_pnl) for p in venue.positions()),
    }


def test_rebuilt_venue_sees_what_was_accepted_and_filled(tmp_path: Path, keyring: Keyring) -> None:
    path = tmp_path / "venue.sqlite"
    before = _venue(path, keyring)
    partial = before.ais_exchange_submit(signed(order(Side.BUY, 3.0, coid="ais-partial"), keyring))
    feed(before, [bar(T0, 0.1, 0.1, 0.1, 0.1, volume=4.0)])  # 2.0 of 3.0 fills
    before.ais_exchange_submit(signed(order(Side.SELL, 1.0, 0.2, coid="ais-resting"), keyring))
    cancelled = before.ais_exchange_submit(signed(order(Side.BUY, 1.0, 0.01, coid="ais-cancelled"), keyring))
    before.ais_exchange_cancel(cancelled.client_order_id, SYMBOL)
    late = before.ais_exchange_submit(signed(order(Side.BUY, 1.0, coid="ais-late"), keyring))
    seen = _view(before)
    assert {o[0]: o[-1] for o in seen["open"]} == {
        "ais-partial": OrderStatus.PARTIALLY_FILLED.value,
        "ais-resting": OrderStatus.SUBMITTED.value,
        "ais-late": OrderStatus.SUBMITTED.value,
    }

    # "crash": the first object is simply abandoned, never shut down; config balances now differ
    after = _venue(path, keyring, balances={"BTC": 99.0})
    assert _view(after) == seen
    # a retry of an order accepted before the crash is recognised, not duplicated
    assert after.ais_exchange_submit(signed(order(Side.BUY, 3.0, coid="ais-partial"), keyring)) == partial
    # the bar already used before the crash is not used again
    feed(after, [bar(T0, 0.1, 0.1, 0.1, 0.1, volume=4.0)])
    assert _view(after)["fills"] == seen["fills"]

    feed(after, [bar(T0 + BAR_MS, 0.12, 0.13, 0.11, 0.125, volume=100.0)])
    new = after.fills(0)[len(seen["fills"]):]
    assert {f.client_order_id for f in new} == {partial.client_order_id, late.client_order_id}
    assert all(f.price == pytest.approx(0.12 * (1 + 5 / 1e4), rel=1e-12) for f in new)
    assert all(f.ts == T0 + 2 * BAR_MS for f in new)
    assert len({f.trade_id for f in after.fills(0)}) == len(after.fills(0))
    assert [o.client_order_id for o in after.open_orders()] == ["ais-resting"]
    # new orders get fresh venue ids
    fresh = after.ais_exchange_submit(signed(order(Side.BUY, 1.0), keyring))
    assert fresh.venue_order_id not in {partial.venue_order_id, late.venue_order_id, cancelled.venue_order_id}


def test_state_file_uses_wal_and_starting_balances_once(tmp_path: Path, keyring: Keyring) -> None:
    path = tmp_path / "nested" / "venue.sqlite"
    venue = _venue(path, keyring)
    assert path.exists()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert dict(db.execute("SELECT asset, amount FROM balances")) == {"BTC": 10.0}
    venue.ais_shutdown()


def test_another_venues_state_file_is_refused(tmp_path: Path, keyring: Keyring) -> None:
    path = tmp_path / "venue.sqlite"
    _venue(path, keyring).ais_shutdown()
    with pytest.raises(StateError, match=r"'paper'.*'other'"):
        make_instance(PaperExchange, "other", state=str(path))


def test_unusable_state_path_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(StateError, match="cannot open state file"):
        make_instance(PaperExchange, VENUE, state=str(tmp_path / "file" / "venue.sqlite"))


def test_without_state_nothing_is_written(tmp_path: Path, keyring: Keyring,
                                          venue_factory: Callable[..., PaperExchange],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    venue = venue_factory()
    venue.ais_exchange_submit(signed(order(Side.BUY, 1.0), keyring))
    feed(venue, [bar(T0, 0.1, 0.1, 0.1, 0.1)])
    assert len(venue.fills(0)) == 1
    assert list(tmp_path.iterdir()) == []


_CHILD = r"""
import json, sys, time
from ais.context import RunContext, SharedState
from ais.domain.market import Candle, MarketSnapshot
from ais.domain.orders import Order, OrderType, Side
from ais.risk.tokens import Keyring, sign, verify_token
from ais.testing import make_instance
from ais_exchange_paper.venue import PaperExchange

path, options = sys.argv[1], json.loads(sys.argv[2])
keyring = Keyring.ephemeral()
venue = make_instance(PaperExchange, "paper", state=path, **options)
venue.ais_startup(RunContext("child", "paper", ("ETH/BTC",), "UTC", SharedState(),
                             verify_token=lambda o: verify_token(o, keyring)))
T0, BAR = 1_515_560_100_000, 300_000

def submit(coid, side, qty, limit=None):
    o = Order("o-" + coid, coid, "paper", "ETH/BTC", side,
              OrderType.MARKET if limit is None else OrderType.LIMIT, qty, limit, False, "child", T0)
    assert venue.ais_exchange_submit(o.with_token(sign(o, keyring, int(time.time() * 1000), 300))).accepted

def tick(i, price, volume):
    venue.ais_exchange_on_market(MarketSnapshot(
        ts=T0 + (i + 1) * BAR, candles={"ETH/BTC": Candle(T0 + i * BAR, price, price, price, price, volume)},
        bar_ms=BAR))

submit("ais-a", Side.BUY, 5.0)
tick(0, 0.1, 4.0)                  # 2.0 of 5.0
submit("ais-b", Side.SELL, 1.0, 0.3)
tick(1, 0.11, 2.0)                 # 1.0 more of ais-a
submit("ais-c", Side.BUY, 0.5)     # accepted, then the process dies before the next bar
venue.ais_exchange_cancel("ais-b", "ETH/BTC")
submit("ais-d", Side.SELL, 2.0, 0.25)
print(json.dumps({"last_bar": 1}), flush=True)
time.sleep(120)
"""


def test_survives_kill_9(tmp_path: Path, keyring: Keyring) -> None:
    path = tmp_path / "venue.sqlite"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path), json.dumps(OPTIONS)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = child.stdout.readline() if child.stdout else ""
        assert line, child.stderr.read() if child.stderr else "child printed nothing"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    venue = _venue(path, keyring)
    view = _view(venue)
    assert [(f[1], f[3], f[4]) for f in view["fills"]] == [
        ("ais-a", 2.0, pytest.approx(0.1 * 1.0005, rel=1e-12)),
        ("ais-a", 1.0, pytest.approx(0.11 * 1.0005, rel=1e-12)),
    ]
    assert view["open"] == [
        ("ais-a", "buy", 5.0, 3.0, None, "partially_filled"),
        ("ais-c", "buy", 0.5, 0.0, None, "submitted"),
        ("ais-d", "sell", 2.0, 0.0, 0.25, "submitted"),
    ]
    fees = sum(f[5] for f in view["fills"])
    assert view["balances"]["ETH"] == 3.0
    assert view["balances"]["BTC"] == pytest.approx(10.0 - 0.2 * 1.0005 - 0.11 * 1.0005 - fees, rel=1e-12)
    (position,) = view["positions"]
    assert position[1] == 3.0

    # the order accepted just before the kill fills on the next bar, at its open
    venue.ais_exchange_on_market(bar_snapshot(bar(T0 + 2 * BAR_MS, 0.26, 0.27, 0.2, 0.22, volume=100.0)))
    after = {f.client_order_id: f for f in venue.fills(T0 + 3 * BAR_MS)}
    assert set(after) == {"ais-a", "ais-c", "ais-d"}
    assert after["ais-c"].price == pytest.approx(0.26 * (1 + 5 / 1e4), rel=1e-12)
    assert after["ais-a"].quantity == 2.0
    assert after["ais-d"].price == 0.26  # sell limit 0.25, bar opened above it
    assert venue.open_orders() == []
