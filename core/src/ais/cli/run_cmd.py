"""``ais run``: the trading cycle in the configured mode, with a progress bar and a summary."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from ais.cli.output import print_json
from ais.errors import EXIT_OK, UsageError


def _when(ts: int | None) -> str:
    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y-%m-%d %H:%M") if ts else "-"


def print_summary(summary: dict[str, Any]) -> None:
    rejections = summary["rejections"]
    lines = [
        f"run {summary['run_id']} ({summary['mode']}{', resumed' if summary['resumed'] else ''}): "
        f"{summary['end_reason']}",
        f"  bars        {_when(summary['first_bar'])} .. {_when(summary['last_bar'])}",
        f"  cycles      {summary['cycles']}",
        f"  signals     {summary['signals']}",
        f"  orders      {summary['orders']}",
        f"  fills       {summary['fills']}",
        f"  rejections  {sum(rejections.values())}"
        + ("".join(f"\n    {code:<22}{n}" for code, n in rejections.items())),
        f"  fees        {summary['fees']:.8g}",
        f"  equity      {summary['initial_equity']:.8g} -> {summary['final_equity']:.8g} "
        f"({summary['return'] * 100:+.2f} %)",
        f"  max drawdown {summary['max_drawdown'] * 100:.2f} %",
        f"  risk state  {summary['risk_state'].upper()}",
        f"  store       {summary['store']}",
    ]
    if summary["reconcile_mismatches"]:
        lines.append("  reconciliation mismatches: " + "; ".join(summary["reconcile_mismatches"]))
    print("\n".join(lines))


def execute(args: argparse.Namespace, mode: str | None = None) -> dict[str, Any]:
    from ais.engine.runner import Run, RunOptions

    if args.cycles is not None and args.cycles <= 0:
        raise UsageError("--cycles must be a positive integer")
    run = Run(
        RunOptions(
            config=args.config,
            store=args.store,
            cycles=args.cycles,
            live=getattr(args, "live", False),
            mode=mode,
        )
    )
    show_progress = not args.json and sys.stderr.isatty()
    if not show_progress:
        return run.execute()
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} cycles"),
        TimeElapsedColumn(),
        console=None,
        transient=True,
    ) as progress:
        task = progress.add_task(f"{run.mode} {run.run_id}", total=args.cycles)

        def on_cycle(n: int, now: int) -> None:
            progress.update(task, completed=n, description=f"{run.mode} {_when(now)}")

        return run.execute(on_cycle)


def cmd_run(args: argparse.Namespace) -> int:
    summary = execute(args)
    if args.json:
        print_json(summary)
    else:
        print_summary(summary)
    return EXIT_OK


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cycles", type=int, metavar="N", help="stop after N cycles")
    parser.add_argument("--store", metavar="PATH", help="event store file (default: [store].path)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("run", parents=[common], help="run the trading cycle in the configured mode")
    add_run_arguments(p)
    p.add_argument("--live", action="store_true", help="confirm real trading (mode live)")
    p.set_defaults(func=cmd_run)
