"""Lifecycle hooks: any plugin, of any kind, may implement these."""

from __future__ import annotations

from ais.context import RunContext
from ais.markers import hookspec


@hookspec
def ais_startup(context: RunContext) -> None:
    """Called once when a run starts, after every enabled plugin is loaded and validated.

    Semantics: called on every plugin that implements it, in ais.toml order; all results ignored.
    May: open files or connections, read ``context`` (run id, mode, symbols, token verifier).
    May not: place orders or block for long. An exception here stops the run (exit code 3).

    Example::

        @hookimpl
        def ais_startup(self, context):
            self.run_id = context.run_id

    .. versionadded:: 1.0
    """


@hookspec
def ais_shutdown() -> None:
    """Called once when a run ends (normally or on SIGINT/SIGTERM), in reverse ais.toml order.

    Semantics: called on every plugin that implements it; exceptions are recorded, never raised.
    May: flush and close what ``ais_startup`` opened. May not: place orders.

    Example::

        @hookimpl
        def ais_shutdown(self):
            self.file.close()

    .. versionadded:: 1.0
    """
