"""The ``ais`` command line. ``main`` parses and dispatches; each command group has its module."""

from ais.cli.main import main

__all__ = ["main"]
