"""Errors a user can act on. The CLI turns each into one line on stderr and its exit code."""

from __future__ import annotations

# Documented exit codes (docs/reference/cli.md).
EXIT_OK = 0
EXIT_FAILURE = 1  # a check failed (e.g. `ais audit verify` found a broken chain)
EXIT_USAGE = 2  # bad config or bad command line
EXIT_PLUGIN = 3  # an enabled plugin failed to load, validate or run
EXIT_SECRET = 4  # a required secret is missing or too weak


class AisError(Exception):
    """Base for every error AIS reports to a person; ``str(err)`` is the one line shown."""

    exit_code: int = EXIT_FAILURE

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigError(AisError):
    """ais.toml is unreadable or invalid. The message names the file and the dotted key path."""

    exit_code = EXIT_USAGE


class UsageError(AisError):
    """The command line is wrong."""

    exit_code = EXIT_USAGE


class PluginError(AisError):
    """An enabled plugin could not be imported, was built for another API, or failed its checks."""

    exit_code = EXIT_PLUGIN


class SecretError(AisError):
    """A secret the mode needs is missing or too weak."""

    exit_code = EXIT_SECRET
