"""A cache of parsed files: the columns of a candle or funding file, as raw machine numbers, so the
next run (every backtest of a sweep, every walk-forward window) loads them at once instead of parsing
the text again.

A cache file is named after the source's absolute path, size and modification time (ns) and the
cache format: any change of the source is a miss. It holds a small JSON header (the row count, the
column count, the duplicates dropped) and the columns' bytes. A cache that cannot be read or written
(missing folder rights, a truncated file) is ignored: the source is parsed as without a cache.

Where: ``$AIS_CACHE_DIR/replay``, else ``$XDG_CACHE_HOME/ais/replay``, else ``~/.cache/ais/replay``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from array import array
from pathlib import Path
from typing import Any

from ais_data_replay.readers import Columns, Loaded

FORMAT = "ais-replay-columns-1"


def cache_dir() -> Path:
    base = os.environ.get("AIS_CACHE_DIR")
    if base:
        return Path(base) / "replay"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "ais" / "replay"


def _entry(source: Path, kind: str) -> Path | None:
    try:
        stat = source.stat()
    except OSError:
        return None
    key = f"{FORMAT}\x1f{kind}\x1f{source.resolve()}\x1f{stat.st_size}\x1f{stat.st_mtime_ns}"
    return cache_dir() / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".bin")


def read(source: Path, kind: str, width: int) -> Loaded | None:
    """The cached columns of ``source`` (``width`` value columns), or ``None`` on a miss."""
    entry = _entry(source, kind)
    if entry is None:
        return None
    try:
        with entry.open("rb") as handle:
            header: dict[str, Any] = json.loads(handle.readline())
            rows = int(header["rows"])
            if header.get("format") != FORMAT or int(header["width"]) != width or rows <= 0:
                return None
            columns = Columns(width)
            targets: tuple[array[Any], ...] = (columns.times, *columns.values)
            for target in targets:
                target.fromfile(handle, rows)  # EOFError if truncated
            if handle.read(1):
                return None  # longer than written: not ours
            return Loaded(columns, int(header["duplicates"]))
    except (OSError, EOFError, ValueError, KeyError, TypeError):
        return None


def write(source: Path, kind: str, loaded: Loaded) -> None:
    """Store ``loaded`` for ``source``; any failure leaves no cache entry (and raises nothing)."""
    entry = _entry(source, kind)
    if entry is None:
        return
    columns = loaded.columns
    header = {"format": FORMAT, "rows": len(columns), "width": len(columns.values),
              "duplicates": loaded.duplicates, "source": str(source)}
    partial = entry.with_name(f"{entry.name}.{os.getpid()}.tmp")
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as handle:
            handle.write(json.dumps(header).encode() + b"\n")
            stored: tuple[array[Any], ...] = (columns.times, *columns.values)
            for column in stored:
                column.tofile(handle)
        os.replace(partial, entry)  # atomic: a reader sees a whole entry or none
    except OSError:
        with contextlib.suppress(OSError):  # the folder itself may be unusable: nothing was written
            partial.unlink(missing_ok=True)
