"""Per-agent cost: µs per bar per symbol of every installed agent plugin, with its default parameters,
on real candles (the nine 5-minute pairs of binance-5m-2018-01; the funding-rate agent on the XRP
perpetual with its funding rates). Snapshots are built beforehand: only the agent's hook is timed.
Target (issue 4): no agent above 20 µs per bar per symbol."""

from __future__ import annotations

import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import header, now

from ais.context import AgentContext, SharedState
from ais.domain.market import FundingRate, MarketSnapshot
from ais.testing.fakes import FakeMarket, make_instance, market_data_dir, read_candles

NINE = ("ETH", "LTC", "XMR", "ZEC", "DASH", "ETC", "ADA", "XLM", "TRX")
#: options an agent cannot do without (everything else: its defaults)
REQUIRED: dict[str, dict[str, Any]] = {"pairs": {"legs": ["ETH/BTC", "LTC/BTC"]}}
TARGET_US = 20.0


def nine_pairs(data: Path) -> list[MarketSnapshot]:
    folder = data / "binance-5m-2018-01"
    market = FakeMarket({f"{b}/BTC": read_candles(folder / f"{b}_BTC.csv") for b in NINE})
    return list(market.snapshots())


def xrp_with_funding(data: Path) -> list[MarketSnapshot]:
    folder = data / "binance-futures-2021-11"
    symbol = "XRP/USDT:USDT"
    candles = read_candles(folder / "XRP_USDT_USDT-5m.csv")
    lines = (folder / "XRP_USDT_USDT-8h-funding.csv").read_text().split()[1:]
    rates = [FundingRate(int(ts), float(rate)) for ts, rate in (line.split(",") for line in lines)]
    snaps = []
    i = -1
    for snap in FakeMarket({symbol: candles}).snapshots():
        while i + 1 < len(rates) and rates[i + 1].ts <= snap.ts:
            i += 1
        if i >= 0:
            snap = snap._replace(funding={symbol: rates[i]})
        snaps.append(snap)
    return snaps


def per_symbol_bar_us(
    factory: Any, options: dict[str, Any], snaps: list[MarketSnapshot], repeat: int = 3
) -> float:
    legs = options.get("legs")  # an agent of fixed symbols (pairs) works on those only
    bars = sum(len(s.candles) if legs is None else sum(leg in s.candles for leg in legs) for s in snaps)
    best = float("inf")
    for _ in range(repeat):
        agent = make_instance(factory, "bench", **options)
        context = AgentContext("bench", SharedState())
        call = agent.ais_agent_signals
        start = now()
        for snap in snaps:
            call(snap, context)
        best = min(best, now() - start)
    return best / bars * 1e6


def main() -> None:
    data = market_data_dir()
    header("agents: µs per bar per symbol, default parameters, real candles (best of 3)")
    markets = {"nine": nine_pairs(data), "xrp": xrp_with_funding(data)}
    worst = 0.0
    for ep in sorted(entry_points(group="ais.agents"), key=lambda e: e.name):
        try:
            factory = ep.load()
        except Exception as exc:  # a plugin that cannot be imported is reported, not benchmarked
            print(f"{ep.name:<22} cannot be loaded: {type(exc).__name__}: {exc}")
            continue
        snaps = markets["xrp" if ep.name == "funding_rate" else "nine"]
        us = per_symbol_bar_us(factory, REQUIRED.get(ep.name, {}), snaps)
        worst = max(worst, us)
        legs = REQUIRED.get(ep.name, {}).get("legs")
        symbols = len(legs) if legs else len({s for snap in snaps for s in snap.candles})
        flag = "" if us <= TARGET_US else f"   ABOVE the {TARGET_US:g} µs target"
        print(f"{ep.name:<22} {us:>8.2f} µs/bar/symbol   ({len(snaps):,} bars × {symbols} symbols){flag}")
    print(f"{'slowest':<22} {worst:>8.2f} µs/bar/symbol   (target ≤ {TARGET_US:g})")


if __name__ == "__main__":
    main()
