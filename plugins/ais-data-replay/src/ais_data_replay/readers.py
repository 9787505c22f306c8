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
from itertools import islice
from math import isfinite
from operator import lt, sub
from pathlib import Path
from typing import IO, Any, NamedTuple

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

    __slots__ = ("_step", "times", "values")

    def __init__(self, width: int) -> None:
        self.times = array("q")
        self.values: tuple[array[float], ...] = tuple(array("d") for _ in range(width))
        self._step: int | None = -1  # -1: not known yet (a step is positive)

    def __len__(self) -> int:
        return len(self.times)

    def even_step(self) -> int | None:
        """The distance between consecutive times if it is one positive constant (no gap, no repeat,
        at least two rows), else ``None``: the usual file, for which every check of the time column
        is settled by this one. Found without a Python step per row: the column is compared (memcmp)
        with the arithmetic progression from its first two times. Kept once found."""
        if self._step == -1:
            self._step = _even_step(self.times)
        return self._step

    def keep(self, lo: int, hi: int) -> None:
        """Keep only rows ``lo`` to ``hi - 1``, in place (no second copy of the columns)."""
        columns: tuple[array[Any], ...] = (self.times, *self.values)
        for column in columns:
            del column[hi:]
            del column[:lo]
        if len(self.times) < 2:  # a part of an evenly spaced column is evenly spaced, if it has a step
            self._step = None


def time_steps(times: array[int]) -> map[int]:
    """The distances between consecutive times, computed without a Python frame per row."""
    return map(sub, islice(times, 1, None), times)


def _even_step(times: array[int]) -> int | None:
    n = len(times)
    if n < 2:
        return None
    first = times[0]
    step = times[1] - first
    if step <= 0 or times[-1] != first + (n - 1) * step:
        return None
    return step if times == array("q", range(first, first + n * step, step)) else None


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
            aligned = index == list(range(len(columns)))  # columns in the usual order: no reshuffle
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) != len(names):
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


#: a CSV file of at least this many bytes is parsed in a child process: Arrow's libraries and buffers
#: (about 100 MB at the peak of 500,000 rows) are then never part of the run's own memory
CHILD_MIN_BYTES = 8 << 20


def _fast_csv(source: Source, columns: Sequence[str]) -> Loaded | None:
    """The usual CSV file (plain numbers, one header, strictly increasing timestamps) parsed by Arrow's
    CSV reader, on every core, straight into columns: several times faster than Python's ``float()``
    on each value, and exact (correctly rounded, as ``float()`` is). ``None`` for anything else: the
    careful row-by-row reader then reads the file and names the problem, if there is one."""
    try:
        handle = source.open("rb")
    except OSError:
        return None
    with handle:
        head = handle.readline().decode("utf-8-sig", "replace")
        names = [h.strip().lower() for h in head.split(",")]
        if any(c not in names for c in columns):
            return None
        layout = (len(names), [names.index(c) for c in columns])
        handle.seek(0)
        if isinstance(source, Path) and _size(handle) >= CHILD_MIN_BYTES and _can_fork():
            out = _in_child(source, layout)  # nothing back: the careful reader, never Arrow in here
        else:
            out = _to_columns(_arrow_read(handle, layout), len(columns))
    if out is None:
        return None
    times = out.times
    if not times or (out.even_step() is None and not all(map(lt, times, islice(times, 1, None)))):
        return None  # no rows, or repeated or unsorted rows: the careful reader drops or reports them
    if not all(isfinite(sum(column)) for column in out.values):  # finite only if every term is ...
        try:  # ... or its sum overflowed: fsum tells (no spurious overflow of the partial sums)
            if not all(isfinite(math.fsum(column)) for column in out.values):
                return None
        except OverflowError:
            return None
    return Loaded(out, 0)


#: a file's field count, and where the wanted fields are (timestamp first)
Layout = tuple[int, list[int]]
#: per wanted field, its values as machine numbers (int64, then float64): views on Arrow's buffers
Parsed = list[list[memoryview]]


def _arrow_read(handle: IO[bytes], layout: Layout) -> Parsed | None:
    """The rows after the header, as Arrow parses them; ``None`` if it cannot read them as plain
    numbers (a missing or extra field, an empty value, text)."""
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
    import pyarrow.csv as pacsv  # type: ignore[import-untyped, unused-ignore]

    width, index = layout
    fields = [f"f{i}" for i in range(width)]
    wanted = [fields[i] for i in index]
    types = dict.fromkeys(wanted[1:], pa.float64()) | {wanted[0]: pa.int64()}
    try:
        table = pacsv.read_csv(
            handle,
            read_options=pacsv.ReadOptions(skip_rows=1, column_names=fields),
            convert_options=pacsv.ConvertOptions(
                column_types=types, include_columns=wanted, null_values=[], quoted_strings_can_be_null=False
            ),
        )
    except (pa.ArrowException, OSError):
        return None
    parsed: Parsed = []
    for name in wanted:
        views = []
        for chunk in table.column(name).chunks:
            if chunk.null_count:
                return None
            start = chunk.offset * 8
            views.append(memoryview(chunk.buffers()[1])[start : start + len(chunk) * 8])
        parsed.append(views)
    return parsed


def _to_columns(parsed: Parsed | None, width: int) -> Columns | None:
    if parsed is None:
        return None
    out = Columns(width - 1)
    targets: tuple[array[Any], ...] = (out.times, *out.values)
    for target, views in zip(targets, parsed, strict=True):
        for view in views:
            target.frombytes(view)
    return out


def _size(handle: IO[bytes]) -> int:
    """The file's size in bytes; 0 if it has none to tell (a resource inside an archive)."""
    import os

    try:
        return os.fstat(handle.fileno()).st_size
    except (OSError, ValueError, AttributeError):
        return 0


def _can_fork() -> bool:
    """Whether a child process can be forked safely here: not where fork does not exist, nor while other
    threads run (a dask worker), nor in a daemonic process."""
    import multiprocessing
    import os
    import threading

    daemon = multiprocessing.current_process().daemon
    return hasattr(os, "fork") and threading.active_count() == 1 and not daemon


def _in_child(source: Path, layout: Layout) -> Columns | None:
    """``_arrow_read`` in a forked child, which sends the columns through a pipe: the row count
    (8 bytes), then each column's machine numbers; nothing if Arrow could not read the rows. ``None``
    then, or if the child fails."""
    import os
    import sys

    read_end, write_end = os.pipe()
    pid = os.fork()
    if not pid:
        status = 1  # the child: whatever happens, it leaves through os._exit, never the parent's code
        try:
            os.close(read_end)
            # Arrow reads CSV without numpy (optional since pyarrow 16), which it would otherwise import
            # here for nothing (~50 ms); this process ends right after
            sys.modules.setdefault("numpy", None)  # type: ignore[arg-type]
            with source.open("rb") as handle:
                parsed = _arrow_read(handle, layout)
            with os.fdopen(write_end, "wb") as pipe:
                if parsed is not None:
                    pipe.write((sum(map(len, parsed[0])) // 8).to_bytes(8, "little"))
                    for views in parsed:
                        for view in views:
                            pipe.write(view)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    out: Columns | None = Columns(len(layout[1]) - 1)
    assert out is not None
    targets: tuple[array[Any], ...] = (out.times, *out.values)
    with os.fdopen(read_end, "rb") as pipe:
        try:
            rows = int.from_bytes(pipe.read(8), "little")
            for target in targets:
                target.fromfile(pipe, rows)  # EOFError if the child stopped short
            if not rows or pipe.read(1):
                out = None
        except EOFError:
            out = None
    _, status = os.waitpid(pid, 0)
    return out if status == 0 else None


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
