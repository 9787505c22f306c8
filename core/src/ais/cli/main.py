"""Entry point of ``ais``: parse, dispatch, and turn every ``AisError`` into one line + exit code."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib
import logging
import os
import sys
import threading
from collections.abc import Sequence
from typing import Any, NoReturn

from ais._version import __version__
from ais.errors import EXIT_FAILURE, EXIT_PLUGIN, EXIT_USAGE, AisError, UsageError

#: Modules that add core commands; each has ``add_commands(subparsers, common_parser)``.
COMMAND_MODULES = (
    "ais.cli.plugins_cmd",
    "ais.cli.config_cmd",
    "ais.cli.run_cmd",
    "ais.cli.backtest_cmd",
    "ais.cli.ops_cmd",
    "ais.cli.api_cmd",
)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (via ``UsageError``), not usage text + exit."""

    def error(self, message: str) -> NoReturn:
        where = self.prog.removeprefix("ais").strip()
        raise UsageError(f"{where + ': ' if where else ''}{message} (see {self.prog} --help)")


def build_parser() -> tuple[_Parser, Any]:
    common = _Parser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="ais.toml to use (default: $AIS_CONFIG, else ./ais.toml)",
    )
    parser = _Parser(prog="ais", description="AIS: a plugin-based, risk-gated trading framework.")
    parser.add_argument("--version", action="version", version=f"ais {__version__}")
    parser.add_argument("--config", metavar="PATH", default=None, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(sub, common)
    return parser, sub


def _plugin_command(parser: _Parser, sub: Any, common: _Parser, argv: list[str]) -> argparse.Namespace | None:
    """Commands contributed by enabled integrations (``ais_cli_commands``): loaded only when the
    command is not one of core's."""
    from ais.config.loader import load_config
    from ais.plugins.host import PluginHost

    pre, _ = common.parse_known_args(argv)
    config = load_config(getattr(pre, "config", None))
    host = PluginHost.from_config(config)
    host.raise_failures()
    for key, command in host.cli_commands():
        if command.name in sub.choices:
            raise AisError(f"{key}: command {command.name!r} clashes with an existing command", EXIT_PLUGIN)
        p = sub.add_parser(command.name, parents=[common], help=command.help)
        command.configure(p)
        p.set_defaults(func=command.run)
    return parser.parse_args(argv) if host.cli_commands() else None


def _command_word(args: list[str]) -> str | None:
    """The first positional word (skipping the value of ``--config PATH``)."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--config":
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s", stream=sys.stderr)
    try:
        parser, sub = build_parser()
        first = _command_word(args_list)
        if first is not None and first not in sub.choices and "--version" not in args_list:
            common = _Parser(add_help=False)
            common.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS)
            namespace = _plugin_command(parser, sub, common, args_list)
            if namespace is None:
                raise UsageError(f"unknown command {first!r} (see ais --help)")
        else:
            namespace = parser.parse_args(args_list)
        if getattr(namespace, "func", None) is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        code: int = namespace.func(namespace)
        return code
    except AisError as exc:
        print(f"ais: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ais: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: still one line, the traceback on request
        if os.environ.get("AIS_DEBUG", "") not in ("", "0"):
            raise
        print(
            f"ais: internal error: {type(exc).__name__}: {exc} (set AIS_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILURE


def run() -> None:  # console-script entry point
    code = main()
    if threading.active_count() == 1:
        leave(code)
    sys.exit(code)  # a normal exit waits for the other threads


def leave(code: int) -> NoReturn:
    """Exit without tearing the interpreter down: after a backtest it holds hundreds of thousands of
    objects, and the final garbage collection and the freeing of every module's objects (about 0.2 s
    after a 500,000-bar backtest) change nothing: every file a command writes is closed by then, the
    event store first of all. What an exit must do is still done: the ``atexit`` handlers (logging's
    flush, temporary folders), then stdout and stderr flushed."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        # a reader gone (`ais ... | head`), a closed stream: nothing more can be said
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
