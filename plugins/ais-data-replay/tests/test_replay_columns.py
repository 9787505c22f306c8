"""Columnar storage: the provider keeps 8-byte columns, not a Python object per bar."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import pytest
from ais_data_replay import readers
from ais_data_replay.provider import ReplayProvider

from ais.errors import ConfigError
from ais.testing import make_instance, read_candles

BARS = 20_000
T0 = 1_600_000_020_000
MINUTE = 60_000


@pytest.fixture(scope="module")
def minute_bars(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("columns") / "SYN_USD.csv"
    path.write_text("timestamp,open,high,low,close,volume\n" + "".join(
        f"{T0 + i * MINUTE},{100 + i % 7},{101 + i % 5},{99 - i % 3},{100.5 + i % 11},{i % 13 + 0.5}\n"
        for i in range(BARS)
    ))
    return path


def test_memory_per_bar_is_the_columns(minute_bars: Path) -> None:
    """Six int/float columns and the close times are 7 x 8 = 56 bytes a bar; a ``Candle`` per bar
    alone would be about 250 (the tuple, an int and five floats). Loading holds one chunk of the file's
    text at a time beyond that."""
    make_instance(ReplayProvider, "warm", files={"SYN/USD": str(minute_bars)})  # imports, caches
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        provider = make_instance(ReplayProvider, "feed", files={"SYN/USD": str(minute_bars)})
        gc.collect()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (held - before) / BARS < 80, "bytes held per bar"
    # loading converts a bounded chunk of the file at a time: its transient memory does not grow with
    # the file (a few MB, whatever the number of bars)
    assert peak - held < 8_000_000, "transient bytes while loading"
    assert len(provider.candles("SYN/USD")) == BARS  # and everything was loaded


def test_candles_built_from_the_columns_are_the_file(minute_bars: Path) -> None:
    provider = make_instance(ReplayProvider, "feed", files={"SYN/USD": str(minute_bars)})
    recorded = read_candles(minute_bars)
    assert provider.candles("SYN/USD") == recorded
    t, served = 0, []
    while (t := provider.ais_data_next_time(t)) is not None:
        snap = provider.ais_data_snapshot(("SYN/USD",), t)
        assert snap is not None
        served.append(snap.candles["SYN/USD"])
    assert served == recorded
    assert all(type(c) is type(recorded[0]) for c in served[:10])  # Candle, not a bare tuple


def test_window_cut_in_place(minute_bars: Path) -> None:
    provider = make_instance(ReplayProvider, "feed", files={"SYN/USD": str(minute_bars)},
                             start="2020-09-13T12:30:00Z", end="2020-09-13T14:00:00Z")
    candles = provider.candles("SYN/USD")
    assert [c.ts for c in candles] == list(range(1_600_000_200_000, 1_600_005_600_000, MINUTE))
    assert provider.ais_data_next_time(0) == 1_600_000_200_000 + MINUTE


def test_parquet_read_in_batches(tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches smaller than the file: the rows and the row numbers in errors run on across batches."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    monkeypatch.setattr(readers, "PARQUET_BATCH_ROWS", 1000)
    recorded = read_candles(shared_data / "binance-5m-2018-01" / "ETH_BTC.csv")
    columns = {name: list(col) for name, col in zip(
        ("timestamp", "open", "high", "low", "close", "volume"), zip(*recorded, strict=True), strict=True)}
    path = tmp_path / "ETH_BTC.parquet"
    pq.write_table(pa.table(columns), path)
    assert make_instance(ReplayProvider, "pq", files={"ETH/BTC": str(path)}).candles("ETH/BTC") == recorded
    columns["close"][2499] = None
    pq.write_table(pa.table(columns), path)
    with pytest.raises(ConfigError, match=r"ETH_BTC.parquet: row 2500: a value is missing \(null\)$"):
        make_instance(ReplayProvider, "pq", files={"ETH/BTC": str(path)})
    columns["close"][2499] = columns["close"][2498]
    columns["timestamp"][3500] = columns["timestamp"][3499]
    pq.write_table(pa.table(columns), path)
    conflict = r"row 3501: conflicting rows for timestamp \d+ \(first at row 3500\)"
    with pytest.raises(ConfigError, match=conflict):
        make_instance(ReplayProvider, "pq", files={"ETH/BTC": str(path)})


def test_timestamp_beyond_int64_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "A.csv"
    path.write_text(f"timestamp,open,high,low,close,volume\n{T0},1,1,1,1,1\n{2**64},1,1,1,1,1\n")
    with pytest.raises(ConfigError, match=r"A.csv: line 3: cannot parse .* \(timestamp out of range\)$"):
        make_instance(ReplayProvider, "feed", files={"A/B": str(path)})


@pytest.mark.parametrize("variant", ["as is", "crlf", "columns reordered", "blank line at the end"])
def test_fast_reader_reads_what_the_row_reader_reads(shared_data: Path, tmp_path: Path, variant: str) -> None:
    """The column-wise fast path and the careful row-by-row reader agree on real candles; a file the fast
    path does not take (quotes, a repeated row) is read by the careful one."""
    lines = (shared_data / "binance-5m-2018-01" / "ETH_BTC.csv").read_text().splitlines()
    if variant == "columns reordered":  # volume,timestamp,close,open,high,low
        rows = [line.split(",") for line in lines]
        lines = [",".join([r[5], r[0], r[4], r[1], r[2], r[3]]) for r in rows]
    ending = "\r\n" if variant == "crlf" else "\n"
    text = ending.join(lines) + ending + ("\n\n" if variant == "blank line at the end" else "")
    path = tmp_path / "bars.csv"
    path.write_bytes(text.encode())
    fast = readers._fast_csv(path, readers.CANDLE_COLUMNS)
    assert fast is not None, "the usual file takes the fast path"
    rows = list(readers._csv_rows(path, readers.CANDLE_COLUMNS, "bars.csv"))
    careful = [readers._candle(values) for _, values in rows]
    got = list(zip(fast.columns.times, *fast.columns.values, strict=True))
    assert got == careful


def test_fast_reader_leaves_repeated_rows_to_the_careful_one(tmp_path: Path) -> None:
    header = "timestamp,open,high,low,close,volume\n"
    quoted = tmp_path / "quoted.csv"
    quoted.write_text(header + '1000,"1.0",1.0,1.0,1.0,5\n2000,1.0,1.0,1.0,1.0,5\n')
    repeated = tmp_path / "repeated.csv"
    repeated.write_text(header + "1000,1,1,1,1,5\n1000,1,1,1,1,5\n2000,1,1,1,1,5\n")
    fast = readers._fast_csv(quoted, readers.CANDLE_COLUMNS)  # Arrow reads a quoted number as csv does
    assert fast is not None and list(fast.columns.times) == [1000, 2000]
    assert readers._fast_csv(repeated, readers.CANDLE_COLUMNS) is None
    for path in (quoted, repeated):
        loaded = readers.load_candles(path, path.name)
        assert list(loaded.columns.times) == [1000, 2000]
    assert readers.load_candles(repeated, "r").duplicates == 1


def one_odd_close(path: Path, value: str, rows: int = 50, at: int = 20) -> Path:
    """A candle file whose row ``at`` (line ``at + 2``) has ``value`` as its close."""
    lines = [f"{T0 + i * MINUTE},1,2,0.5,{value if i == at else 1.5},10" for i in range(rows)]
    path.write_text("timestamp,open,high,low,close,volume\n" + "\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("oops", "could not convert string to float: 'oops'"),
        ("nan", "'nan' is not a finite number"),
        ("inf", "'inf' is not a finite number"),
        ("", "could not convert string to float: ''"),
        ("1,7", "expected 6 fields, got 7"),
    ],
)
def test_what_arrow_refuses_or_a_candle_may_not_hold_is_named_by_line(
    tmp_path: Path, value: str, why: str
) -> None:
    """Text is Arrow's error; Arrow parses NaN and infinities; an extra field or an empty value is its
    error: in each case the careful reader reads the file and names the line, so both paths accept
    the same files."""
    path = one_odd_close(tmp_path / "odd.csv", value)
    assert readers._fast_csv(path, readers.CANDLE_COLUMNS) is None
    with pytest.raises(ConfigError, match=rf"odd\.csv: line 22: (cannot parse .* \()?{why}"):
        readers.load_candles(path, "odd.csv")


@pytest.mark.parametrize(
    ("times", "step"),
    [
        ([0, 5, 10, 15], 5),
        ([0, 5, 15, 20], None),  # a gap
        ([0, 5, 5, 10], None),  # a repeat
        ([0, 5, 4, 15], None),  # out of order, the right ends
        ([7], None),
        ([10, 5], None),
    ],
)
def test_even_step(times: list[int], step: int | None) -> None:
    columns = readers.Columns(1)
    columns.times.extend(times)
    assert columns.even_step() == step


def test_a_window_of_an_evenly_spaced_file_keeps_its_step() -> None:
    columns = readers.Columns(1)
    columns.times.extend(range(0, 100, 10))
    columns.values[0].extend([1.0] * 10)
    assert columns.even_step() == 10
    columns.keep(2, 6)
    assert list(columns.times) == [20, 30, 40, 50] and columns.even_step() == 10
    columns.keep(0, 1)
    assert columns.even_step() is None


@pytest.mark.parametrize("gap", [False, True])
def test_close_times_and_gaps_of_even_and_uneven_files(tmp_path: Path, gap: bool) -> None:
    """The evenly spaced file's shortcut gives the close times and gaps the general computation does."""
    opens = [T0 + i * MINUTE for i in range(30)]
    if gap:
        opens = opens[:10] + opens[13:]
    path = tmp_path / "bars.csv"
    rows = "".join(f"{t},1,2,0.5,1.5,10\n" for t in opens)
    path.write_text("timestamp,open,high,low,close,volume\n" + rows)
    provider = make_instance(ReplayProvider, "feed", files={"A/B": str(path)})
    series = provider._series["A/B"]
    assert list(series.close_times) == [t + MINUTE for t in opens]
    assert series.after_gap == ({10} if gap else set())
    assert [(g.missing_from, g.bars) for g in provider.gaps()] == ([(opens[9] + MINUTE, 3)] if gap else [])


@pytest.fixture
def in_child(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files of a few kB are parsed in a child process."""
    monkeypatch.setattr(readers, "CHILD_MIN_BYTES", 2048)


@pytest.mark.parametrize("variant", ["as is", "crlf", "blank lines at the end"])
def test_the_child_parses_what_this_process_parses(
    shared_data: Path, tmp_path: Path, in_child: None, variant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = (shared_data / "binance-5m-2018-01" / "ADA_BTC.csv").read_text().splitlines()
    ending = "\r\n" if variant == "crlf" else "\n"
    path = tmp_path / "bars.csv"
    path.write_bytes((ending.join(lines) + ending + ("\n\n" if "blank" in variant else "")).encode())
    forked: list[int] = []
    real_fork = readers._in_child
    monkeypatch.setattr(readers, "_in_child", lambda *a: forked.append(1) or real_fork(*a))
    child = readers._fast_csv(path, readers.CANDLE_COLUMNS)
    assert forked and child is not None and len(child.columns) == len(lines) - 1
    monkeypatch.setattr(readers, "CHILD_MIN_BYTES", 1 << 40)
    here = readers._fast_csv(path, readers.CANDLE_COLUMNS)
    assert here is not None
    assert (child.columns.times, child.columns.values) == (here.columns.times, here.columns.values)


def test_a_bad_row_in_the_childs_file_is_named_by_the_careful_reader(
    tmp_path: Path, in_child: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child sends nothing back; the careful reader then names the line, and Arrow never parses
    in this process (its memory stays out of the run's)."""
    path = one_odd_close(tmp_path / "bad.csv", "oops", rows=400, at=350)
    assert readers._in_child(path, (6, [0, 1, 2, 3, 4, 5])) is None, "the child sends nothing"

    def not_here(*args: object) -> None:
        raise AssertionError("Arrow's columns built in the parent")

    monkeypatch.setattr(readers, "_to_columns", not_here)
    with pytest.raises(ConfigError, match=r"bad\.csv: line 352: cannot parse .*oops"):
        readers.load_candles(path, "bad.csv")


def test_no_fork_while_other_threads_run(
    in_child: None, minute_bars: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dask worker runs tasks in threads: forking there is unsafe, so the file is parsed in-process."""
    import os
    import threading

    def no_fork() -> int:
        raise AssertionError("forked while another thread runs")

    monkeypatch.setattr(os, "fork", no_fork)
    monkeypatch.setattr(threading, "active_count", lambda: 2)
    loaded = readers.load_candles(minute_bars, "SYN_USD.csv")
    assert len(loaded.columns) == BARS


def test_a_byte_order_mark_is_read_past(tmp_path: Path) -> None:
    """Files saved by spreadsheet programs often start with a UTF-8 byte-order mark."""
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbftimestamp,open,high,low,close,volume\n1000,1,2,0.5,1.5,10\n2000,1,2,0.5,1.6,10\n")
    fast = readers._fast_csv(path, readers.CANDLE_COLUMNS)
    assert fast is not None and list(fast.columns.times) == [1000, 2000]
    assert list(fast.columns.values[3]) == [1.5, 1.6]
