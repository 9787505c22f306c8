"""``ais config check`` and ``ais config show``."""

from __future__ import annotations

import argparse
from typing import Any

from ais.cli.output import print_json, to_toml
from ais.errors import EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from ais.config.loader import check_capabilities, load_config
    from ais.plugins.host import PluginHost

    config = load_config(args.config)
    host = PluginHost.from_config(config)
    host.raise_failures()
    check_capabilities(config)
    counts = ", ".join(f"{len(config.enabled(k))} {k}" for k in config.instances if config.enabled(k))
    print(f"{config.source}: ok (mode {config.ais.mode}; {counts})")
    return EXIT_OK


def resolved(config_arg: str | None) -> dict[str, Any]:
    """The config with every default filled in and every secret redacted."""
    from ais.config.loader import load_config
    from ais.plugins.host import PluginHost

    config = load_config(config_arg)
    host = PluginHost.from_config(config)
    host.raise_failures()
    doc: dict[str, Any] = {
        name: getattr(config, name).model_dump(mode="json")
        for name in ("ais", "store", "risk", "portfolio", "routing")
    }
    for kind, specs in config.instances.items():
        tables: dict[str, Any] = {}
        for spec in specs:
            common: dict[str, Any] = {"plugin": spec.plugin, "enabled": spec.enabled}
            if kind == "agents":
                common["weight"] = spec.weight
            loaded = host.instances.get(spec.key)
            options = loaded.config.model_dump(mode="json") if loaded else dict(spec.options)
            tables[spec.name] = common | options
        if tables:
            doc[kind] = tables
    return doc


def cmd_show(args: argparse.Namespace) -> int:
    doc = resolved(args.config)
    if args.json:
        print_json(doc)
    else:
        from ais.config.models import INSTANCE_SECTIONS

        print(to_toml(doc, nested=INSTANCE_SECTIONS), end="")
    return EXIT_OK


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    config = sub.add_parser("config", help="check and show ais.toml")
    csub = config.add_subparsers(dest="config_command", required=True, metavar="COMMAND")
    c_check = csub.add_parser("check", parents=[common], help="validate ais.toml and its plugins")
    c_check.set_defaults(func=cmd_check)
    c_show = csub.add_parser("show", parents=[common], help="the resolved config, secrets redacted")
    c_show.add_argument("--json", action="store_true", help="print JSON instead of TOML")
    c_show.set_defaults(func=cmd_show)
