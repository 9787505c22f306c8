"""Fakes for plugin tests: a clock, a market built from candles, an exchange, and helpers to build
and register plugin instances without entry points."""

from __future__ import annotations

import bisect
import csv
import math
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ais.config.loader import InstanceSpec
from ais.context import RunContext, SharedState
from ais.domain.market import Candle, MarketSnapshot
from ais.domain.orders import Fill, MarketRules, OpenOrder, Order, OrderStatus, SubmitResult
from ais.domain.portfolio import Position
from ais.exchange import ExchangeAdapter
from ais.markers import hookimpl
from ais.plugins.base import Plugin, PluginConfig
from ais.plugins.catalog import PluginInfo
from ais.plugins.host import PluginHost
from ais.plugins.loader import LoadedInstance
from ais.risk.tokens import Keyring, verify_token


class FakeClock:
    """A clock that moves only when told to. Times are milliseconds since the epoch."""

    def __init__(self, start_ms: int = 1_515_542_400_000) -> None:
        self._now = start_ms

    def now_ms(self) -> int:
        return self._now

    def advance(self, ms: int) -> int:
        self._now += ms
        return self._now

    def sleep(self, seconds: float) -> None:
        self._now += int(seconds * 1000)


def read_candles(path: str | Path) -> list[Candle]:
    """Candles from a CSV with ``timestamp,open,high,low,close,volume`` (timestamp in ms)."""
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        if [h.strip().lower() for h in header[:6]] != ["timestamp", "open", "high", "low", "close", "volume"]:
            raise ValueError(f"{path}: expected header timestamp,open,high,low,close,volume")
        return [
            Candle(int(float(r[0])), float(r[1]), float(r[2]), float(r[3]), float(r[4]), float(r[5]))
            for r in reader
            if r
        ]


def market_data_dir() -> Path:
    """Recorded market data for tests: ``$AIS_TEST_DATA``, else the first ``shared/data`` folder found
    beside the current directory or one of its parents (this project keeps real Binance candles
    there). The path may not exist: the ``shared_data`` fixture skips then."""
    import os

    if os.environ.get("AIS_TEST_DATA"):
        return Path(os.environ["AIS_TEST_DATA"])
    here = Path.cwd().resolve()
    for parent in (here, *here.parents):
        candidate = parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return here / "shared" / "data"


def synthetic_candles(
    n: int, *, start_ms: int = 1_515_542_400_000, bar_ms: int = 60_000, seed: int = 7, price: float = 100.0
) -> list[Candle]:
    """``n`` deterministic candles from a seeded random walk with regime changes (trends and ranges),
    so crossover strategies trade and guards have something to do."""
    rng = random.Random(seed)
    out: list[Candle] = []
    drift = 0.0
    for i in range(n):
        if i % 500 == 0:
            drift = rng.choice((-1.0, 0.0, 1.0)) * 0.0004
        change = drift + rng.gauss(0.0, 0.002)
        open_ = price
        close = max(1e-9, price * math.exp(change))
        high = max(open_, close) * (1 + abs(rng.gauss(0, 0.0005)))
        low = min(open_, close) * (1 - abs(rng.gauss(0, 0.0005)))
        out.append(Candle(start_ms + i * bar_ms, open_, high, low, close, 50.0 + rng.random() * 100.0))
        price = close
    return out


class FakeMarket(Plugin[PluginConfig]):
    """A data provider over in-memory candles: ``FakeMarket({"ETH/BTC": candles})``.

    It implements the data hooks, so it can be registered in a host; ``snapshots()`` iterates the
    market bar by bar for tests that drive an agent directly. A bar is visible at its close time
    (open time + ``bar_ms``): no look-ahead.
    """

    def __init__(
        self, candles: Mapping[str, Sequence[Candle]], bar_ms: int | None = None, name: str = "market"
    ):
        super().__init__(name, PluginConfig())
        self.candles = {s: list(c) for s, c in candles.items()}
        first = next(iter(self.candles.values()), [])
        self.bar_ms = bar_ms or (first[1].ts - first[0].ts if len(first) > 1 else 60_000)
        self._close_times = {s: [c.ts + self.bar_ms for c in cs] for s, cs in self.candles.items()}
        self.times = sorted({t for ts in self._close_times.values() for t in ts})

    def bar_at(self, symbol: str, now_ms: int) -> tuple[Candle | None, bool]:
        """The last bar closed at or before ``now_ms`` and whether the bar before it is missing."""
        closes = self._close_times.get(symbol)
        if not closes:
            return None, False
        i = bisect.bisect_right(closes, now_ms) - 1
        if i < 0:
            return None, False
        bars = self.candles[symbol]
        gap = i > 0 and bars[i].ts - bars[i - 1].ts > self.bar_ms
        return bars[i], gap

    @hookimpl
    def ais_data_snapshot(self, symbols: tuple[str, ...], now_ms: int) -> MarketSnapshot | None:
        candles: dict[str, Candle] = {}
        gaps = set()
        for symbol in symbols:
            bar, gap = self.bar_at(symbol, now_ms)
            if bar is not None and bar.ts + self.bar_ms == now_ms:
                candles[symbol] = bar
                if gap:
                    gaps.add(symbol)
        return MarketSnapshot(ts=now_ms, candles=candles, bar_ms=self.bar_ms, gaps=frozenset(gaps))

    @hookimpl
    def ais_data_next_time(self, after_ms: int) -> int | None:
        i = bisect.bisect_right(self.times, after_ms)
        return self.times[i] if i < len(self.times) else None

    def snapshots(self, symbols: Iterable[str] | None = None) -> Iterator[MarketSnapshot]:
        wanted = tuple(symbols) if symbols is not None else tuple(self.candles)
        for t in self.times:
            snap = self.ais_data_snapshot(wanted, t)
            if snap is not None and snap.candles:
                yield snap


class FakeExchange(ExchangeAdapter[PluginConfig]):
    """A venue that fills market orders at the last seen close (limit orders when crossed), with no
    fees. ``forbid_orders=True`` makes any ``place_order`` call fail the test loudly (used to prove
    shadow mode never places orders)."""

    def __init__(
        self, name: str = "fake", config: PluginConfig | None = None, *, forbid_orders: bool = False
    ):
        super().__init__(name, config or PluginConfig())
        self.forbid_orders = forbid_orders
        self.placed: list[Order] = []
        self.cancelled: list[str] = []
        self._fills: list[Fill] = []
        self._open: dict[str, Order] = {}
        self._prices: dict[str, float] = {}
        self._positions: dict[str, float] = {}
        self.now_ms = 0

    def place_order(self, order: Order) -> SubmitResult:
        if self.forbid_orders:
            raise AssertionError(f"place_order called on {self.name} for {order.client_order_id}")
        self.placed.append(order)
        price = self._prices.get(order.symbol)
        if order.limit_price is None and price is not None:
            self._fill(order, price)
        else:
            self._open[order.client_order_id] = order
        return SubmitResult(order.client_order_id, True, f"{self.name}-{len(self.placed)}")

    def _fill(self, order: Order, price: float) -> None:
        self._fills.append(
            Fill(
                f"{self.name}-t{len(self._fills) + 1}",
                order.client_order_id,
                self.name,
                order.symbol,
                order.side,
                order.quantity,
                price,
                0.0,
                self.now_ms,
            )
        )
        self._positions[order.symbol] = self._positions.get(order.symbol, 0.0) + order.signed_quantity

    def cancel_order(self, client_order_id: str, symbol: str) -> bool:
        self.cancelled.append(client_order_id)
        self._open.pop(client_order_id, None)
        return True

    def open_orders(self) -> Sequence[OpenOrder]:
        return [
            OpenOrder(
                o.client_order_id,
                o.symbol,
                o.side,
                o.type,
                o.quantity,
                0.0,
                o.limit_price,
                OrderStatus.SUBMITTED,
            )
            for o in self._open.values()
        ]

    def balances(self) -> Mapping[str, float]:
        return {}

    def positions(self) -> Sequence[Position]:
        return [Position(self.name, s, q, self._prices.get(s, 0.0)) for s, q in self._positions.items() if q]

    def fills(self, since_ms: int) -> Sequence[Fill]:
        return [f for f in self._fills if f.ts >= since_ms]

    def market_rules(self, symbol: str) -> MarketRules | None:
        return MarketRules(symbol, lot_size=1e-8, min_notional=0.0)

    def on_market(self, snapshot: MarketSnapshot) -> None:
        self.now_ms = snapshot.ts
        for symbol, candle in snapshot.candles.items():
            self._prices[symbol] = candle.close
        for coid, order in list(self._open.items()):
            price = self._prices.get(order.symbol)
            if price is None or order.limit_price is None:
                continue
            crossed = price <= order.limit_price if order.side.value == "buy" else price >= order.limit_price
            if crossed:
                del self._open[coid]
                self._fill(order, order.limit_price)


def make_instance(factory: Any, name: str = "test", **options: Any) -> Any:
    """Build a plugin object the way core does: ``factory(name, factory.Config(**options))``."""
    model = getattr(factory, "Config", PluginConfig)
    return factory(name, model.model_validate(options))


def loaded(obj: Any, kind: str, name: str | None = None, weight: float = 1.0) -> LoadedInstance:
    """Wrap a plugin object as a configured instance of ``kind`` (no entry point needed)."""
    instance = name or getattr(obj, "name", None) or type(obj).__name__.lower()
    spec = InstanceSpec(kind=kind, name=instance, plugin=instance, enabled=True, options={}, weight=weight)
    info = PluginInfo(
        instance, kind, f"ais.{kind}", f"{type(obj).__module__}:{type(obj).__qualname__}", "(test)", "0"
    )
    config = getattr(obj, "config", None) or PluginConfig()
    return LoadedInstance(spec, info, config, obj)


def host_with(*plugins: tuple[str, Any]) -> PluginHost:
    """A host with exactly these ``(kind, plugin object)`` pairs registered, in order. Raises
    ``AssertionError`` if any is refused, with the reason."""
    host = PluginHost([loaded(obj, kind) for kind, obj in plugins])
    if host.failures:
        raise AssertionError("; ".join(f.line() for f in host.failures))
    return host


@contextmanager
def registered(*plugins: tuple[str, Any]) -> Iterator[PluginHost]:
    """``with registered(("agents", my_agent)) as host:`` – started and shut down around the block."""
    host = host_with(*plugins)
    keyring = Keyring.ephemeral()
    host.startup(
        RunContext(
            run_id="test-run",
            mode="backtest",
            symbols=(),
            timezone="UTC",
            shared=SharedState(),
            verify_token=lambda order: verify_token(order, keyring),
            extra={"keyring": keyring},
        )
    )
    try:
        yield host
    finally:
        host.shutdown()
