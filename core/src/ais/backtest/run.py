"""``run_backtest``: a run in ``backtest`` mode (the same pipeline as paper and live: risk tokens
with a per-run key, OMS, event store) with its equity curve recorded, then measured."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ais.backtest.equity import EquityCurve, EquityRecorder
from ais.backtest.metrics import attribution, compute_metrics, monthly_returns
from ais.backtest.trades import Trade, TradeBook, trades_from_events
from ais.store.events import EventStore

if TYPE_CHECKING:
    from ais.plugins.host import PluginHost


@dataclass
class BacktestResult:
    """What a backtest produced. ``as_dict`` is what ``ais backtest --json`` prints."""

    summary: dict[str, Any]
    metrics: dict[str, Any]
    by_agent: dict[str, dict[str, Any]]
    by_symbol: dict[str, dict[str, Any]]
    monthly: dict[str, float]
    trades: list[Trade]
    curve: EquityCurve
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. "monte_carlo"

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.summary["run_id"],
            "store": self.summary["store"],
            "end_reason": self.summary["end_reason"],
            "risk_state": self.summary["risk_state"],
            "metrics": self.metrics,
            "by_agent": self.by_agent,
            "by_symbol": self.by_symbol,
            "monthly_returns": self.monthly,
            "counts": {
                k: self.summary[k]
                for k in ("cycles", "signals", "decisions", "orders", "fills", "agent_errors")
            },
            **self.extra,
        }


def run_backtest(
    config: str | None = None,
    *,
    store: str | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
    warmup_from_ms: int | None = None,
    overrides: dict[str, Any] | None = None,
    host: PluginHost | None = None,
    on_cycle: Callable[[int, int], None] | None = None,
    before: Callable[[Any], None] | None = None,
    closes: bool = True,
) -> BacktestResult:
    """Run ``config`` as a backtest over the bars closing in [``start_ms``, ``end_ms``] and measure it.

    ``before(run)`` is called with the wired ``Run`` before it starts (the CLI sizes its progress
    bar there). ``closes``: record every bar's closes in ``curve.closes`` (the report draws the trades
    on them; nothing else needs them)."""
    from ais.engine.runner import Run, RunOptions

    run = Run(
        RunOptions(
            config=config,
            store=store,
            mode="backtest",
            overrides=dict(overrides or {}),
            start_ms=start_ms,
            end_ms=end_ms,
            warmup_from_ms=warmup_from_ms,
        ),
        host=host,
    )
    recorder = EquityRecorder(run.ledger, run.coordinator, run.config.portfolio.initial_cash, closes)
    run.on_bar = recorder.record
    book = TradeBook()
    run.on_record = book.record
    if before is not None:
        before(run)
    summary = run.execute(on_cycle)
    curve = recorder.curve
    curve.initial = run.initial_equity
    # trades still open are marked where the NAV is: the ledger's last price, at the end of the run
    end = curve.ts[-1] if len(curve.ts) else 0
    last_prices = {symbol: (end, price) for symbol, price in run.ledger.prices.items()}
    trades = book.trades(last_prices)
    metrics = compute_metrics(
        curve,
        trades,
        fees=run.ledger.fees,
        traded_notional=run.ledger.traded_notional,
        rejections=summary["rejections"],
    )
    return BacktestResult(
        summary=summary,
        metrics=metrics,
        by_agent=attribution(trades, "agent"),
        by_symbol=attribution(trades, "symbol"),
        monthly=monthly_returns(curve),
        trades=trades,
        curve=curve,
    )


def read_trades(path: Path, run_id: str, last_prices: dict[str, tuple[int, float]]) -> list[Trade]:
    """The round trips of ``run_id`` in the store at ``path``."""
    store = EventStore(path)
    try:
        events = store.events(types=("order.intent", "order.fill"), run_id=run_id)
        return trades_from_events(events, last_prices)
    finally:
        store.close()
