"""What integration plugins contribute besides event reactions: CLI commands and API routes."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True, frozen=True)
class CliCommand:
    """An extra ``ais <name>`` command.

    ``configure`` adds arguments to the command's parser; ``run`` gets the parsed arguments and
    returns the exit code. Errors should be raised as ``ais.errors.AisError`` (one line, exit code).
    """

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


@dataclass(slots=True, frozen=True)
class ApiRoute:
    """A route for the control-plane API: ``handler(request_body) -> JSON-compatible response``."""

    method: str
    path: str
    handler: Callable[[Any], Any]
    summary: str = ""
