"""The sample markets shipped inside the package (``samples/<name>/*.csv``) and how files name symbols."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import NamedTuple

FUNDING_SUFFIX = "-funding"


class Bundled(NamedTuple):
    """One shipped market: symbol -> candle file, and symbol -> funding file."""

    candles: dict[str, Traversable]
    funding: dict[str, Traversable]


def _root() -> Traversable:
    return files(__package__ or "ais_data_replay").joinpath("samples")


def bundled_names() -> list[str]:
    """The names of the shipped sample markets, sorted."""
    return sorted(e.name for e in _root().iterdir() if e.is_dir() and not e.name.startswith("_"))


def symbol_from_filename(filename: str) -> str:
    """The symbol a file holds, by the freqtrade/ccxt naming convention.

    ``ETH_BTC.csv`` → ``ETH/BTC``; ``XRP_USDT_USDT-5m.csv`` → ``XRP/USDT:USDT`` (base/quote:settle);
    anything after the first ``-`` (timeframe, ``-funding``) and the extension are ignored.
    """
    stem = filename.rsplit(".", 1)[0].split("-", 1)[0]
    parts = stem.split("_")
    if len(parts) == 2:
        return f"{parts[0]}/{parts[1]}"
    if len(parts) == 3:
        return f"{parts[0]}/{parts[1]}:{parts[2]}"
    return stem


def bundled_market(name: str) -> Bundled | None:
    """The files of the sample market ``name``, or ``None`` if no such market is shipped."""
    if name not in bundled_names():
        return None
    candles: dict[str, Traversable] = {}
    funding: dict[str, Traversable] = {}
    for entry in sorted(_root().joinpath(name).iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".csv"):
            continue
        table = funding if entry.name[: -len(".csv")].endswith(FUNDING_SUFFIX) else candles
        table[symbol_from_filename(entry.name)] = entry
    return Bundled(candles, funding)
