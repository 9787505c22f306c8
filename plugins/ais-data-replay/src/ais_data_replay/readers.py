"""Reading candle and funding files (CSV: a column-wise fast path for the usual file, the csv module
row by row for anything else; Parquet with pyarrow, imported lazily).

Rows go straight into columns (``array('q')`` of timestamps, one ``array('d')`` per value column):
6 x 8 = 48 bytes a candle, against about 260 in a list of ``Candle`` tuples (the tuple, an int, five
floats and the list's pointer), so half a million bars take 24 MB rather than 130. No list of the
rows of a whole file is ever built (Parquet is read one record batch at a time).

Every problem is a ``ConfigError`` of one line naming the file and, for a bad row, its line (CSV) or
row (Parquet) number. Rows must be in increasing timestamp order; a row repeated identically for
one timestamp is dropped, a different row for the same timestamp is an error.
"""

from __future__ import annotations

import csv
import io
import math
from array import array
from collections.abc import Callable, Iterator, Sequence
from importlib.resources.abc import Traversable
from itertools import islice, pairwise
from math import isfinite
from operator import lt
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from ais.errors import ConfigError

CANDLE_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
FUNDING_COLUMNS = ("timestamp", "funding_rate")
PARQUET_SUFFIXES = (".parquet", ".pq")
#: Parquet rows converted to Python values at a time: bounds the transient lists to about 3 MB
PARQUET_BATCH_ROWS = 16_384

Source = Path | Traversable
#: one parsed row: the timestamp (ms) then the value columns, as floats
Row = tuple[Any, ...]


class Columns:
    """A file's rows as columns: ``times`` (ms, int64) and ``values``, one float64 array per value
    column in the order of the file kind's columns (open, high, low, close, volume; or funding_rate)."""

    __slots__ = ("times", "values")

    def __init__(self, width: int) -> None:
        self.times = array("q")
        self.values: tuple[array[float], ...] = tuple(array("d") for _ in range(width))

    def __len__(self) -> int:
        return len(self.times)

    def keep(self, lo: int, hi: int) -> None:
        """Keep only rows ``lo`` to ``hi - 1``, in place (no second copy of the columns)."""
        columns: tuple[array[Any], ...] = (self.times, *self.values)
        for column in columns:
            del column[hi:]
            del column[:lo]


class Loaded(NamedTuple):
    """The rows of one file in time order, and how many identical duplicate rows were dropped."""

    columns: Columns
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


def _candle(values: Sequence[Any]) -> Row:
    try:  # the fast path: well-formed rows (a sum is finite only if every term is)
        ts, o, h, lo, c, v = int(values[0]), float(values[1]), float(values[2]), float(values[3]), \
            float(values[4]), float(values[5])
        if isfinite(o + h + lo + c + v):
            return ts, o, h, lo, c, v
    except ValueError:
        pass
    # the slow path, to say exactly what is wrong
    return (_timestamp(values[0]), _number(values[1]), _number(values[2]), _number(values[3]),
            _number(values[4]), _number(values[5]))


def _funding(values: Sequence[Any]) -> Row:
    return _timestamp(values[0]), _number(values[1])


def _open_csv(source: Source, label: str) -> io.TextIOWrapper:
    try:
        # bytes wrapped by hand: Traversable.open takes no `newline`, which csv needs ("");
        # utf-8-sig tolerates a byte-order mark
        return io.TextIOWrapper(source.open("rb"), encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise ConfigError(f"{label}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read the file ({exc.strerror or exc})") from None


def _csv_rows(source: Source, columns: Sequence[str], label: str) -> Iterator[tuple[int, Sequence[str]]]:
    """``(line number, values of the wanted columns)`` for each non-blank data row of a CSV file."""
    with _open_csv(source, label) as handle:
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
                if len(row) < width:
                    raise ConfigError(
                        f"{label}: line {reader.line_num}: expected {len(names)} fields, got {len(row)}"
                    )
                yield reader.line_num, row if aligned else [row[i] for i in index]
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ConfigError(f"{label}: line {reader.line_num}: not a readable CSV row ({exc})") from None


def _parquet_rows(source: Source, columns: Sequence[str], label: str) -> Iterator[tuple[int, Sequence[Any]]]:
    """``(row number from 1, values of the wanted columns)`` for each row of a Parquet file, read one
    record batch at a time."""
    try:
        import pyarrow as pa  # type: ignore[import-not-found, import-untyped, unused-ignore]
        import pyarrow.parquet as pq  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        raise ConfigError(
            f"{label}: reading Parquet needs pyarrow: pip install 'ais-data-replay[parquet]'"
        ) from None
    unreadable = (OSError, pa.ArrowException)
    try:
        parquet = pq.ParquetFile(str(source))
        column_names = parquet.schema_arrow.names
    except FileNotFoundError:
        raise ConfigError(f"{label}: file not found") from None
    except unreadable as exc:
        raise ConfigError(f"{label}: not a readable Parquet file ({exc})") from None
    names = [n.strip().lower() for n in column_names]
    missing = [c for c in columns if c not in names]
    if missing:
        raise ConfigError(
            f"{label}: bad columns {','.join(column_names)!r}: expected {','.join(columns)} "
            f"(missing {', '.join(missing)})"
        )
    wanted = [column_names[names.index(c)] for c in columns]
    # only the wanted columns are decoded (when their names are unique: a repeated name can't be asked for)
    read_all = len(set(column_names)) < len(column_names)
    index = [names.index(c) for c in columns] if read_all else list(range(len(columns)))
    batches = iter(parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=None if read_all else wanted))
    n = 0
    while True:
        try:
            batch = next(batches, None)
        except unreadable as exc:
            raise ConfigError(f"{label}: not a readable Parquet file ({exc})") from None
        if batch is None:
            return
        lists = []
        for i in index:
            column = batch.column(i)
            if pa.types.is_timestamp(column.type):  # a datetime column: to ms since the epoch
                column = column.cast(pa.timestamp("ms", tz=column.type.tz), safe=False).cast(pa.int64())
            lists.append(column.to_pylist())
        for values in zip(*lists, strict=True):
            n += 1
            if None in values:
                raise ConfigError(f"{label}: row {n}: a value is missing (null)")
            yield n, values
        del lists  # this batch's Python values go before the next batch's come


#: bytes of a CSV file converted at a time by the fast path: bounds its transient strings to a few MB
FAST_CHUNK_BYTES = 1 << 18
#: a file with at least this many bytes of rows is split between processes (one a core, at most
#: ``MAX_PARSERS``), each parsing its share: float() is most of a load's time and holds the GIL
PARALLEL_MIN_BYTES = 8 << 20
MAX_PARSERS = 4


def _fast_csv(source: Source, columns: Sequence[str]) -> Loaded | None:
    """The usual CSV file (plain numbers, one header, strictly increasing timestamps, no quoting, no
    blank line inside) read 256 kB at a time, column by column with ``map(float, ...)``: several
    times faster than row by row; a big file on disk is split between processes (``_parallel``).
    ``None`` for anything else: the careful row-by-row reader then reads the file and names the
    problem, if there is one."""
    try:
        handle = source.open("rb")
    except OSError:
        return None
    with handle:
        head = handle.readline().decode("utf-8-sig", "replace")
        names = [h.strip().lower() for h in head.split(",")]
        if any(c not in names for c in columns):
            return None
        layout = ([names.index(c) for c in columns], len(names))
        body = handle.tell()
        out = _parallel(source, handle, body, layout) if isinstance(source, Path) else None
        if out is None:
            out = _parse_range(handle, body, None, layout)
    if out is None:
        return None
    stamps = out.times.tolist()
    if not stamps or not all(map(lt, stamps, islice(stamps, 1, None))):  # strictly increasing
        return None  # no rows, or repeated or unsorted rows: the careful reader drops or reports them
    try:  # a sum is finite only if every term is (fsum: no spurious overflow of the partial sums)
        if not all(isfinite(math.fsum(column)) for column in out.values):
            return None
    except OverflowError:
        return None
    return Loaded(out, 0)


#: where the wanted columns are in a row (timestamp first), and how many fields a row has
Layout = tuple[list[int], int]


def _parse_range(handle: BinaryIO, start: int, end: int | None, layout: Layout) -> Columns | None:
    """The rows between byte ``start`` (a line start) and ``end`` (a line start, ``None``: the end of
    the file), as columns; ``None`` if they are not plain numbers in equal-length lines."""
    index, width = layout
    out = Columns(len(index) - 1)
    targets: tuple[array[Any], ...] = (out.times, *out.values)
    handle.seek(start)
    left = -1 if end is None else end - start
    rest = b""
    while True:
        block = handle.read(FAST_CHUNK_BYTES if left < 0 else min(FAST_CHUNK_BYTES, left))
        if left > 0:
            left -= len(block)
        data = rest + block
        if block:
            cut = data.rfind(b"\n") + 1  # whole lines now, the partial last one with the next block
            data, rest = data[:cut], data[cut:]
        if b'"' in data:
            return None
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
            if b"\r" in data:
                return None
        # decoded once: int() and float() parse str faster than bytes
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            return None
        lines = text.split("\n")
        while lines and not lines[-1].strip():
            lines.pop()  # after the block's last newline; at the end, trailing blank lines
        if lines:
            tokens = ",".join(lines).split(",")
            if len(tokens) != width * len(lines):
                return None  # a short, long or blank line
            try:
                out.times.extend(map(int, tokens[index[0] :: width]))
                for target, i in zip(targets[1:], index[1:], strict=True):
                    target.extend(map(float, tokens[i::width]))
            except (ValueError, OverflowError):
                return None
        if not block:
            return out


def _parallel(source: Path, handle: BinaryIO, body: int, layout: Layout) -> Columns | None:
    """The rows parsed by several processes, each a share cut at line starts, this one included;
    ``None`` (parse here alone) for a small file, one core, or where forking is unsafe or
    impossible: no ``fork``, other threads running (a dask worker), a daemonic process."""
    import multiprocessing
    import os
    import threading

    size = os.fstat(handle.fileno()).st_size
    shares = min(os.cpu_count() or 1, MAX_PARSERS, (size - body) // (PARALLEL_MIN_BYTES // 2))
    if (
        shares < 2
        or size - body < PARALLEL_MIN_BYTES
        or not hasattr(os, "fork")
        or threading.active_count() > 1
        or multiprocessing.current_process().daemon
    ):
        return None
    cuts = [body]
    for k in range(1, shares):
        handle.seek(body + (size - body) * k // shares)
        handle.readline()  # on to the next line start
        if handle.tell() > cuts[-1]:
            cuts.append(handle.tell())
    cuts.append(size)
    children = [_fork_share(str(source), a, b, layout) for a, b in pairwise(cuts[1:])]
    parts: list[Columns | None] = []
    try:
        parts.append(_parse_range(handle, cuts[0], cuts[1], layout))
    finally:  # each child is reaped, whatever happens here
        parts += [_collect(pid, pipe, len(layout[0])) for pid, pipe in children]
    if any(part is None for part in parts):
        return None
    out = parts[0]
    assert out is not None
    for part in parts[1:]:
        assert part is not None
        for column, more in zip((out.times, *out.values), (part.times, *part.values), strict=True):
            column.extend(more)
    return out


def _fork_share(path: str, start: int, end: int, layout: Layout) -> tuple[int, int]:
    """A child process that parses the rows in ``[start, end)`` and writes them to a pipe: the row
    count (8 bytes), then each column's machine numbers; nothing if they are not plain numbers.
    Returns (its pid, the pipe's read end)."""
    import os

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        return pid, read_end
    status = 1  # the child: whatever happens, it leaves through os._exit, never the parent's code
    try:
        os.close(read_end)
        with open(path, "rb") as handle:
            out = _parse_range(handle, start, end, layout)
        with os.fdopen(write_end, "wb") as pipe:
            if out is not None:
                pipe.write(len(out.times).to_bytes(8, "little"))
                for column in (out.times, *out.values):
                    pipe.write(column.tobytes())
        status = 0
    finally:
        os._exit(status)


def _collect(pid: int, read_end: int, width: int) -> Columns | None:
    """The columns a ``_fork_share`` child sent, once it has exited cleanly; else ``None``."""
    import os

    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or len(data) < 8:
        return None
    rows = int.from_bytes(data[:8], "little")
    if len(data) != 8 + rows * 8 * width:
        return None
    out = Columns(width - 1)
    view = memoryview(data)
    for k, column in enumerate((out.times, *out.values)):
        column.frombytes(view[8 + k * rows * 8 : 8 + (k + 1) * rows * 8])
    return out


def _load(
    source: Source, label: str, columns: Sequence[str], build: Callable[[Sequence[Any]], Row]
) -> Loaded:
    if not source.name.lower().endswith(PARQUET_SUFFIXES):
        fast = _fast_csv(source, columns)
        if fast is not None:
            return fast
    if source.name.lower().endswith(PARQUET_SUFFIXES):
        unit, rows_in = "row", _parquet_rows(source, columns, label)
    else:
        unit, rows_in = "line", _csv_rows(source, columns, label)
    out = Columns(len(columns) - 1)
    appends = [out.times.append, *(column.append for column in out.values)]
    duplicates = 0
    previous: Row = ()
    last_at = 0
    for at, values in rows_in:
        try:
            row = build(values)
        except (ValueError, TypeError) as exc:
            shown = ",".join(str(v) for v in values)
            raise ConfigError(f"{label}: {unit} {at}: cannot parse {shown!r} ({exc})") from None
        if previous and row[0] <= previous[0]:
            if row == previous:
                duplicates += 1  # the same row recorded twice: harmless, drop it
                continue
            if row[0] == previous[0]:
                raise ConfigError(
                    f"{label}: {unit} {at}: conflicting rows for timestamp {row[0]} "
                    f"(first at {unit} {last_at})"
                )
            raise ConfigError(
                f"{label}: {unit} {at}: timestamp {row[0]} is out of order (before {previous[0]} at "
                f"{unit} {last_at}); sort the file by timestamp"
            )
        try:
            for append, value in zip(appends, row, strict=True):
                append(value)
        except OverflowError:  # only the timestamp can overflow (int64 ms): then nothing was appended
            shown = ",".join(str(v) for v in values)
            raise ConfigError(
                f"{label}: {unit} {at}: cannot parse {shown!r} (timestamp out of range)"
            ) from None
        previous = row
        last_at = at
    if not previous:
        raise ConfigError(f"{label}: no data rows")
    return Loaded(out, duplicates)


def _cached(
    source: Source,
    label: str,
    columns: Sequence[str],
    build: Callable[[Sequence[Any]], Row],
    cache: bool,
) -> Loaded:
    """``_load`` through the column cache (``cache.py``) for files on disk."""
    if not cache or not isinstance(source, Path):
        return _load(source, label, columns, build)
    from ais_data_replay import cache as column_cache

    kind = columns[-1]
    hit = column_cache.read(source, kind, len(columns) - 1)
    if hit is not None:
        return hit
    loaded = _load(source, label, columns, build)
    column_cache.write(source, kind, loaded)
    return loaded


def load_candles(source: Source, label: str, cache: bool = False) -> Loaded:
    """The candles of a CSV or Parquet file (``timestamp,open,high,low,close,volume``), in time order:
    ``columns.values`` holds open, high, low, close, volume. ``cache``: through the column cache."""
    return _cached(source, label, CANDLE_COLUMNS, _candle, cache)


def load_funding(source: Source, label: str, cache: bool = False) -> Loaded:
    """The funding rates of a CSV or Parquet file (``timestamp,funding_rate``), in time order:
    ``columns.values`` holds the one column of rates. ``cache``: through the column cache."""
    return _cached(source, label, FUNDING_COLUMNS, _funding, cache)
