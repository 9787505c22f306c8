"""Research over many backtests: parameter sweeps and walk-forward analysis.

The parameters come from ``[research.params]`` in ais.toml (dotted instance keys → values to try);
each backtest is a task for an executor (``ais.backtest.executors``), so the same sweep runs on a
local process pool or on a cluster. Tasks are plain picklable values; each writes its own store.
"""

from __future__ import annotations

import itertools
import random
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ais.backtest.equity import EquityCurve
from ais.backtest.executors import Executor
from ais.backtest.metrics import attribution, compute_metrics
from ais.backtest.trades import Trade
from ais.config.loader import load_config
from ais.config.models import ResearchSection
from ais.errors import UsageError

DAY_MS = 86_400_000

#: metrics a sweep can rank by; for these lower is better, for every other one higher is better
RANKABLE = (
    "total_return", "cagr", "sharpe", "sortino", "calmar", "win_rate", "profit_factor", "average_trade",
    "average_trade_return", "max_drawdown", "max_drawdown_duration_days", "volatility", "fees", "trades",
)
LOWER_IS_BETTER = frozenset({"max_drawdown", "max_drawdown_duration_days", "volatility", "fees"})


def check_metric(name: str) -> str:
    if name not in RANKABLE:
        raise UsageError(f"unknown metric {name!r} (one of: {', '.join(RANKABLE)})")
    return name


def rank_key(metric: str) -> Callable[[dict[str, Any]], tuple[int, float]]:
    """Sort key putting the best ``metrics[metric]`` first and undefined values last."""
    sign = 1.0 if metric in LOWER_IS_BETTER else -1.0

    def key(metrics: dict[str, Any]) -> tuple[int, float]:
        value = metrics.get(metric)
        return (1, 0.0) if value is None else (0, sign * float(value))

    return key


def parameter_sets(research: ResearchSection) -> list[dict[str, Any]]:
    """Every combination of ``[research.params]`` (``search = "grid"``), or ``samples`` of them drawn
    without repetition with ``seed`` (``"random"``). No parameters: one empty set (the config as is)."""
    keys = list(research.params)
    grid = [dict(zip(keys, values, strict=True)) for values in itertools.product(*research.params.values())]
    if research.search == "random" and research.samples < len(grid):
        picked = sorted(random.Random(research.seed).sample(range(len(grid)), research.samples))
        grid = [grid[i] for i in picked]
    return grid


@dataclass(frozen=True)
class Task:
    """One backtest: the config file, the parameters set on top of it and the window (ms)."""

    config: str
    params: dict[str, Any]
    store: str | None  # None: a temporary store on the machine that runs the task, removed after
    start_ms: int | None = None
    end_ms: int | None = None
    warmup_from_ms: int | None = None
    keep_curve: bool = False


@dataclass
class Outcome:
    params: dict[str, Any]
    metrics: dict[str, Any]
    run_id: str
    store: str
    curve: EquityCurve | None = None
    trades: list[Trade] = field(default_factory=list)


def run_task(task: Task) -> Outcome:
    """Run one task (in a worker process or on a cluster node)."""
    from ais.backtest.run import run_backtest

    if task.store is None:
        with tempfile.TemporaryDirectory(prefix="ais-task-") as folder:
            return run_task(replace(task, store=str(Path(folder) / "events.sqlite")))
    result = run_backtest(
        task.config,
        store=task.store,
        start_ms=task.start_ms,
        end_ms=task.end_ms,
        warmup_from_ms=task.warmup_from_ms,
        overrides=task.params,
        closes=False,  # only the report draws closes; research keeps metrics and the NAV curve
    )
    return Outcome(
        params=task.params,
        metrics=result.metrics,
        run_id=result.summary["run_id"],
        store=task.store,
        curve=result.curve if task.keep_curve else None,
        trades=result.trades if task.keep_curve else [],
    )


def timeline_span(config: str, overrides: dict[str, Any] | None = None) -> tuple[int, int]:
    """(first, last) bar close times (ms) the configured data providers replay."""
    from ais.plugins.host import PluginHost

    loaded = load_config(config, overrides)
    host = PluginHost.from_config(loaded)
    host.raise_failures()
    if not host.has_timeline():
        raise UsageError("research needs a replayed market (a data provider with a timeline)")
    first = host.next_time(-1)
    if first is None:
        raise UsageError("the data providers have no bars")
    last = now = first
    while (now := host.next_time(now)) is not None:  # type: ignore[assignment]
        last = now
    return first, last


class _Stores:
    """Where each task's event store goes: a file in ``store_dir`` (kept; on a cluster, a folder every
    worker can write), else ``None``: a temporary store wherever the task runs, removed after it."""

    def __init__(self, store_dir: str | None) -> None:
        self.root = Path(store_dir).resolve() if store_dir is not None else None
        if self.root is not None:
            self.root.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> str | None:
        return str(self.root / f"{name}.sqlite") if self.root is not None else None


def sweep(
    config: str,
    executor: Executor,
    *,
    metric: str | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
    store_dir: str | None = None,
    on_result: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Every parameter set of ``[research]`` as one backtest; rows best first by ``metric``."""
    loaded = load_config(config)
    research = loaded.research
    metric = check_metric(metric or research.metric)
    sets = parameter_sets(research)
    stores = _Stores(store_dir)
    tasks = [
        Task(str(Path(config).resolve()), params, stores.path(f"sweep-{i:04d}"), start_ms, end_ms)
        for i, params in enumerate(sets)
    ]
    outcomes = _collect(executor.map(run_task, tasks), len(tasks), on_result)
    rows: list[dict[str, Any]] = [
        {
            "params": o.params,
            "run_id": o.run_id,
            "store": o.store if store_dir else None,
            "metrics": o.metrics,
        }
        for o in outcomes
    ]
    key = rank_key(metric)
    rows.sort(key=lambda row: key(row["metrics"]))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return {"metric": metric, "search": research.search, "parameters": list(research.params), "rows": rows}


def _collect(
    results: Iterator[Outcome], total: int, on_result: Callable[[int, int], None] | None
) -> list[Outcome]:
    out: list[Outcome] = []
    for outcome in results:
        out.append(outcome)
        if on_result is not None:
            on_result(len(out), total)
    return out


def windows(first: int, last: int, train_ms: int, test_ms: int) -> list[tuple[int, int, int, int]]:
    """Rolling (train_start, train_end, test_start, test_end) close-time windows, ends exclusive: each
    test window follows its training window and the next window starts one test length later."""
    out = []
    start = first
    while start + train_ms <= last:
        test_start = start + train_ms
        out.append((start, test_start, test_start, min(test_start + test_ms, last + 1)))
        start += test_ms
    return out


def walk_forward(
    config: str,
    executor: Executor,
    *,
    metric: str | None = None,
    train_days: float | None = None,
    test_days: float | None = None,
    store_dir: str | None = None,
    on_result: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """For each rolling window: pick the parameter set with the best in-sample ``metric`` on the
    training window, then run it out of sample on the test window (its agents warmed up on the
    training window). The test windows' equity curves are stitched into one out-of-sample curve."""
    loaded = load_config(config)
    research = loaded.research
    metric = check_metric(metric or research.metric)
    train_ms = round((train_days or research.train_days) * DAY_MS)
    test_ms = round((test_days or research.test_days) * DAY_MS)
    if train_ms <= 0 or test_ms <= 0:
        raise UsageError("--train-days and --test-days must be > 0")
    source = str(Path(config).resolve())
    first, last = timeline_span(source)
    spans = windows(first, last, train_ms, test_ms)
    if not spans:
        days = (last - first) / DAY_MS
        raise UsageError(
            f"the data cover {days:.1f} days: too short for a {train_ms / DAY_MS:g}-day training window "
            "and a test window (lower --train-days)"
        )
    sets = parameter_sets(research)
    stores = _Stores(store_dir)
    total = len(spans) * len(sets) + len(spans)
    done = 0

    def progress(n: int, _total: int) -> None:
        if on_result is not None:
            on_result(done + n, total)

    train_tasks = [
        Task(source, params, stores.path(f"wf{w:02d}-train-{i:04d}"), train_start, train_end - 1)
        for w, (train_start, train_end, _, _) in enumerate(spans)
        for i, params in enumerate(sets)
    ]
    trained = _collect(executor.map(run_task, train_tasks), len(train_tasks), progress)
    done = len(train_tasks)
    key = rank_key(metric)
    best: list[Outcome] = []
    for w in range(len(spans)):
        candidates = trained[w * len(sets) : (w + 1) * len(sets)]
        best.append(min(candidates, key=lambda o: key(o.metrics)))  # stable: first of equals wins
    test_tasks = [
        Task(
            source, b.params, stores.path(f"wf{w:02d}-test"), test_start, test_end - 1, train_start, True
        )
        for w, (b, (train_start, _, test_start, test_end)) in enumerate(zip(best, spans, strict=True))
    ]
    tested = _collect(executor.map(run_task, test_tasks), len(test_tasks), progress)
    curve = stitch([o.curve for o in tested if o.curve is not None], loaded.portfolio.initial_cash)
    trades = [t for o in tested for t in o.trades]
    fees = sum(o.metrics["fees"] for o in tested)
    rejections: dict[str, int] = {}
    for o in tested:
        for code, n in o.metrics["rejections"].items():
            rejections[code] = rejections.get(code, 0) + n
    return {
        "metric": metric,
        "train_days": train_ms / DAY_MS,
        "test_days": test_ms / DAY_MS,
        "parameter_sets": len(sets),
        "windows": [
            {
                "train": [_day(a), _day(b)],
                "test": [_day(c), _day(d)],
                "params": b_.params,
                "in_sample": b_.metrics.get(metric),
                "out_of_sample": t.metrics,
            }
            for (a, b, c, d), b_, t in zip(spans, best, tested, strict=True)
        ],
        "out_of_sample": compute_metrics(curve, trades, fees=fees, rejections=rejections),
        "by_agent": attribution(trades, "agent"),
        "curve": curve,
    }


def stitch(curves: Sequence[EquityCurve], initial: float) -> EquityCurve:
    """One curve from consecutive test windows: each window's growth applied to where the previous
    one ended (each window starts from the configured initial cash)."""
    out = EquityCurve(initial)
    level = initial
    for curve in curves:
        scale = level / curve.initial
        out.ts.extend(curve.ts)
        out.nav.extend(v * scale for v in curve.nav)
        out.gross.extend(g * scale for g in curve.gross)
        if len(curve.nav):
            level = out.nav[-1]
    return out


def _day(ts: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y-%m-%d %H:%M")
