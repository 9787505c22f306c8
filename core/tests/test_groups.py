"""Signals sharing a ``group`` (pair legs) are sized by ``leg_weight`` and sent all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ais import Plugin, PluginConfig, hookimpl
from ais.domain import Direction, MarketSnapshot, Signal, Verdict
from ais.engine.runner import Run, RunOptions
from ais.store.events import EventStore
from ais.testing.fakes import FakeExchange, FakeMarket, host_with, synthetic_candles

CONFIG = """
[ais]
mode = "paper"
symbols = ["AAA/USD", "BBB/USD"]

[portfolio]
initial_cash = 10000.0
target_weight = 0.5
max_weight = 0.5

[data.market]
[agents.pair]
[arbitration.all]
[guards.refuse]
[exchanges.fake]
"""


class Pair(Plugin[PluginConfig]):
    """Every hour: long AAA (a quarter of the pair's notional), short BBB (three quarters)."""

    @hookimpl
    def ais_agent_signals(self, snapshot: MarketSnapshot, context: Any) -> list[Signal]:
        if snapshot.ts % 3_600_000 or len(snapshot.candles) < 2:
            return []
        flip = (snapshot.ts // 3_600_000) % 2 == 0
        long, short = (Direction.LONG, Direction.SHORT) if flip else (Direction.SHORT, Direction.LONG)
        return [
            Signal("AAA/USD", long, 1.0, 0.01, 3600, 1.0, "leg", snapshot.ts, group="p", leg_weight=0.25),
            Signal("BBB/USD", short, 1.0, 0.01, 3600, 1.0, "leg", snapshot.ts, group="p", leg_weight=0.75),
        ]


class All(Plugin[PluginConfig]):
    @hookimpl
    def ais_arbitrate(self, signals: Any, context: Any) -> list[Signal]:
        return list(signals)


class Refuse(Plugin[PluginConfig]):
    """Refuses every order on ``symbol`` (none by default)."""

    symbol = ""

    @hookimpl
    def ais_guard_check(self, order: Any, portfolio: Any, context: Any) -> Verdict:
        if order.symbol == self.symbol:
            return Verdict.reject(self.name, "NOPE", "refused")
        return Verdict.ok(self.name)


def run_pair(tmp_path: Path, refuse: str) -> tuple[dict[str, Any], FakeExchange, EventStore]:
    (tmp_path / "ais.toml").write_text(CONFIG)
    guard = Refuse("refuse", PluginConfig())
    guard.symbol = refuse
    venue = FakeExchange("fake")
    market = {"AAA/USD": synthetic_candles(300, seed=1), "BBB/USD": synthetic_candles(300, seed=2)}
    host = host_with(
        ("data", FakeMarket(market, name="market")),
        ("agents", Pair("pair", PluginConfig())),
        ("arbitration", All("all", PluginConfig())),
        ("guards", guard),
        ("exchanges", venue),
    )
    store = tmp_path / "events.sqlite"
    summary = Run(RunOptions(config=str(tmp_path / "ais.toml"), store=str(store)), host=host).execute()
    return summary, venue, EventStore(store, readonly=True)


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIS_RISK_HMAC_SECRET", "s" * 40)


def test_legs_are_sent_together_and_sized_by_leg_weight(tmp_path: Path) -> None:
    summary, venue, _ = run_pair(tmp_path, refuse="")
    assert summary["orders"] >= 4
    first_a, first_b = venue.placed[0], venue.placed[1]
    assert {first_a.symbol, first_b.symbol} == {"AAA/USD", "BBB/USD"} and first_a.ts == first_b.ts
    notional = {}
    for order in venue.placed[:2]:
        candle = next(c for c in venue_candles(order.symbol) if c.ts + 60_000 == order.ts)
        notional[order.symbol] = order.quantity * candle.close
    # 10,000 × 0.5 × leg weight: 1,250 and 3,750 (to the lot size)
    assert notional["AAA/USD"] == pytest.approx(1250, rel=1e-3)
    assert notional["BBB/USD"] == pytest.approx(3750, rel=1e-3)


def venue_candles(symbol: str) -> list[Any]:
    return synthetic_candles(300, seed=1 if symbol == "AAA/USD" else 2)


def test_one_refused_leg_sends_no_leg(tmp_path: Path) -> None:
    summary, venue, store = run_pair(tmp_path, refuse="BBB/USD")
    assert venue.placed == []
    assert summary["orders"] == 0
    assert summary["rejections"]["NOPE"] == summary["rejections"]["GROUP_LEG_REJECTED"] > 0
    refused = [e.payload for e in store.events(types=("risk.rejected",))]
    assert {p["symbol"] for p in refused if p["reasons"] == ["GROUP_LEG_REJECTED"]} == {"AAA/USD"}
