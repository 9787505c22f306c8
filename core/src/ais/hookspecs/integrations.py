"""Integrations (entry-point group ``ais.integrations``): reactions to events, CLI commands, API routes."""

from __future__ import annotations

from collections.abc import Sequence

from ais.domain.events import Event
from ais.extensions import ApiRoute, CliCommand
from ais.markers import hookspec


@hookspec
def ais_on_event(event: Event) -> None:
    """React to an event (decision, order, fill, risk event, state change, ...) after it is stored.

    Semantics: called on every integration instance, in ais.toml order; results ignored. An
    integration that raises never blocks trading: the error is recorded (``integration.error``) and
    the cycle goes on. May: notify, export, count. May not: block (hand slow work to a thread),
    place orders, or change the event.

    Example::

        @hookimpl
        def ais_on_event(self, event):
            if event.type == "risk.state":
                self.notify(f"risk state {event.payload['state']}")

    .. versionadded:: 1.0
    """


@hookspec
def ais_cli_commands() -> Sequence[CliCommand]:
    """Return extra ``ais`` sub-commands this integration provides.

    Semantics: all results collected from the enabled integrations when the CLI starts with a
    command it does not know itself. A name that clashes with a core command is refused.

    Example::

        @hookimpl
        def ais_cli_commands(self):
            return [CliCommand("hello", "say hello", lambda p: None, lambda args: print("hi") or 0)]

    .. versionadded:: 1.0
    """


@hookspec
def ais_api_routes() -> Sequence[ApiRoute]:
    """Return control-plane API routes this integration provides.

    Semantics: all results collected when the API server starts; a route whose method and path clash
    with another is refused. May not: expose secrets or bypass the risk engine.

    Example::

        @hookimpl
        def ais_api_routes(self):
            return [ApiRoute("GET", "/hello", lambda body: {"hello": "world"})]

    .. versionadded:: 1.0
    """
