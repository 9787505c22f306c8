"""`ais backtest` against its peers (issue 5): the same 500,000 deterministic one-minute bars
(``write_market`` below: seeded, ``common``'s CSV layout and clock) with the same SMA(10/50) crossover
in AIS, backtesting.py and backtrader; then the bundled market (9 symbols x 20 days of 5-minute bars).
Prints figures; asserts nothing.

- AIS, every standard guard on (risk tokens signed and verified), the paper venue and the SQLite event
  store, in child processes (peak RSS from ``wait4``):
  ``AIS momentum, CLI``: the real ``ais backtest`` command (when the CLI has it) with the ``momentum``
  agent (fast 10, slow 50), which trades the crosses its track record backs, sized by its confidence;
  ``AIS momentum``: the same through ``run_backtest`` in-process, to split set-up (config, plugins,
  reading the CSV) from the run; ``AIS crossover``: a bench-local agent that trades every cross with
  confidence 1, so the allocator sizes ``floor(0.5 x NAV / close)`` units like the peers: the same
  trades and final equity as the peers (a line of the output checks it), i.e. the same work.
- backtesting.py and backtrader: each in its own child process of this interpreter (the nox ``bench``
  session installs them), reading the same CSV with pandas, deciding on the close and filling at the
  next open, zero fees, ``int(0.5 x equity / close)`` units. backtrader runs with ``stdstats=False``
  (no observers: its fastest ordinary set-up). A peer that is not installed is reported and skipped.
- Before any timed run, each engine runs once untimed on 3,000 bars (``warm_up``): bytecode compiled,
  files cached, for every engine alike. Then each engine is timed ``REPEAT`` times (3;
  ``AIS_BENCH_REPEAT``), the engines taking turns (each round runs every engine once), and the
  fastest run counts, for every engine alike: this machine's noise only ever slows a run down, and
  its speed drifts over minutes, so no engine gets the slow or the fast spell to itself.
- Targets from the issue: >= 1.0x backtesting.py, >= 10x backtrader, <= 200 MB peak RSS for AIS,
  the bundled market in < 5 s.

``python tests/bench/bench_backtest.py [BARS] [--profile]``: ``--profile`` (or ``AIS_BENCH_PROFILE=1``)
also runs AIS under cProfile and prints the top 15 functions by cumulative and by own time.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import BAR_MS, START_MS, header, now, peak_rss_mb

FAST, SLOW, WEIGHT, CASH = 10, 50, 0.5, 1_000_000.0
AIS = str(Path(sys.executable).with_name("ais"))


def write_market(path: Path, bars: int, seed: int = 42) -> Path:
    """``bars`` deterministic one-minute candles (the CSV layout of ``common.write_market``): a seeded
    random walk of the log price pulled back towards 100 (half-life ~7,000 bars), with slow drift
    regimes. Unlike ``common.write_market``, whose trending regimes carry the price from 100 to 7e7,
    it stays within about 80..125, so sizing ``int(0.5 x equity / close)`` whole units gives orders
    of a few thousand units everywhere, below every bar's volume (50,000..75,000): no partial fill,
    and the same trades in every engine."""
    rng = random.Random(seed)
    level = log_price = math.log(100.0)
    price, drift = 100.0, 0.0
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["timestamp", "open", "high", "low", "close", "volume"])
        for i in range(bars):
            if i % 2000 == 0:
                drift = rng.choice((-1.0, 0.0, 1.0)) * 0.00002
            log_price += 1e-4 * (level - log_price) + drift + rng.gauss(0.0, 0.001)
            close = math.exp(log_price)
            high = max(price, close) * (1 + abs(rng.gauss(0, 0.0003)))
            low = min(price, close) * (1 - abs(rng.gauss(0, 0.0003)))
            out.writerow(
                [
                    START_MS + i * BAR_MS,
                    f"{price:.6f}",
                    f"{high:.6f}",
                    f"{low:.6f}",
                    f"{close:.6f}",
                    f"{50_000 + rng.random() * 25_000:.3f}",
                ]
            )
            price = close
    return path

GUARDS = """
[guards.daily_loss]
max_daily_loss = 0.5
[guards.max_drawdown]
max_drawdown = 0.9
[guards.max_leverage]
max_leverage = 2.0
[guards.max_position_weight]
max_weight = 0.6
[guards.min_liquidity]
max_volume_share = 1.0
[guards.max_order_notional]
max_notional = 1000000000.0
[guards.order_rate]
max_orders = 1000
per_seconds = 60
"""

SYNTHETIC_TOML = (
    """
[ais]
mode = "backtest"
symbols = ["SYN/USD"]

[store]
path = "{store}"

[portfolio]
initial_cash = {cash}
quote_currency = "USD"
target_weight = 0.5
max_weight = 0.5

[data.market]
plugin = "replay"
files = {{ "SYN/USD" = "{market}" }}

{agents}
[arbitration.weighted]
"""
    + GUARDS.replace("{", "{{").replace("}", "}}")
    + """
[exchanges.paper]
balances = {{ USD = {cash} }}
fee_bps = 0
slippage_bps = 0
max_volume_share = 1.0
lot_size = {lot}
"""
)

MOMENTUM = """
[agents.sma]
plugin = "momentum"
fast = 10
slow = 50
"""

# The default configuration's market and agents (two momentum instances), as a backtest.
BUNDLED_TOML = """
[ais]
mode = "backtest"
symbols = ["ETH/BTC", "LTC/BTC", "XMR/BTC", "ZEC/BTC", "DASH/BTC", "ETC/BTC", "ADA/BTC", "XLM/BTC", "TRX/BTC"]

[store]
path = "{store}"

[portfolio]
initial_cash = 1.0
quote_currency = "BTC"
target_weight = 0.10
max_weight = 0.15

[data.market]
plugin = "replay"
bundled = "binance-5m-2018-01"

[agents.fast_momentum]
plugin = "momentum"
fast = 12
slow = 48

[agents.slow_momentum]
plugin = "momentum"
weight = 0.6
fast = 36
slow = 144

[arbitration.weighted]
min_confidence = 0.05

[guards.daily_loss]
max_daily_loss = 0.05
[guards.max_drawdown]
max_drawdown = 0.12
action = "reduce"
[guards.max_leverage]
max_leverage = 1.0
[guards.max_position_weight]
max_weight = 0.15
[guards.min_liquidity]
max_volume_share = 0.05
[guards.max_order_notional]
max_notional = 0.12
[guards.order_rate]
max_orders = 6
per_seconds = 3600

[exchanges.paper]
balances = {{ BTC = 1.0 }}
fee_bps = 10
slippage_bps = 5
max_volume_share = 0.1
"""


# -- children (each figure comes from a fresh process) ------------------------------------------------


def cross_host(config: str) -> Any:
    """The plugins ``config`` enables plus an agent that trades every cross like the peers do: LONG on
    a golden cross, SHORT on a death cross, confidence 1 (so the allocator's quantity is
    ``floor(0.5 x NAV / close)`` units, as the peers size); the first defined view does not trade."""
    from ais import Plugin, PluginConfig, hookimpl
    from ais.config.loader import load_config
    from ais.domain.signals import Direction, Signal
    from ais.indicators import RollingMean
    from ais.plugins.host import PluginHost
    from ais.testing.fakes import loaded  # not ais.testing: that imports pytest

    class CrossAgent(Plugin[PluginConfig]):
        def __init__(self) -> None:
            super().__init__("cross", PluginConfig())
            self.fast, self.slow, self.view = RollingMean(FAST), RollingMean(SLOW), 0

        @hookimpl
        def ais_agent_signals(self, snapshot: Any, context: Any) -> list[Any]:
            out = []
            for symbol, bar in snapshot.candles.items():
                fast, slow = self.fast.push(bar.close), self.slow.push(bar.close)
                if not self.slow.full:
                    continue
                previous = self.view
                self.view = 1 if fast > slow else -1 if fast < slow else previous
                if previous and self.view != previous:
                    direction = Direction.LONG if self.view > 0 else Direction.SHORT
                    out.append(Signal(symbol, direction, 1.0, 0.01, 3600, 1.0, "cross", snapshot.ts))
            return out

    host = PluginHost.from_config(load_config(config))
    host.register(loaded(CrossAgent(), "agents", name="cross"))
    return host


def ais_child(config: str, store: str, cross: bool = False) -> None:
    """``run_backtest`` in-process: set-up (config, plugins, data) and run (cycles, trades, metrics)."""
    start = now()
    from ais.backtest import run_backtest

    marks: list[float] = []
    host = cross_host(config) if cross else None
    result = run_backtest(config, store=store, host=host, before=lambda run: marks.append(now()))
    end = now()
    print(
        json.dumps(
            {
                "setup_s": marks[0] - start,
                "run_s": end - marks[0],
                "bars": result.summary["cycles"],
                "trades": len(result.trades),
                "orders": result.summary["orders"],
                "rejections": result.summary["rejections"],
                "final_equity": result.summary["final_equity"],
                "rss_mb": peak_rss_mb(),
            }
        )
    )


def ais_profile(config: str, store: str) -> None:
    import cProfile
    import pstats

    from ais.backtest import run_backtest

    profile = cProfile.Profile()
    profile.enable()
    run_backtest(config, store=store)
    profile.disable()
    stats = pstats.Stats(profile)
    for key in ("cumulative", "tottime"):
        print(f"\n-- AIS under cProfile, top 15 by {key} --")
        stats.sort_stats(key).print_stats(15)


def _frame(csv_path: str) -> Any:
    import pandas as pd

    frame = pd.read_csv(csv_path)
    frame.index = pd.to_datetime(frame.pop("timestamp"), unit="ms")
    frame.columns = ["Open", "High", "Low", "Close", "Volume"]
    return frame


def backtesting_child(csv_path: str) -> None:
    import warnings

    start = now()
    import pandas as pd
    from backtesting import Backtest, Strategy

    frame = _frame(csv_path)

    def sma(values: Any, n: int) -> Any:
        return pd.Series(values).rolling(n).mean().to_numpy()

    class SmaCross(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.fast = self.I(sma, self.data.Close, FAST)
            self.slow = self.I(sma, self.data.Close, SLOW)
            self.view = 0
            self.started = False

        def next(self) -> None:
            if not self.started:  # first call at bar `slow`: bar `slow - 1` sets the first view
                self.started = True
                fast, slow = self.fast[-2], self.slow[-2]
                self.view = 1 if fast > slow else -1 if fast < slow else 0
            fast, slow = self.fast[-1], self.slow[-1]
            previous = self.view
            self.view = 1 if fast > slow else -1 if fast < slow else previous
            if previous == 0 or self.view == previous:
                return
            delta = self.view * int(WEIGHT * self.equity / self.data.Close[-1]) - self.position.size
            if delta > 0:
                self.buy(size=delta)
            elif delta < 0:
                self.sell(size=-delta)

    loaded = now()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = Backtest(frame, SmaCross, cash=CASH, commission=0.0, finalize_trades=False).run()
    end = now()
    print(
        json.dumps(
            {
                "setup_s": loaded - start,
                "run_s": end - loaded,
                "bars": len(frame),
                "trades": int(stats["# Trades"]) + len(stats._strategy.trades),
                "final_equity": float(stats["Equity Final [$]"]),
                "rss_mb": peak_rss_mb(),
            }
        )
    )


def backtrader_child(csv_path: str) -> None:
    start = now()
    import backtrader as bt

    frame = _frame(csv_path)

    class SmaCross(bt.Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            self.cross = bt.ind.CrossOver(bt.ind.SMA(period=FAST), bt.ind.SMA(period=SLOW))
            self.trades = 0

        def notify_trade(self, trade: Any) -> None:
            if trade.justopened:
                self.trades += 1

        def next(self) -> None:
            cross = self.cross[0]
            if cross:
                units = int(WEIGHT * self.broker.getvalue() / self.data.close[0])
                self.order_target_size(target=units if cross > 0 else -units)

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.addstrategy(SmaCross)
    cerebro.broker.setcash(CASH)
    cerebro.broker.setcommission(commission=0.0)
    loaded = now()
    strategy = cerebro.run()[0]
    end = now()
    print(
        json.dumps(
            {
                "setup_s": loaded - start,
                "run_s": end - loaded,
                "bars": len(frame),
                "trades": strategy.trades,
                "final_equity": cerebro.broker.getvalue(),
                "rss_mb": peak_rss_mb(),
            }
        )
    )


# -- the parent ---------------------------------------------------------------------------------------


Row = tuple[dict[str, Any] | None, float, float, str]


def spawn(args: list[str], folder: Path, cache: Path | None = None) -> Row:
    """Run ``args``; returns (its last stdout line as JSON or None, wall s, peak RSS MB, stderr tail).
    ``cache``: the replay plugin's column cache folder; default a new empty one (a cold start, parsing
    the CSV like the peers do)."""
    out, err = folder / "child.out", folder / "child.err"
    if cache is None:
        cache = Path(tempfile.mkdtemp(dir=folder, prefix="cache-"))
    with out.open("w") as stdout, err.open("w") as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(args, stdout=stdout, stderr=stderr, env=_env(cache))
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    lines = out.read_text().strip().splitlines()
    tail = " | ".join(err.read_text().strip().splitlines()[-3:])
    data = None
    if proc.returncode == 0 and lines:
        try:
            data = json.loads(lines[-1]) if lines[-1].startswith("{") else json.loads(out.read_text())
        except json.JSONDecodeError:
            data = {}
    elif proc.returncode != 0:
        tail = f"exit {proc.returncode}: {tail}"
    return data, wall, usage.ru_maxrss / 1024, tail


def _env(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("AIS_RISK_HMAC_SECRET", None)  # a backtest needs none
    # bytecode is written (by the warm-up) and reused, as in a usual environment: with
    # PYTHONDONTWRITEBYTECODE every run of every engine would compile its modules again
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["AIS_CACHE_DIR"] = str(cache)
    return env


def has(module: str) -> bool:
    """Whether ``module`` is installed, without importing it: the parent stays small, since a child
    starts with the parent's peak RSS as its own (Linux keeps the high-water mark across exec)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


def warm_up(folder: Path, me: list[str], cli: bool, cross_config: Path) -> None:
    """Each engine once on a small market first, untimed: every module is compiled to bytecode (a
    fresh venv has none) and in the file cache, so no timed run pays a first-run cost the next run
    would not."""
    small = write_market(folder / "warm.csv", 3_000)
    config = folder / "warm.toml"
    config.write_text(cross_config.read_text().replace(str(folder / "syn.csv"), str(small)))
    if cli:
        store = str(folder / "warm-cli.sqlite")
        spawn([AIS, "backtest", "--config", str(config), "--store", store, "--json"], folder)
    spawn([*me, "--ais-cross-child", str(config), str(folder / "warm.sqlite")], folder)
    for module, flag in (("backtesting", "--backtesting-child"), ("backtrader", "--backtrader-child")):
        if has(module) and has("pandas"):
            spawn([*me, flag, str(small)], folder)


#: timed runs of each engine; the fastest counts (noise only ever slows a run down)
REPEAT = int(os.environ.get("AIS_BENCH_REPEAT", "3"))


def fastest_of_rounds(runners: dict[str, Callable[[int], Row]]) -> dict[str, Row]:
    """The fastest (process wall) of ``REPEAT`` runs of each engine, the engines taking turns (round
    ``k`` runs each once, ``run(k)`` on its own files): a machine whose speed drifts during the bench
    then slows every engine alike, rather than whichever ran during a slow spell. An engine's last row
    if none of its runs succeeded."""
    done: dict[str, list[Row]] = {name: [] for name in runners}
    for k in range(REPEAT):
        for name, run in runners.items():
            done[name].append(run(k))
    rows = {}
    for name, runs in done.items():
        ok = [row for row in runs if row[0] is not None]
        rows[name] = min(ok, key=lambda row: row[1]) if ok else runs[-1]
    return rows


def rate(bars: int, seconds: float) -> str:
    return f"{bars / seconds:>12,.0f} bars/s"


def main() -> None:
    argv = [a for a in sys.argv[1:] if not a.startswith("-")]
    bars = int(argv[0]) if argv and argv[0].isdigit() else 500_000
    profile = "--profile" in sys.argv or os.environ.get("AIS_BENCH_PROFILE") == "1"
    cli = has("ais.cli.backtest_cmd")
    header(f"backtest vs peers: {bars:,} one-minute bars, one symbol, SMA({FAST}/{SLOW})")
    print("AIS: every standard guard, risk tokens signed and verified, paper venue, event store on.\n"
          "  momentum = the `momentum` agent (fast 10, slow 50): trades the crosses its record backs;\n"
          "  crossover = a bench-local agent trading every cross, sized like the peers (same trades).",
          flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        market = write_market(folder / "syn.csv", bars)
        config = folder / "ais.toml"
        fields = {"store": folder / "ev.sqlite", "market": market, "cash": CASH}
        # momentum sizes by its confidence: a fine lot, so small targets still trade; the crossover
        # agent sizes in whole units like the peers
        config.write_text(SYNTHETIC_TOML.format(agents=MOMENTUM, lot=0.001, **fields))
        cross_config = folder / "cross.toml"
        cross_config.write_text(SYNTHETIC_TOML.format(agents="", lot=1.0, **fields))
        me = [sys.executable, __file__]
        warm_up(folder, me, cli, cross_config)
        runners: dict[str, Callable[[int], Row]] = {}
        ours = ["AIS momentum, CLI", "AIS momentum", "AIS crossover"]
        if cli:

            def ais_backtest(store: str, cache: Path | None = None) -> Row:
                cmd = [AIS, "backtest", "--config", str(config), "--store", store, "--json"]
                return spawn(cmd, folder, cache)

            # each run with a new, empty column cache: it parses the CSV like the peers do
            runners["AIS momentum, CLI"] = lambda k: ais_backtest(str(folder / f"cli-{k}.sqlite"))
            # with the column cache a first run left: every backtest of a sweep after the first
            warm = folder / "cache-warm"
            ais_backtest(str(folder / "cli-cold.sqlite"), warm)
            runners["AIS CLI, cache warm"] = lambda k: ais_backtest(
                str(folder / f"cli-warm-{k}.sqlite"), warm
            )
            ours.insert(1, "AIS CLI, cache warm")
        runners["AIS momentum"] = lambda k: spawn(
            [*me, "--ais-child", str(config), str(folder / f"rb-{k}.sqlite")], folder
        )
        cross = [*me, "--ais-cross-child", str(cross_config)]
        runners["AIS crossover"] = lambda k: spawn([*cross, str(folder / f"x-{k}.sqlite")], folder)
        skipped: dict[str, Row] = {}
        for name, module, flag in (
            ("backtesting.py", "backtesting", "--backtesting-child"),
            ("backtrader", "backtrader", "--backtrader-child"),
        ):
            if has(module) and has("pandas"):
                command = [*me, flag, str(market)]
                runners[name] = lambda k, command=command: spawn(command, folder)
            else:
                skipped[name] = (None, 0.0, 0.0, f"not installed ({module}, pandas): skipped")
        rows = fastest_of_rounds(runners) | skipped

        print(f"\n{'engine':<19} {'process wall':>27} {'run only (data loaded)':>29} {'peak RSS':>10}"
              f" {'trades':>7}  final equity")
        for name, (data, wall, rss, tail) in rows.items():
            if data is None:
                print(f"{name:<19} {tail}")
                continue
            run_only = f"{rate(bars, data['run_s'])} {data['run_s']:6.2f} s" if "run_s" in data else "-"
            metrics = data.get("metrics", {})
            trades = data.get("trades", metrics.get("trades", 0) + metrics.get("open_trades", 0))
            equity = data.get("final_equity", metrics.get("final_equity"))
            shown = f"{equity:,.2f}" if isinstance(equity, float) else "?"
            print(f"{name:<19} {rate(bars, wall)} {wall:6.2f} s {run_only:>29} {rss:7.1f} MB "
                  f"{trades:>7}  {shown}")

        print()
        for ais in ours:
            mine = rows.get(ais)
            if mine is None or mine[0] is None:
                continue
            for peer, target in (("backtesting.py", 1.0), ("backtrader", 10.0)):
                theirs = rows[peer]
                if theirs[0] is None:
                    continue
                line = f"{ais:<19} / {peer:<15} {theirs[1] / mine[1]:6.2f}x process wall"
                if "run_s" in mine[0]:
                    line += f", {theirs[0]['run_s'] / mine[0]['run_s']:6.2f}x run only"
                print(f"{line}  (target >= {target:.1f}x)")
        for ais in ours:
            if ais in rows and rows[ais][0] is not None:
                print(f"{ais:<18} peak RSS {rows[ais][2]:7.1f} MB  (target <= 200 MB)")
        same = rows["AIS crossover"][0], rows["backtesting.py"][0]
        if same[0] is not None and same[1] is not None:
            agree = same[0]["trades"] == same[1]["trades"] and abs(
                same[0]["final_equity"] / same[1]["final_equity"] - 1.0
            ) < 1e-6
            verdict = "yes" if agree else "NO"
            print(f"AIS crossover and backtesting.py: same trade count and final equity: {verdict}")

        bundled = folder / "bundled.toml"
        bundled.write_text(BUNDLED_TOML.format(store=folder / "bundled.sqlite"))
        header("bundled market: 9 symbols x 20 days of 5-minute bars, two momentum agents, all guards")
        if cli:
            store = folder / "b-cli.sqlite"
            cmd = [AIS, "backtest", "--config", str(bundled), "--store", str(store), "--json"]
            data, wall, rss, tail = spawn(cmd, folder)
            print(f"{'ais backtest, process wall':<40} {wall:8.2f} s  peak RSS {rss:.1f} MB  (target < 5 s)"
                  f" {tail}")
        data, wall, rss, tail = spawn([*me, "--ais-child", str(bundled), str(folder / "b-rb.sqlite")], folder)
        if data is not None:
            print(f"{'run_backtest, process wall':<40} {wall:8.2f} s  peak RSS {rss:.1f} MB  (target < 5 s)")
            print(f"{'  of which set-up / run':<40} {data['setup_s']:8.2f} s / {data['run_s']:.2f} s "
                  f"({data['bars']:,} cycles x 9 symbols, {data['trades']} trades)")
        else:
            print(f"run_backtest failed: {tail}")

        if profile:
            subprocess.run([*me, "--ais-profile", str(config), str(folder / "prof.sqlite")], check=False)


if __name__ == "__main__":
    if "--ais-child" in sys.argv:
        ais_child(sys.argv[-2], sys.argv[-1])
    elif "--ais-cross-child" in sys.argv:
        ais_child(sys.argv[-2], sys.argv[-1], cross=True)
    elif "--ais-profile" in sys.argv:
        ais_profile(sys.argv[-2], sys.argv[-1])
    elif "--backtesting-child" in sys.argv:
        backtesting_child(sys.argv[-1])
    elif "--backtrader-child" in sys.argv:
        backtrader_child(sys.argv[-1])
    else:
        main()
