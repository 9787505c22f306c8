"""Reading ais.toml: where it is, and its raw contents with TOML errors reported by line and column."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from ais.errors import ConfigError

DEFAULT_CONFIG = "ais.toml"


def config_path(explicit: str | None = None) -> Path:
    """``--config PATH``, else ``$AIS_CONFIG``, else ``./ais.toml``."""
    return Path(explicit or os.environ.get("AIS_CONFIG") or DEFAULT_CONFIG)


def read_toml(path: Path) -> dict[str, Any]:
    """The parsed TOML document; ``ConfigError`` (one line, exit 2) if missing or malformed."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (pass --config PATH or set AIS_CONFIG)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
