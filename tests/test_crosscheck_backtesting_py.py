"""Correctness against a peer: the same moving-average crossover, on the same real candles, in AIS and
in backtesting.py gives the same trades (entry and exit bar, entry and exit price, size) and the same
equity, bar by bar and at the end (final equity to 1e-6 relative; in practice they agree to ~1e-12).

The strategy, on both sides: SMA(fast) and SMA(slow) of the closes; the *view* is long while
SMA_fast > SMA_slow and short while SMA_fast < SMA_slow (an exact tie keeps the previous view). The
first defined view only sets the state; every later change of view is a cross: golden -> target
``+floor(w × equity / close)`` units, death -> ``-floor(w × equity / close)`` units, decided on the
close of bar t, filled at the open of bar t+1 with no fee and no slippage. From a long position a
death cross is one order (sell what is held plus the new short), as from a short a golden cross.

AIS runs the whole pipeline (replay data -> a test-local agent plugin -> weighted arbitration ->
allocator -> risk engine with its per-run key -> OMS -> paper venue -> ledger -> event store); the
agent says LONG/SHORT with confidence 1, and ``target_weight = max_weight = w`` with the paper venue's
``lot_size = 1`` make the allocator's quantity ``floor(w × NAV / close)`` whole units, NAV marked at
the close of bar t. backtesting.py sizes in whole units: its Strategy computes the same target from
``self.equity`` (marked at the same close) and orders ``target - position``.

Where the two differ by design, and how this test lines them up:

- Time stamps: AIS stamps a fill with its cycle's time, the *close* time of the bar whose open it
  filled at; backtesting.py labels a trade with that bar's index (its open time here). Trades are
  compared by bar index.
- Liquidity: the paper venue fills at most ``max_volume_share × volume`` of a bar (the rest waits);
  backtesting.py assumes unlimited liquidity. The test sets ``max_volume_share = 1`` and sizes well
  below the smallest bar volume of the pair, and checks every order filled whole in one bar.
- Margin: backtesting.py cancels an order bigger than the cash available at the fill price; AIS lets
  cash go negative (leverage is the guards' business). Weights < 1 keep both away from that edge.
- Lot rounding: the allocator floors ``|target - held| / lot`` with a 1e-9 tolerance (2.9999999999
  lots count as 3), backtesting.py's ``int()`` does not; with whole-unit positions the two only
  differ when ``w × equity / close`` lands within 1e-9 of an integer.
- Warm-up: backtesting.py calls ``next()`` from bar ``slow`` on (two defined values); AIS agents see
  every bar. The first defined view never trades on either side, so trading starts at the first cross.
- End of data: backtesting.py leaves a trade still open out of ``stats._trades`` (or, with
  ``finalize_trades``, closes it at the last bar's open); AIS reports it ``open`` and marked at the
  last close. The open trade's entry is compared, and both equities mark it at the last close.
- Bar gaps (missing candles) are invisible to both: with one symbol the replayed clock steps from
  bar to bar as backtesting.py steps along its rows, and the test agent does not reset on gaps.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ais import Plugin, PluginConfig, hookimpl
from ais.backtest import BacktestResult, run_backtest
from ais.config.loader import load_config
from ais.context import AgentContext
from ais.domain.market import Candle, MarketSnapshot
from ais.domain.signals import Direction, Signal
from ais.indicators import RollingMean
from ais.plugins.host import PluginHost
from ais.testing import loaded, read_candles

backtesting = pytest.importorskip(
    "backtesting",
    reason="backtesting.py is not installed: the cross-check needs `backtesting` and `pandas` (test deps)",
)
pd = pytest.importorskip("pandas", reason="pandas is not installed (backtesting.py needs it)")

FAST, SLOW = 10, 50


@dataclass(frozen=True)
class Case:
    file: str  # under shared/data/binance-5m-2018-01
    symbol: str
    cash: float  # quote units (BTC)
    weight: float


CASES = [
    Case("ETH_BTC.csv", "ETH/BTC", cash=2.0, weight=0.5),  # ~10 ETH a trade; smallest 5m bar: 11 ETH
    Case("ADA_BTC.csv", "ADA/BTC", cash=0.05, weight=0.8),  # ~700 ADA; smallest bar 1,134 ADA; 5 gaps
]


# -- the AIS side ------------------------------------------------------------------------------------


class CrossAgent(Plugin[PluginConfig]):
    """LONG on a golden cross, SHORT on a death cross, confidence 1; nothing on the first view."""

    def __init__(self, name: str, fast: int, slow: int) -> None:
        super().__init__(name, PluginConfig())
        self._fast: dict[str, RollingMean] = {}
        self._slow: dict[str, RollingMean] = {}
        self._view: dict[str, int] = {}
        self._sizes = (fast, slow)

    @hookimpl
    def ais_agent_signals(self, snapshot: MarketSnapshot, context: AgentContext) -> Sequence[Signal]:
        out: list[Signal] = []
        for symbol, bar in snapshot.candles.items():
            signal = self._update(symbol, bar, snapshot.ts)
            if signal is not None:
                out.append(signal)
        return out

    def _update(self, symbol: str, bar: Candle, now: int) -> Signal | None:
        fast_w = self._fast.get(symbol)
        slow_w = self._slow.get(symbol)
        if fast_w is None or slow_w is None:
            fast_w = self._fast[symbol] = RollingMean(self._sizes[0])
            slow_w = self._slow[symbol] = RollingMean(self._sizes[1])
        fast = fast_w.push(bar.close)
        slow = slow_w.push(bar.close)
        if not slow_w.full:
            return None
        previous = self._view.get(symbol, 0)
        view = 1 if fast > slow else -1 if fast < slow else previous
        self._view[symbol] = view
        if previous == 0 or view == previous:
            return None
        return Signal(
            symbol=symbol,
            direction=Direction.LONG if view > 0 else Direction.SHORT,
            confidence=1.0,
            expected_return=0.01,
            horizon_s=3600,
            liquidity=1.0,
            rationale=f"SMA{self._sizes[0]} {fast:.8g} vs SMA{self._sizes[1]} {slow:.8g}",
            ts=now,
        )


AIS_TOML = """
[ais]
mode = "backtest"
symbols = ["{symbol}"]

[store]
path = "{store}"

[portfolio]
initial_cash = {cash}
quote_currency = "BTC"
target_weight = {weight}
max_weight = {weight}

[data.market]
plugin = "replay"
files = {{ "{symbol}" = "{market}" }}

[arbitration.weighted]

[exchanges.paper]
balances = {{ BTC = {cash} }}
fee_bps = 0
slippage_bps = 0
max_volume_share = 1.0
lot_size = 1.0
min_notional = 0.0
"""


def run_ais(case: Case, market: Path, tmp_path: Path) -> BacktestResult:
    store = tmp_path / "events.sqlite"
    config = tmp_path / "ais.toml"
    config.write_text(
        AIS_TOML.format(symbol=case.symbol, store=store, cash=case.cash, weight=case.weight, market=market)
    )
    host = PluginHost.from_config(load_config(config))
    host.register(loaded(CrossAgent("cross", FAST, SLOW), "agents", name="cross"))
    return run_backtest(str(config), store=str(store), host=host)


# -- the backtesting.py side --------------------------------------------------------------------------


def _sma(values: Any, n: int) -> Any:
    return pd.Series(values).rolling(n).mean().to_numpy()


def make_strategy(weight: float) -> type:
    class SmaCross(backtesting.Strategy):  # type: ignore[misc,name-defined]
        def init(self) -> None:
            self.fast = self.I(_sma, self.data.Close, FAST)
            self.slow = self.I(_sma, self.data.Close, SLOW)
            self.view = 0
            self.started = False

        def _view(self, fast: float, slow: float, previous: int) -> int:
            return 1 if fast > slow else -1 if fast < slow else previous

        def next(self) -> None:
            if not self.started:  # the first call is at bar `slow`: bar `slow - 1` set the first view
                self.started = True
                self.view = self._view(self.fast[-2], self.slow[-2], 0)
            previous = self.view
            self.view = self._view(self.fast[-1], self.slow[-1], previous)
            if previous == 0 or self.view == previous:
                return
            units = int(weight * self.equity / self.data.Close[-1])
            delta = self.view * units - self.position.size
            if delta > 0:
                self.buy(size=delta)
            elif delta < 0:
                self.sell(size=-delta)

    return SmaCross


def run_peer(case: Case, candles: list[Candle]) -> tuple[Any, Any]:
    frame = pd.DataFrame(
        {
            "Open": [c.open for c in candles],
            "High": [c.high for c in candles],
            "Low": [c.low for c in candles],
            "Close": [c.close for c in candles],
            "Volume": [c.volume for c in candles],
        },
        index=pd.to_datetime([c.ts for c in candles], unit="ms"),
    )
    test = backtesting.Backtest(
        frame,
        make_strategy(case.weight),
        cash=case.cash,
        commission=0.0,
        spread=0.0,
        margin=1.0,
        trade_on_close=False,
        hedging=False,
        exclusive_orders=False,
        finalize_trades=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "some trades remain open" and its progress-bar chatter
        stats = test.run()
    return stats, stats._strategy


# -- the comparison ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    entry_bar: int
    exit_bar: int | None  # None: still open at the end
    size: float  # signed units
    entry_price: float
    exit_price: float | None


def close(a: float, b: float, rel: float = 1e-12) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=0.0)


@pytest.fixture(params=CASES, ids=[c.symbol for c in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    return request.param  # type: ignore[no-any-return]


def test_same_trades_and_equity_as_backtesting_py(case: Case, shared_data: Path, tmp_path: Path) -> None:
    market = shared_data / "binance-5m-2018-01" / case.file
    candles = read_candles(market)
    bar_ms = candles[1].ts - candles[0].ts
    index_of_close = {c.ts + bar_ms: i for i, c in enumerate(candles)}  # AIS cycle time -> bar index

    result = run_ais(case, market, tmp_path)
    stats, strategy = run_peer(case, candles)

    # AIS: every order filled whole, in one bar (no partial fill from the volume cap), nothing refused
    summary = result.summary
    assert summary["rejections"] == {}
    assert summary["fills"] == summary["orders"] > 20

    ais_rows = [
        Row(
            index_of_close[t.entry_ts],
            None if t.open else index_of_close[t.exit_ts],
            t.direction * t.quantity,
            t.entry_price,
            None if t.open else t.exit_price,
        )
        for t in result.trades
    ]
    peer_rows = [
        Row(int(r.EntryBar), int(r.ExitBar), float(r.Size), float(r.EntryPrice), float(r.ExitPrice))
        for r in stats._trades.itertuples()
    ] + [Row(int(t.entry_bar), None, float(t.size), float(t.entry_price), None) for t in strategy.trades]
    assert len(ais_rows) == len(peer_rows), (len(ais_rows), len(peer_rows))
    for n, (ours, theirs) in enumerate(zip(ais_rows, peer_rows, strict=True)):
        same = (
            ours.entry_bar == theirs.entry_bar
            and ours.exit_bar == theirs.exit_bar
            and ours.size == theirs.size
            and close(ours.entry_price, theirs.entry_price)
            and (ours.exit_price is None) == (theirs.exit_price is None)
            and (ours.exit_price is None or close(ours.exit_price, theirs.exit_price or 0.0))
        )
        assert same, f"trade {n}: AIS {ours} != backtesting.py {theirs}"
        # the fill rule itself: a trade enters at the open of the bar after the decision
        assert close(ours.entry_price, candles[ours.entry_bar].open)

    # AIS marks a trade still open at the last close
    for t in result.trades:
        if t.open:
            assert t.exit_price == candles[-1].close

    # equity: at the end to 1e-6 (the bar), and bar by bar from the peer's first bar
    final_ais = summary["final_equity"]
    final_peer = float(stats["Equity Final [$]"])
    assert math.isclose(final_ais, final_peer, rel_tol=1e-6), (final_ais, final_peer)
    peer_curve = stats._equity_curve["Equity"].to_numpy()
    nav = result.curve.nav
    assert len(nav) == len(candles) == len(peer_curve)
    start = SLOW  # backtesting.py's first bar with a strategy call
    worst = max(abs(nav[i] / peer_curve[i] - 1.0) for i in range(start, len(candles)))
    assert worst < 1e-9, f"equity curves differ by up to {worst:.3g} (relative)"
    # and the P&L of each closed trade
    closed_ais = [t.pnl for t in result.trades if not t.open]
    closed_peer = [float(p) for p in stats._trades["PnL"]]
    for a, b in zip(closed_ais, closed_peer, strict=True):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12 * case.cash), (a, b)
