"""Loading a configured market: files or a bundled sample, the bar length, the window, the gaps."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import compress, count
from pathlib import Path

from ais.config.messages import did_you_mean
from ais.errors import ConfigError
from ais_data_replay.config import ReplayConfig
from ais_data_replay.readers import Columns, Source, load_candles, load_funding, time_steps
from ais_data_replay.samples import bundled_market, bundled_names
from ais_data_replay.series import CandleSeries, FundingSeries, Gap, Timeline


def iso(ms: int) -> str:
    """``1515560100000`` → ``2018-01-10T04:55:00Z``."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def bar_text(ms: int) -> str:
    """``300000`` → ``5m``: the largest unit that divides the length."""
    for unit, size in (("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


@dataclass
class Market:
    """What a replay provider serves, ready for per-bar look-ups."""

    series: dict[str, CandleSeries]
    funding: dict[str, FundingSeries]
    timeline: Timeline
    bar_ms: int
    gaps: list[Gap]
    #: identical duplicate rows dropped at load, per symbol (only symbols that had some)
    duplicates: dict[str, int]


def _resolve(path: str) -> Path:
    """A configured path: ``~`` expanded, relative paths against the current directory."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else Path.cwd() / p


Files = dict[str, tuple[Source, str]]  # symbol -> (file, label for messages)


def _sources(instance: str, config: ReplayConfig) -> tuple[Files, Files]:
    """symbol -> (file, label for messages), for candles and for funding rates."""
    where = f"data.{instance}"
    candles: Files = {}
    funding: Files = {}
    if config.bundled is not None:
        market = bundled_market(config.bundled)
        if market is None:
            names = bundled_names()
            raise ConfigError(
                f"{where}.bundled: no bundled market named {config.bundled!r}"
                f"{did_you_mean(config.bundled, names)} (available: {', '.join(names)})"
            )
        for symbol, entry in market.candles.items():
            candles[symbol] = (entry, f"{where}: bundled {config.bundled}/{entry.name}")
        for symbol, entry in market.funding.items():
            funding[symbol] = (entry, f"{where}: bundled {config.bundled}/{entry.name}")
    for symbol, path in config.files.items():
        resolved = _resolve(path)
        candles[symbol] = (resolved, f"{where}.files.{symbol}: {resolved}")
    for symbol, path in config.funding.items():
        resolved = _resolve(path)
        funding[symbol] = (resolved, f"{where}.funding.{symbol}: {resolved}")
    if config.symbols is not None:
        known = sorted(candles.keys() | funding.keys())
        for symbol in config.symbols:
            if symbol not in known:
                raise ConfigError(
                    f"{where}.symbols: {symbol!r} is not in this market{did_you_mean(symbol, known)} "
                    f"(available: {', '.join(known)})"
                )
        wanted = set(config.symbols)
        candles = {s: v for s, v in candles.items() if s in wanted}
        funding = {s: v for s, v in funding.items() if s in wanted}
    return candles, funding


def _spacing(columns: Columns) -> int | None:
    """The most common distance between consecutive open times (ties: the shortest), or ``None``."""
    even = columns.even_step()
    if even is not None:
        return even
    counts = Counter(time_steps(columns.times))
    if not counts:
        return None
    top = max(counts.values())
    return min(d for d, c in counts.items() if c == top)


def _bar_ms(instance: str, config: ReplayConfig, loaded: dict[str, tuple[Columns, str]]) -> int:
    """The bar length: the configured one, or the one spacing every file agrees on."""
    spacings = {symbol: _spacing(columns) for symbol, (columns, _) in loaded.items()}
    configured = config.bar_ms
    if configured is not None:
        for symbol, spacing in spacings.items():
            if spacing is not None and spacing != configured:
                raise ConfigError(
                    f"{loaded[symbol][1]}: bar = {config.bar!r} but most bars in this file are "
                    f"{bar_text(spacing)} apart"
                )
        return configured
    found = {s: d for s, d in spacings.items() if d is not None}
    if not found:
        raise ConfigError(f"data.{instance}: cannot infer the bar length from single-row files: set `bar`")
    if len(set(found.values())) > 1:
        shown = ", ".join(f"{s} {bar_text(d)}" for s, d in sorted(found.items()))
        raise ConfigError(
            f"data.{instance}: the files have different bar lengths ({shown}): "
            "use one replay instance per bar length"
        )
    return next(iter(found.values()))


def _check_grid(columns: Columns, bar_ms: int, label: str) -> None:
    """Consecutive bars must be a whole number of bars apart (a gap is fine, a half bar is not)."""
    even = columns.even_step()
    if even is not None and even % bar_ms == 0:
        return
    times = columns.times
    off = next(compress(count(1), map(bar_ms.__rmod__, time_steps(times))), None)  # the first bad bar
    if off is not None:
        a, b = times[off - 1], times[off]
        raise ConfigError(
            f"{label}: bar at {b} ({iso(b)}) is {b - a} ms after the previous one, "
            f"not a whole number of {bar_text(bar_ms)} bars"
        )


def _cut(columns: Columns, bar_ms: int, start: int | None, end: int | None) -> None:
    """Keep only the bars that open at or after ``start`` and close at or before ``end`` (ms), in place."""
    times = columns.times
    lo = bisect_left(times, start) if start is not None else 0
    hi = bisect_right(times, end - bar_ms) if end is not None else len(times)
    columns.keep(lo, max(lo, hi))


def load_market(instance: str, config: ReplayConfig) -> Market:
    """Read, check and index everything ``config`` names. Raises ``ConfigError`` (one line) on any problem."""
    candle_sources, funding_sources = _sources(instance, config)
    loaded: dict[str, tuple[Columns, str]] = {}
    duplicates: dict[str, int] = {}
    for symbol, (source, label) in candle_sources.items():
        columns, dropped = load_candles(source, label, config.cache)
        loaded[symbol] = (columns, label)
        if dropped:
            duplicates[symbol] = dropped
    bar_ms = _bar_ms(instance, config, loaded) if loaded else (config.bar_ms or 60_000)
    start = int(config.start.timestamp() * 1000) if config.start is not None else None
    end = int(config.end.timestamp() * 1000) if config.end is not None else None
    series: dict[str, CandleSeries] = {}
    for symbol, (columns, label) in loaded.items():
        _check_grid(columns, bar_ms, label)
        if start is not None or end is not None:
            _cut(columns, bar_ms, start, end)
        if len(columns):
            series[symbol] = CandleSeries(symbol, columns, bar_ms)
    if loaded and not series:
        window = f"{iso(start) if start is not None else '...'} to {iso(end) if end is not None else '...'}"
        raise ConfigError(f"data.{instance}: no bar of any symbol lies in the window {window}")
    funding = {}
    for symbol, (source, label) in funding_sources.items():
        rates, _ = load_funding(source, label, config.cache)
        funding[symbol] = FundingSeries(rates)
    gaps = [g for s in sorted(series) for g in series[s].gaps(bar_ms)]
    return Market(series, funding, Timeline(list(series.values())), bar_ms, gaps, duplicates)
