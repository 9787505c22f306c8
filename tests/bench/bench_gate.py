"""The risk gate alone: orders/s through guards → sign → OMS verify + single-use check → journal →
adapter re-verify → paper venue accept. Journal batched (backtest) and durable per order (paper/live)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import header, now

from ais.context import RunContext, SharedState
from ais.domain import Candle, MarketSnapshot, Order, OrderType, Side
from ais.oms.manager import OrderManager
from ais.portfolio.ledger import Ledger
from ais.risk.engine import RiskEngine
from ais.risk.tokens import Keyring, verify_token
from ais.store.events import EventStore
from ais.testing.fakes import host_with, make_instance

GUARDS = {
    "max_drawdown": {"max_drawdown": 0.5},
    "daily_loss": {"max_daily_loss": 0.5},
    "max_leverage": {"max_leverage": 100.0},
    "exposure": {"max_gross": 100.0, "max_net": 100.0},
    "max_position_weight": {"max_weight": 100.0},
    "min_liquidity": {"max_volume_share": 1.0},
    "max_order_notional": {"max_notional": 1e12},
    "order_rate": {"max_orders": 10_000_000, "per_seconds": 1},
}


def bench_orders(n: int, ts: int, *, alternate: bool) -> list[Order]:
    """``n`` one-unit market orders on SYN/USD, buys only or alternating buy/sell."""
    return [
        Order(
            f"b:{i}",
            f"ais-b-{i}",
            "paper",
            "SYN/USD",
            Side.BUY if not alternate or i % 2 else Side.SELL,
            OrderType.MARKET,
            1.0,
            None,
            False,
            "bench",
            ts,
        )
        for i in range(n)
    ]


def guard_plugins() -> list[tuple[str, object]]:
    from importlib.metadata import entry_points

    eps = {ep.name: ep for ep in entry_points(group="ais.guards")}
    return [("guards", make_instance(eps[name].load(), name, **options)) for name, options in GUARDS.items()]


def run(n: int, durable: bool) -> float:
    from ais_exchange_paper.venue import PaperExchange

    keyring = Keyring.ephemeral()
    venue = make_instance(PaperExchange, "paper", balances={"USD": 1e12})
    host = host_with(*guard_plugins(), ("exchanges", venue))
    ts = 1_700_000_000_000
    host.startup(
        RunContext(
            "bench",
            "paper",
            ("SYN/USD",),
            "UTC",
            SharedState(),
            verify_token=lambda o: verify_token(o, keyring, ts),
        )
    )
    market = MarketSnapshot(ts=ts, candles={"SYN/USD": Candle(ts - 60_000, 100.0, 101, 99, 100.0, 1e9)})
    venue.ais_exchange_on_market(market)
    with tempfile.TemporaryDirectory() as tmp:
        store = EventStore(Path(tmp) / "gate.sqlite", batch_size=1000)

        def record(kind, payload, **kw):
            return store.append(kind, payload, ts, "bench", durable=kw.get("durable", False))

        ledger = Ledger(1e9)
        ledger.mark(market)
        risk = RiskEngine(host, keyring, ttl_s=300, timezone="UTC", record=record)
        oms = OrderManager(
            keyring=keyring,
            exchanges={"paper": host.exchange("paper")},
            record=record,
            now_ms=lambda: ts,
            durable_intents=durable,
        )
        portfolio = ledger.snapshot()
        orders = bench_orders(n, ts, alternate=True)
        start = now()
        for order in orders:
            signed, rejections = risk.evaluate(order, portfolio, market, ts)
            assert signed is not None, rejections
            oms.submit(signed)
        store.flush()
        elapsed = now() - start
        assert oms.submitted == n
        store.close()
    return elapsed


def run_core(n: int) -> float:
    """Sign + verify (with the single-use check) + journal: the gate's own work, without guards or
    a venue."""
    from ais.oms.manager import order_payload
    from ais.risk.tokens import sign, token_id

    keyring = Keyring.ephemeral()
    ts = 1_700_000_000_000
    orders = bench_orders(n, ts, alternate=False)
    used: set[str] = set()
    with tempfile.TemporaryDirectory() as tmp:
        store = EventStore(Path(tmp) / "gate.sqlite", batch_size=1000)
        start = now()
        for order in orders:
            signed = order.with_token(sign(order, keyring, ts, 300))
            verify_token(signed, keyring, ts)
            tid = token_id(signed.token)  # type: ignore[arg-type]
            assert tid not in used
            used.add(tid)
            store.append("order.intent", order_payload(signed), ts, "bench")
        store.flush()
        elapsed = now() - start
        store.close()
    return elapsed


def main() -> None:
    header("risk gate: 8 standard guards, HMAC sign, OMS verify + single use, journal, adapter verify, venue")
    n = 20_000
    best = min(run_core(n) for _ in range(3))
    print(
        f"{'sign + verify + journal (no guards, no venue)':<48} {n / best:>12,.0f} orders/s   "
        f"({n:,} in {best:.3f} s, best of 3)"
    )
    for durable, n in ((False, 20_000), (True, 3_000)):
        best = min(run(n, durable) for _ in range(3))
        label = (
            "full gate, durable intent (paper/live)" if durable else "full gate, group-committed (backtest)"
        )
        print(f"{label:<48} {n / best:>12,.0f} orders/s   ({n:,} in {best:.3f} s, best of 3)")


if __name__ == "__main__":
    main()
