"""Operating a deployment from its event store: ``status``, ``kill``, ``rearm``, ``events``,
``audit verify``. None of these loads a plugin."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ais.cli.output import print_json
from ais.errors import EXIT_FAILURE, EXIT_OK, AisError, UsageError


def store_path(args: argparse.Namespace) -> str:
    if getattr(args, "store", None):
        return str(args.store)
    from ais.config.loader import load_config

    return load_config(args.config).store.path


def _open(args: argparse.Namespace, readonly: bool = True) -> Any:
    from ais.store.events import EventStore

    return EventStore(store_path(args), readonly=readonly)


def status(store: Any) -> dict[str, Any]:
    from ais.engine.recovery import fill_from_payload, inspect
    from ais.portfolio.ledger import Ledger

    found = inspect(store)
    last_start = store.last("run.start")
    last_end = store.last("run.end")
    run_id = last_start.run_id if last_start else None
    result: dict[str, Any] = {
        "store": str(store.path),
        "events": store.last_seq(),
        "risk_state": found.risk_state.value,
        "risk_reason": found.risk_reason,
        "run_id": run_id,
        "run_open": found.unfinished_run is not None,
        "positions": {},
        "shared": {},
        "summary": None,
    }
    if run_id is None:
        return result
    ledger = Ledger(last_start.payload.get("initial_cash", 0.0) if last_start else 0.0)
    for event in store.events(run_id=run_id, types=("portfolio.adopted", "order.fill", "shared.update")):
        p = event.payload
        if event.type == "portfolio.adopted":
            ledger.adopt(p["cash"], p["positions"])
        elif event.type == "order.fill":
            ledger.apply_fill(fill_from_payload(p))
        else:
            result["shared"].setdefault(p["topic"], {})[p["symbol"]] = p["value"]
    result["positions"] = {s: h.quantity for s, h in ledger.holdings.items() if h.quantity}
    if last_end is not None and last_end.run_id == run_id:
        result["summary"] = last_end.payload.get("summary")
    return result


def cmd_status(args: argparse.Namespace) -> int:
    store = _open(args)
    result = status(store)
    if args.json:
        print_json(result)
        return EXIT_OK
    state = result["risk_state"].upper()
    print(f"risk state  {state}" + (f" ({result['risk_reason']})" if result["risk_reason"] else ""))
    print(f"store       {result['store']} ({result['events']} events)")
    if result["run_id"]:
        print(
            f"last run    {result['run_id']} ({'running or interrupted' if result['run_open'] else 'ended'})"
        )
    for symbol, qty in sorted(result["positions"].items()):
        print(f"position    {symbol:<12} {qty:+.8g}")
    for topic, values in sorted(result["shared"].items()):
        for symbol, value in sorted(values.items()):
            print(f"{topic:<11} {symbol:<12} {value}")
    summary = result["summary"]
    if summary:
        print(
            f"equity      {summary['final_equity']:.8g} ({summary['return'] * 100:+.2f} %), "
            f"{summary['orders']} orders, {summary['fills']} fills"
        )
    return EXIT_OK


def _operator_state(args: argparse.Namespace, state: str) -> int:
    from ais.risk.operator import set_risk_state

    previous, changed = set_risk_state(store_path(args), state, args.reason)
    if not changed:
        print(f"risk state already {state.upper()}")
    else:
        print(f"risk state {previous.upper()} -> {state.upper()} ({args.reason.strip()})")
    return EXIT_OK


def cmd_kill(args: argparse.Namespace) -> int:
    return _operator_state(args, "halted")


def cmd_rearm(args: argparse.Namespace) -> int:
    return _operator_state(args, "active")


def cmd_events(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit <= 0:
        raise UsageError("--limit must be a positive integer")
    store = _open(args)
    types = tuple(args.type) if args.type else None
    events = list(store.events(types=types, run_id=args.run))
    if args.limit:
        events = events[-args.limit :]
    if args.json:
        print_json([e.as_dict() for e in events])
    else:
        for e in events:
            print(f"{e.seq:>7} {e.ts} {e.type:<18} {json.dumps(e.payload, separators=(',', ':'))}")
    return EXIT_OK


def cmd_audit_verify(args: argparse.Namespace) -> int:
    store = _open(args)
    count, broken = store.verify()
    if broken is not None:
        raise AisError(f"{store.path}: hash chain broken at seq {broken.seq}: {broken.reason}", EXIT_FAILURE)
    print(f"{store.path}: {count} events, hash chain intact")
    return EXIT_OK


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument("--store", metavar="PATH", help="event store file (default: [store].path of ais.toml)")

    p = sub.add_parser("status", parents=[common, store], help="risk state, positions and last run")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)
    for name, func, text in (
        ("kill", cmd_kill, "trip the kill switch (HALTED)"),
        ("rearm", cmd_rearm, "leave HALTED (audited)"),
    ):
        p = sub.add_parser(name, parents=[common, store], help=text)
        p.add_argument("--reason", required=True, help="why (recorded in the audit log)")
        p.set_defaults(func=func)
    p = sub.add_parser("events", parents=[common, store], help="list stored events")
    p.add_argument("--type", action="append", metavar="T", help="only events of type T (repeatable)")
    p.add_argument("--run", metavar="RUN_ID", help="only events of this run")
    p.add_argument("--limit", type=int, metavar="N", help="only the last N")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_events)
    audit = sub.add_parser("audit", help="check the audit trail")
    asub = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    v = asub.add_parser("verify", parents=[common, store], help="verify the event store's hash chain")
    v.set_defaults(func=cmd_audit_verify)
