"""Reading candle and funding files (CSV with the csv module; Parquet with pyarrow, imported lazily).

Every problem is a ``ConfigError`` of one line naming the file and, for a bad row, its line (CSV) or
row (Parquet) number. Rows must be in increasing timestamp order; a row repeated identically for
one timestamp is dropped, a different row for the same timestamp is an error.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from importlib.resources.abc import Traversable
from math import isfinite
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from ais.domain.market import Candle, FundingRate
from ais.errors import ConfigError

CANDLE_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
FUNDING_COLUMNS = ("timestamp", "funding_rate")
PARQUET_SUFFIXES = (".parquet", ".pq")

Source = Path | Traversable
R = TypeVar("R", Candle, FundingRate)


class Loaded(NamedTuple):
    """The rows of one file in time order, and how many identical duplicate rows were dropped."""

    rows: list[Any]
    duplicates: int


def _timestamp(value: Any) -> int:
    """Milliseconds as an int; accepts ``"1515560100000"`` and integral floats like ``"1.5e12"``."""
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except ValueError:
        number = float(value)
        if not number.is_integer():
            raise ValueError(f"timestamp {value!r} is not a whole number of milliseconds") from None
        return int(number)


def _number(value: Any) -> float:
    number = float(value)
    if not isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _candle(values: Sequence[Any]) -> Candle:
    try:  # the fast path: well-formed rows (a sum is finite only if every term is)
        ts, o, h, lo, c, v = int(values[0]), float(values[1]), float(values[2]), float(values[3]), \
            float(values[4]), float(values[5])
        if isfinite(o + h + lo + c + v):
            return Candle(ts, o, h, lo, c, v)
    except ValueError:
        pass
    # the slow path, to say exactly what is wrong
    return Candle(_timestamp(values[0]), _number(values[1]), _number(values[2]), _number(values[3]),
                  _number(values[4]), _number(values[5]))


def _funding(values: Sequence[Any]) -> FundingRate:
    return FundingRate(_timestamp(values[0]), _number(values[1]))


def _csv_rows(source: Source, columns: Sequence[str], label: str) -> Iterator[tuple[str, list[str]]]:
    """``("line N", [value per wanted column])`` for each non-blank data row of a CSV file."""
    try:
        # bytes wrapped by hand: Traversable.open takes no `newline`, which csv needs ("");
        # utf-8-sig tolerates a byte-order mark
        handle = io.TextIOWrapper(source.open("rb"), encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise ConfigError(f"{label}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read the file ({exc.strerror or exc})") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None:
                raise ConfigError(f"{label}: the file is empty (expected a header {','.join(columns)})")
            names = [h.strip().lower() for h in header]
            missing = [c for c in columns if c not in names]
            if missing:
                raise ConfigError(
                    f"{label}: line 1: bad header {','.join(header)!r}: expected the columns "
                    f"{','.join(columns)} (missing {', '.join(missing)})"
                )
            index = [names.index(c) for c in columns]
            width = max(index) + 1
            aligned = index == list(range(len(columns)))  # columns in the usual order: no reshuffle
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                where = f"line {reader.line_num}"
                if len(row) < width:
                    raise ConfigError(f"{label}: {where}: expected {len(names)} fields, got {len(row)}")
                yield where, row if aligned else [row[i] for i in index]
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ConfigError(f"{label}: line {reader.line_num}: not a readable CSV row ({exc})") from None


def _parquet_rows(source: Source, columns: Sequence[str], label: str) -> Iterator[tuple[str, list[Any]]]:
    """``("row N", [value per wanted column])`` for each row of a Parquet file (rows counted from 1)."""
    try:
        import pyarrow as pa  # type: ignore[import-not-found, import-untyped, unused-ignore]
        import pyarrow.parquet as pq  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        raise ConfigError(
            f"{label}: reading Parquet needs pyarrow: pip install 'ais-data-replay[parquet]'"
        ) from None
    try:
        table = pq.read_table(str(source))
    except FileNotFoundError:
        raise ConfigError(f"{label}: file not found") from None
    except (OSError, pa.ArrowException) as exc:
        raise ConfigError(f"{label}: not a readable Parquet file ({exc})") from None
    names = [n.strip().lower() for n in table.column_names]
    missing = [c for c in columns if c not in names]
    if missing:
        raise ConfigError(
            f"{label}: bad columns {','.join(table.column_names)!r}: expected {','.join(columns)} "
            f"(missing {', '.join(missing)})"
        )
    lists = []
    for wanted in columns:
        column = table.column(names.index(wanted))
        if pa.types.is_timestamp(column.type):  # a datetime column: to ms since the epoch
            column = column.cast(pa.timestamp("ms", tz=column.type.tz), safe=False).cast(pa.int64())
        lists.append(column.to_pylist())
    for n, values in enumerate(zip(*lists, strict=True), 1):
        if any(v is None for v in values):
            raise ConfigError(f"{label}: row {n}: a value is missing (null)")
        yield f"row {n}", list(values)


def _load(source: Source, label: str, columns: Sequence[str], build: Callable[[Sequence[Any]], R]) -> Loaded:
    name = source.name.lower()
    rows_in = (
        _parquet_rows(source, columns, label) if name.endswith(PARQUET_SUFFIXES)
        else _csv_rows(source, columns, label)
    )
    rows: list[R] = []
    duplicates = 0
    last_where = ""
    for where, values in rows_in:
        try:
            row = build(values)
        except (ValueError, TypeError) as exc:
            shown = ",".join(str(v) for v in values)
            raise ConfigError(f"{label}: {where}: cannot parse {shown!r} ({exc})") from None
        if rows:
            previous = rows[-1]
            if row[0] <= previous[0]:
                if row == previous:
                    duplicates += 1  # the same row recorded twice: harmless, drop it
                    continue
                if row[0] == previous[0]:
                    raise ConfigError(
                        f"{label}: {where}: conflicting rows for timestamp {row[0]} (first at {last_where})"
                    )
                raise ConfigError(
                    f"{label}: {where}: timestamp {row[0]} is out of order (before {previous[0]} at "
                    f"{last_where}); sort the file by timestamp"
                )
        rows.append(row)
        last_where = where
    if not rows:
        raise ConfigError(f"{label}: no data rows")
    return Loaded(rows, duplicates)


def load_candles(source: Source, label: str) -> Loaded:
    """The candles of a CSV or Parquet file (``timestamp,open,high,low,close,volume``), in time order."""
    return _load(source, label, CANDLE_COLUMNS, _candle)


def load_funding(source: Source, label: str) -> Loaded:
    """The funding rates of a CSV or Parquet file (``timestamp,funding_rate``), in time order."""
    return _load(source, label, FUNDING_COLUMNS, _funding)
