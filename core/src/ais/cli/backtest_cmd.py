"""``ais backtest``, ``ais sweep`` and ``ais walk-forward``: the research commands."""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ais.cli.output import print_json, table
from ais.errors import EXIT_OK, AisError, UsageError


def parse_when(text: str, *, end: bool = False, option: str = "") -> int:
    """``YYYY-MM-DD``, ``YYYY-MM-DDTHH:MM[:SS]`` (UTC unless an offset is given) or milliseconds
    since the epoch → ms. A bare date given as an end means the end of that day."""
    if text.isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        where = f"{option} " if option else ""
        raise UsageError(f"{where}{text!r}: not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if end and len(text) == 10:
        when += timedelta(days=1)
    return int(when.timestamp() * 1000)


def _window(args: argparse.Namespace) -> tuple[int | None, int | None]:
    start = parse_when(args.start, option="--from") + 1 if args.start else None  # bars closing after FROM
    stop = parse_when(args.stop, end=True, option="--to") if args.stop else None
    if start is not None and stop is not None and stop < start:
        raise UsageError(f"--to {args.stop} is before --from {args.start}")
    return start, stop


def _writable(path: str | None, option: str) -> Path | None:
    """Checked before the run, so a typo costs nothing."""
    if path is None:
        return None
    target = Path(path)
    if not target.parent.is_dir():
        raise UsageError(f"{option} {path}: folder {target.parent} does not exist")
    if target.is_dir():
        raise UsageError(f"{option} {path}: is a folder, give a file name")
    return target


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write(path: Path, write: Callable[[Any], None]) -> None:
    try:
        with path.open("w", newline="", encoding="utf-8") as handle:
            write(handle)
    except OSError as exc:
        raise AisError(f"{path}: cannot be written: {exc.strerror}") from None


@contextmanager
def _progress(enabled: bool, label: str, unit: str) -> Iterator[Callable[[int, int | None], None]]:
    """``update(done, total)`` on a rich progress bar with ETA (stderr, only on a terminal)."""
    if not enabled:
        yield lambda done, total: None
        return
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} " + unit),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


# -- ais backtest ---------------------------------------------------------------------------------


def cmd_backtest(args: argparse.Namespace) -> int:
    from ais.backtest.run import run_backtest

    start, stop = _window(args)
    report = _writable(args.report, "--report")
    trades_csv = _writable(args.trades, "--trades")
    equity_csv = _writable(args.equity, "--equity")
    if args.monte_carlo is not None and args.monte_carlo <= 0:
        raise UsageError("--monte-carlo must be a positive number of runs")
    show = not args.json and sys.stderr.isatty()
    with _progress(show, "backtest", "bars") as update:
        total: list[int | None] = [None]

        def before(run: Any) -> None:
            if show:
                total[0] = _count_bars(run, start, stop)

        result = run_backtest(
            getattr(args, "config", None),
            store=args.store,
            start_ms=start,
            end_ms=stop,
            on_cycle=lambda n, now: update(n, total[0]),
            before=before,
            closes=report is not None,
        )
    if args.monte_carlo:
        from ais.backtest.montecarlo import monte_carlo

        result.extra["monte_carlo"] = monte_carlo(result, runs=args.monte_carlo, seed=args.seed)
    if trades_csv is not None:
        _write(trades_csv, lambda h: write_trades_csv(h, result.trades))
    if equity_csv is not None:
        _write(equity_csv, lambda h: write_equity_csv(h, result.curve))
    if report is not None:
        from ais.backtest.report import write_report

        write_report(result, report)  # a failure to write is an AisError naming the file
    if args.json:
        print_json(result.as_dict())
    else:
        print_backtest(result.as_dict())
        for path in (report, trades_csv, equity_csv):
            if path is not None:
                print(f"  wrote       {path}")
    return EXIT_OK


def _count_bars(run: Any, start: int | None, stop: int | None) -> int | None:
    """Bars in the window, for the progress bar's ETA (walks the data's timeline once)."""
    host = run.host
    if not host.has_timeline():
        return None
    now = (start if start is not None else 0) - 1
    n = 0
    while (now := host.next_time(now)) is not None and (stop is None or now <= stop):
        n += 1
    return n


def write_trades_csv(handle: Any, trades: list[Any]) -> None:
    writer = csv.writer(handle)
    columns = ["symbol", "agent", "side", "quantity", "entry_time", "entry_price", "exit_time", "exit_price",
               "pnl", "return", "fees", "open"]
    writer.writerow(columns)
    for t in trades:
        row = t.as_row()
        row["entry_time"] = _iso(t.entry_ts)
        row["exit_time"] = _iso(t.exit_ts)
        writer.writerow([row[c] for c in columns])


def write_equity_csv(handle: Any, curve: Any) -> None:
    writer = csv.writer(handle)
    writer.writerow(["time", "ts", "nav", "gross_exposure", "drawdown"])
    peak = curve.initial
    for ts, nav, gross in zip(curve.ts, curve.nav, curve.gross, strict=True):
        peak = max(peak, nav)
        writer.writerow([_iso(ts), ts, repr(nav), repr(gross), repr(1.0 - nav / peak if peak > 0 else 0.0)])


def _pct(value: Any, sign: str = "+") -> str:
    return "—" if value is None else f"{value * 100:{sign}.2f} %"


def _share(value: Any) -> str:
    """A fraction that has no sign (drawdown, win rate, exposure)."""
    return _pct(value, "")


def _num(value: Any, spec: str = ".3f") -> str:
    return "—" if value is None else format(value, spec)


def print_backtest(data: dict[str, Any]) -> None:
    m = data["metrics"]
    c = data["counts"]
    lines = [
        f"backtest {data['run_id']}: {data['end_reason']} ({m['start'] or '-'} .. {m['end'] or '-'}, "
        f"{m['bars']:,} bars)",
        f"  equity        {m['initial_equity']:.8g} -> {m['final_equity']:.8g} ({_pct(m['total_return'])})",
        f"  CAGR          {_pct(m['cagr'])}",
        f"  volatility    {_share(m['volatility'])} a year",
        f"  Sharpe        {_num(m['sharpe'])}    Sortino {_num(m['sortino'])}    Calmar {_num(m['calmar'])}",
        f"  max drawdown  {_share(m['max_drawdown'])} "
        f"(longest under water {m['max_drawdown_duration_days']:.2f} days)",
        f"  trades        {m['trades']} closed, {m['open_trades']} open; win rate {_share(m['win_rate'])}, "
        f"profit factor {_num(m['profit_factor'])}",
        f"  average trade {_num(m['average_trade'], '.6g')} ({_pct(m['average_trade_return'])})",
        f"  exposure      {_share(m['exposure_time'])} of bars; turnover {m['turnover']:.2f}x; "
        f"fees {m['fees']:.6g}",
        f"  orders        {c['orders']} from {c['signals']} signals; {c['fills']} fills",
        "  rejections    " + (", ".join(f"{k} {v}" for k, v in m["rejections"].items()) or "none"),
        f"  risk state    {data['risk_state'].upper()}",
        f"  store         {data['store']}",
    ]
    print("\n".join(lines))
    for title, rows in (("agent", data["by_agent"]), ("symbol", data["by_symbol"])):
        if rows:
            print()
            lines_ = [
                {
                    title: name,
                    "trades": row["trades"],
                    "open": row["open_trades"],
                    "win rate": _share(row["win_rate"]),
                    "pnl": f"{row['pnl']:+.6g}",
                    "fees": f"{row['fees']:.6g}",
                }
                for name, row in rows.items()
            ]
            print(table(lines_, [title, "trades", "open", "win rate", "pnl", "fees"]))
    mc = data.get("monte_carlo")
    if mc:
        print(f"\nMonte Carlo (seed {mc['seed']}): percentiles 5 / 50 / 95")
        for kind in ("trades", "blocks"):
            part = mc[kind]
            if part:
                f, d = part["final_return"], part["max_drawdown"]
                print(
                    f"  {kind:<7} final return {_pct(f['p5'])} / {_pct(f['p50'])} / {_pct(f['p95'])}; "
                    f"max drawdown {_share(d['p5'])} / {_share(d['p50'])} / {_share(d['p95'])} "
                    f"({part['runs']} runs)"
                )


# -- ais sweep / ais walk-forward -----------------------------------------------------------------


def _executor(args: argparse.Namespace) -> Any:
    from ais.backtest.executors import load_executor

    if args.workers is not None and args.workers <= 0:
        raise UsageError("--workers must be a positive integer")
    return load_executor(args.executor, scheduler=args.scheduler, workers=args.workers)


def _config_file(args: argparse.Namespace) -> str:
    from ais.config.toml import config_path

    return str(config_path(getattr(args, "config", None)))


def cmd_sweep(args: argparse.Namespace) -> int:
    from ais.backtest.research import check_metric, sweep

    if args.metric is not None:
        check_metric(args.metric)
    start, stop = _window(args)
    csv_path = _writable(args.csv, "--csv")
    executor = _executor(args)
    try:
        with _progress(not args.json and sys.stderr.isatty(), "sweep", "backtests") as update:
            out = sweep(
                _config_file(args),
                executor,
                metric=args.metric,
                start_ms=start,
                end_ms=stop,
                store_dir=args.store_dir,
                on_result=update,
            )
    finally:
        executor.close()
    flat = [_flat_row(row, out["parameters"]) for row in out["rows"]]
    if csv_path is not None:
        _write(csv_path, lambda h: _write_rows(h, flat))
    if args.json:
        print_json(out)
    else:
        others = [c for c in SWEEP_COLUMNS if c != out["metric"]]
        columns = ["rank", *out["parameters"], out["metric"], *others]
        if not out["parameters"]:
            print("ais: note: [research.params] is empty: one backtest of the configuration as it is "
                  "(see docs/backtesting.md#sweeps)", file=sys.stderr)
        count = f"{len(flat)} backtest{'s' if len(flat) != 1 else ''}"
        print(f"sweep: {count} ({out['search']} search), best {out['metric']} first")
        print(table([{k: _short(v) for k, v in row.items()} for row in flat], columns))
        if csv_path is not None:
            print(f"wrote {csv_path}")
    return EXIT_OK


SWEEP_COLUMNS = (
    "total_return", "sharpe", "sortino", "max_drawdown", "trades", "win_rate", "profit_factor", "fees"
)


def _flat_row(row: dict[str, Any], parameters: list[str]) -> dict[str, Any]:
    flat: dict[str, Any] = {"rank": row["rank"]}
    flat.update({p: row["params"].get(p) for p in parameters})
    flat.update({k: v for k, v in row["metrics"].items() if not isinstance(v, dict)})
    flat["run_id"] = row["run_id"]
    return flat


def _short(value: Any) -> Any:
    return f"{value:.6g}" if isinstance(value, float) else value


def _write_rows(handle: Any, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)


def cmd_walk_forward(args: argparse.Namespace) -> int:
    from ais.backtest.research import check_metric, walk_forward

    if args.metric is not None:
        check_metric(args.metric)
    for option in ("train_days", "test_days"):
        value = getattr(args, option)
        if value is not None and value <= 0:
            raise UsageError(f"--{option.replace('_', '-')} must be > 0")
    equity_csv = _writable(args.equity, "--equity")
    executor = _executor(args)
    try:
        with _progress(not args.json and sys.stderr.isatty(), "walk-forward", "backtests") as update:
            out = walk_forward(
                _config_file(args),
                executor,
                metric=args.metric,
                train_days=args.train_days,
                test_days=args.test_days,
                store_dir=args.store_dir,
                on_result=update,
            )
    finally:
        executor.close()
    curve = out.pop("curve")
    if equity_csv is not None:
        _write(equity_csv, lambda h: write_equity_csv(h, curve))
    if args.json:
        print_json(out)
        return EXIT_OK
    m = out["out_of_sample"]
    print(
        f"walk-forward: {len(out['windows'])} windows of {out['train_days']:g} days training + "
        f"{out['test_days']:g} days testing, {out['parameter_sets']} parameter sets, by {out['metric']}"
    )
    rows = [
        {
            "test window": f"{w['test'][0]} .. {w['test'][1]}",
            "params": ", ".join(f"{k.split('.', 1)[1]}={v}" for k, v in w["params"].items()),
            f"in-sample {out['metric']}": _short(w["in_sample"]),
            "oos return": _pct(w["out_of_sample"]["total_return"]),
            "oos trades": w["out_of_sample"]["trades"],
        }
        for w in out["windows"]
    ]
    print(table(rows, list(rows[0])))
    print(
        f"out of sample (stitched): return {_pct(m['total_return'])}, Sharpe {_num(m['sharpe'])}, "
        f"max drawdown {_share(m['max_drawdown'])}, {m['trades']} trades"
    )
    if equity_csv is not None:
        print(f"wrote {equity_csv}")
    return EXIT_OK


# -- parsers --------------------------------------------------------------------------------------


def _window_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="start", metavar="DATE", help="trade the bars closing after DATE (UTC)")
    p.add_argument("--to", dest="stop", metavar="DATE", help="... up to DATE (a bare date: its end)")


def _executor_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--executor", default="process", metavar="NAME",
                   help="where the backtests run: process (default), serial, or a plugin, e.g. dask")
    p.add_argument("--scheduler", metavar="ADDRESS", help="cluster address, e.g. tcp://127.0.0.1:8786 (dask)")
    p.add_argument("--workers", type=int, metavar="N", help="local workers (default: CPUs)")
    p.add_argument("--metric", metavar="NAME", help="rank by this metric (default: [research] metric)")
    p.add_argument("--store-dir", metavar="DIR", help="keep each backtest's event store in DIR")


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("backtest", parents=[common], help="run ais.toml as a backtest and measure it")
    _window_arguments(p)
    p.add_argument("--store", metavar="PATH", help="event store file (default: [store].path)")
    p.add_argument("--report", metavar="PATH.html", help="write a self-contained HTML report")
    p.add_argument("--trades", metavar="CSV", help="write the round-trip trades as CSV")
    p.add_argument("--equity", metavar="CSV", help="write the equity curve as CSV")
    p.add_argument("--monte-carlo", type=int, metavar="RUNS", help="add bootstrap distributions (RUNS each)")
    p.add_argument("--seed", type=int, default=0, help="Monte Carlo seed (default 0)")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    p.set_defaults(func=cmd_backtest)

    p = sub.add_parser("sweep", parents=[common], help="one backtest per parameter set of [research]")
    _window_arguments(p)
    _executor_arguments(p)
    p.add_argument("--csv", metavar="PATH", help="write the results table as CSV")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("walk-forward", parents=[common], help="rolling in-sample choice, out-of-sample test")
    _executor_arguments(p)
    p.add_argument("--train-days", type=float, metavar="DAYS", help="default: [research] train_days")
    p.add_argument("--test-days", type=float, metavar="DAYS", help="default: [research] test_days")
    p.add_argument("--equity", metavar="CSV", help="write the stitched out-of-sample equity curve as CSV")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    p.set_defaults(func=cmd_walk_forward)
