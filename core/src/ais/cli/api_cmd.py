"""``ais api``: serve the control-plane HTTP API."""

from __future__ import annotations

import argparse
from typing import Any

from ais.errors import EXIT_OK


def cmd_api(args: argparse.Namespace) -> int:
    from ais.api.server import core_routes, make_server
    from ais.config.loader import load_config
    from ais.plugins.host import PluginHost

    config = load_config(args.config)
    host = PluginHost.from_config(config)
    host.raise_failures()
    path = args.store or config.store.path
    routes = [("core", route) for route in core_routes(path)] + host.api_routes()
    server = make_server(args.host, args.port, routes)
    print(f"ais api listening on http://{args.host}:{server.server_address[1]} (store {path})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return EXIT_OK


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("api", parents=[common], help="serve the control-plane HTTP API")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (0 picks a free one; default 8765)")
    p.add_argument("--store", metavar="PATH", help="event store file (default: [store].path)")
    p.set_defaults(func=cmd_api)
