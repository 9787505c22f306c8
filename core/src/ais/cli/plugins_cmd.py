"""``ais plugins list`` (metadata only, imports nothing) and ``ais plugins doctor`` (loads the
enabled plugins and checks them)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ais.cli.output import print_json, table
from ais.config.toml import config_path, read_toml
from ais.errors import EXIT_OK, EXIT_PLUGIN, AisError
from ais.plugins.catalog import GROUPS, installed_plugins, plugins_disabled

LIST_KEYS = ("name", "kind", "distribution", "version", "enabled", "status")


def enabled_names(path: Path) -> set[tuple[str, str]]:
    """(kind, plugin name) of every enabled instance, read from the raw TOML (no validation, so a
    listing works even when the config is invalid)."""
    raw = read_toml(path)
    enabled: set[tuple[str, str]] = set()
    for kind in GROUPS:
        tables = raw.get(kind, {})
        if not isinstance(tables, dict):
            continue
        for name, body in tables.items():
            if isinstance(body, dict) and body.get("enabled", True) is not False:
                enabled.add((kind, str(body.get("plugin", name))))
    return enabled


def list_rows(config: str | None) -> list[dict[str, Any]]:
    try:
        enabled = enabled_names(config_path(config))
    except AisError as exc:
        print(f"ais: note: {exc}; no plugin shown as enabled", file=sys.stderr)
        enabled = set()
    catalog = installed_plugins()
    counts: dict[tuple[str, str], int] = {}
    for p in catalog:
        counts[(p.kind, p.name)] = counts.get((p.kind, p.name), 0) + 1
    blocked = plugins_disabled()
    rows = []
    for p in catalog:
        is_enabled = (p.kind, p.name) in enabled
        if counts[(p.kind, p.name)] > 1:
            status = "conflict"
        elif blocked:
            status = "blocked"
        else:
            status = "enabled" if is_enabled else "available"
        rows.append(
            {
                "name": p.name,
                "kind": p.kind,
                "distribution": p.distribution,
                "version": p.version,
                "enabled": is_enabled,
                "status": status,
            }
        )
    return rows


def cmd_list(args: argparse.Namespace) -> int:
    rows = list_rows(args.config)
    if args.json:
        print_json(rows)
    elif rows:
        print(table(rows, LIST_KEYS))
    else:
        print("no AIS plugins installed")
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from ais.config.loader import check_capabilities, load_config
    from ais.plugins.host import PluginHost

    config = load_config(args.config)
    host = PluginHost.from_config(config)
    for key, instance in host.instances.items():
        info = instance.info
        hooks = ", ".join(host.hooks_of(key))
        print(f"ok    {key}: {info.name} ({info.distribution} {info.version}) hooks: {hooks}")
    for failure in host.failures:
        print(f"FAIL  {failure.line()}")
    check_capabilities(config)
    if host.failures:
        print(f"ais: {len(host.failures)} plugin(s) failed; fix or disable them", file=sys.stderr)
        return EXIT_PLUGIN
    print(f"{len(host.instances)} plugin instance(s) ok")
    return EXIT_OK


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    plugins = sub.add_parser("plugins", help="list and check plugins")
    psub = plugins.add_subparsers(dest="plugins_command", required=True, metavar="COMMAND")
    p_list = psub.add_parser("list", parents=[common], help="installed plugins (imports nothing)")
    p_list.add_argument("--json", action="store_true", help="print a JSON list")
    p_list.set_defaults(func=cmd_list)
    p_doctor = psub.add_parser("doctor", parents=[common], help="load and check the enabled plugins")
    p_doctor.set_defaults(func=cmd_doctor)
