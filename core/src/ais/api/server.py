"""A small JSON-over-HTTP control plane on the standard library's threading HTTP server.

Core routes read and write the event store exactly as the CLI does (``ais status``, ``ais events``,
``ais kill``, ``ais rearm``); integration routes come from ``ais_api_routes``. It binds to
127.0.0.1 by default: put an authenticating proxy in front before exposing it anywhere else.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ais.errors import AisError
from ais.extensions import ApiRoute
from ais.risk.operator import set_risk_state
from ais.store.events import EventStore

Handler = Callable[[Any], Any]


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def core_routes(store_path: str) -> list[ApiRoute]:
    from ais.cli.ops_cmd import status

    def read() -> EventStore:
        try:
            return EventStore(store_path, readonly=True)
        except AisError as exc:
            raise ApiError(404, str(exc)) from None

    def get_status(_: Any) -> Any:
        return status(read())

    def get_events(query: dict[str, Any]) -> Any:
        types = tuple(query.get("type", [])) or None
        limit = int(query.get("limit", ["100"])[0])
        if limit <= 0:
            raise ApiError(400, "limit must be a positive integer")
        events = list(read().events(types=types))[-limit:]
        return [e.as_dict() for e in events]

    def operator(state: str) -> Handler:
        def handle(body: Any) -> Any:
            if body is not None and not isinstance(body, dict):
                raise ApiError(400, 'the body must be a JSON object: {"reason": "..."}')
            try:
                previous, _ = set_risk_state(store_path, state, str((body or {}).get("reason", "")))
            except AisError as exc:
                raise ApiError(409 if exc.exit_code == 1 else 400, str(exc)) from None
            return {"state": state, "previous": previous}

        return handle

    return [
        ApiRoute("GET", "/status", get_status, "risk state, positions and the last run"),
        ApiRoute("GET", "/events", get_events, "stored events (?type=T&limit=N)"),
        ApiRoute("POST", "/kill", operator("halted"), 'trip the kill switch: {"reason": ...}'),
        ApiRoute("POST", "/rearm", operator("active"), 'leave HALTED: {"reason": ...}'),
    ]


def make_server(host: str, port: int, routes: list[tuple[str, ApiRoute]]) -> ThreadingHTTPServer:
    table: dict[tuple[str, str], tuple[str, ApiRoute]] = {}
    for owner, route in routes:
        key = (route.method.upper(), route.path)
        if key in table:
            raise AisError(f"{owner}: API route {key[0]} {key[1]} clashes with {table[key][0]}", 3)
        table[key] = (owner, route)

    class RequestHandler(BaseHTTPRequestHandler):
        server_version = "ais-api"

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body, default=str).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _dispatch(self, method: str) -> None:
            url = urlsplit(self.path)
            entry = table.get((method, url.path))
            if entry is None:
                self._answer(
                    404,
                    {
                        "error": f"no route {method} {url.path}",
                        "routes": sorted(f"{m} {p}" for m, p in table),
                    },
                )
                return
            owner, route = entry
            try:
                if method == "GET":
                    argument: Any = parse_qs(url.query)
                else:
                    length = int(self.headers.get("Content-Length") or 0)
                    argument = json.loads(self.rfile.read(length) or b"null") if length else None
                self._answer(200, route.handler(argument))
            except ApiError as exc:
                self._answer(exc.status, {"error": str(exc)})
            except (ValueError, json.JSONDecodeError) as exc:
                self._answer(400, {"error": f"bad request: {exc}"})
            except Exception as exc:  # a route's bug must not take the server down
                self._answer(500, {"error": f"{owner}: {type(exc).__name__}: {exc}"})

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the store is the audit log
            return

    try:
        return ThreadingHTTPServer((host, port), RequestHandler)
    except OSError as exc:
        raise AisError(f"cannot listen on {host}:{port}: {exc.strerror}", 2) from None
