"""Where a bar's time goes: each stage of the cycle timed alone on the same 200,000 one-minute bars
(µs per bar, best of 3). The stages add up to roughly the pipeline's per-bar cost; the remainder
is the coordinator's own glue and the order path (orders are rare per bar, costly per order)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import header, now, write_market

from ais.context import AgentContext, GuardContext, SharedState
from ais.domain import RiskState
from ais.portfolio.ledger import Ledger
from ais.testing.fakes import host_with, make_instance

BARS = 200_000
SYMBOLS = ("SYN/USD",)


def best(fn: object, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = now()
        fn()  # type: ignore[operator]
        times.append(now() - start)
    return min(times) / BARS * 1e6


def main() -> None:
    from importlib.metadata import entry_points

    header(f"per-bar cost of each stage ({BARS:,} bars, µs per bar, best of 3)")
    groups = ("ais.data", "ais.agents", "ais.guards", "ais.exchanges")
    eps = {(g, ep.name): ep for g in groups for ep in entry_points(group=g)}
    with tempfile.TemporaryDirectory() as tmp:
        market = write_market(Path(tmp) / "syn.csv", BARS)
        provider = eps[("ais.data", "replay")].load()
        os.environ["AIS_CACHE_DIR"] = tmp  # the column cache of this run only

        def load(cache: bool) -> float:
            """Seconds to set the provider up on the file: read (parsed, or from the column cache) and
            checked (times increasing, the bar length, gaps)."""
            start = now()
            make_instance(provider, "market", files={"SYN/USD": str(market)}, cache=cache)
            return now() - start

        parse = min(load(False) for _ in range(3))
        load(True)  # fills the column cache
        cached = min(load(True) for _ in range(3))
        print(f"{'data: load (parse and check), s per 1M bars':<44} {parse / BARS * 1e6:>8.2f}")
        print(f"{'data: load from the column cache, s per 1M':<44} {cached / BARS * 1e6:>8.2f}")
        replay = make_instance(provider, "market", files={"SYN/USD": str(market)}, cache=False)
        times = []
        t = 0
        while (t := replay.ais_data_next_time(t)) is not None:
            times.append(t)
        snaps = [replay.ais_data_snapshot(SYMBOLS, t) for t in times]

        def clock() -> None:
            t = 0
            nxt = replay.ais_data_next_time
            while (t := nxt(t)) is not None:
                pass

        def data() -> None:
            snap = replay.ais_data_snapshot
            for t in times:
                snap(SYMBOLS, t)

        def stream() -> None:
            for _ in replay.ais_data_stream(SYMBOLS, 0):
                pass

        print(f"{'data: next_time (replay)':<44} {best(clock):>8.2f}")
        print(f"{'data: snapshot (replay)':<44} {best(data):>8.2f}")
        print(f"{'data: stream, both in one step (replay)':<44} {best(stream):>8.2f}")

        def agent() -> None:
            a = make_instance(eps[("ais.agents", "momentum")].load(), "sma", fast=10, slow=50)
            ctx = AgentContext("sma", SharedState())
            call = a.ais_agent_signals
            for s in snaps:
                call(s, ctx)

        print(f"{'agent: momentum SMA(10/50)':<44} {best(agent):>8.2f}")

        ledger = Ledger(100_000.0)
        from ais.domain import Fill, Side

        ledger.apply_fill(Fill("t", "c", "paper", "SYN/USD", Side.BUY, 100.0, 100.0, 0.0, 0))

        def mark() -> None:
            m = ledger.mark
            for s in snaps:
                m(s)

        def portfolio() -> None:
            snap = ledger.snapshot
            for _ in snaps:
                snap()

        print(f"{'portfolio: mark to market (1 position)':<44} {best(mark):>8.2f}")
        print(f"{'portfolio: snapshot for guards':<44} {best(portfolio):>8.2f}")

        guards = [
            (
                "guards",
                make_instance(eps[("ais.guards", "daily_loss")].load(), "daily_loss", max_daily_loss=0.5),
            ),
            (
                "guards",
                make_instance(eps[("ais.guards", "max_drawdown")].load(), "max_drawdown", max_drawdown=0.9),
            ),
        ]
        host = host_with(*guards)
        p = ledger.snapshot()
        ctx = GuardContext(snaps[0], RiskState.ACTIVE, 0, "UTC")

        def assess() -> None:
            a = host.guard_assessments
            for _ in snaps:
                a(p, ctx)

        print(f"{'risk: assess (daily loss + drawdown guards)':<44} {best(assess):>8.2f}")

        venue = make_instance(eps[("ais.exchanges", "paper")].load(), "paper")

        def on_market() -> None:
            on = venue.ais_exchange_on_market
            for s in snaps:
                on(s)

        print(f"{'exchange: paper on_market (no resting order)':<44} {best(on_market):>8.2f}")


if __name__ == "__main__":
    main()
