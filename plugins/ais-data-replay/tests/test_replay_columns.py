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


def test_fast_reader_leaves_unusual_files_to_the_careful_one(tmp_path: Path) -> None:
    header = "timestamp,open,high,low,close,volume\n"
    quoted = tmp_path / "quoted.csv"
    quoted.write_text(header + '1000,"1.0",1.0,1.0,1.0,5\n2000,1.0,1.0,1.0,1.0,5\n')
    repeated = tmp_path / "repeated.csv"
    repeated.write_text(header + "1000,1,1,1,1,5\n1000,1,1,1,1,5\n2000,1,1,1,1,5\n")
    for path in (quoted, repeated):
        assert readers._fast_csv(path, readers.CANDLE_COLUMNS) is None
        loaded = readers.load_candles(path, path.name)
        assert list(loaded.columns.times) == [1000, 2000]
    assert readers.load_candles(repeated, "r").duplicates == 1


@pytest.fixture
def split_small(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files of a few kB are split between processes, in up to four shares."""
    import os

    monkeypatch.setattr(readers, "PARALLEL_MIN_BYTES", 2048)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)


@pytest.mark.parametrize("variant", ["as is", "crlf", "blank lines at the end"])
def test_parallel_parse_equals_the_single_process_parse(
    shared_data: Path, tmp_path: Path, split_small: None, variant: str
) -> None:
    lines = (shared_data / "binance-5m-2018-01" / "ADA_BTC.csv").read_text().splitlines()
    ending = "\r\n" if variant == "crlf" else "\n"
    path = tmp_path / "bars.csv"
    path.write_bytes((ending.join(lines) + ending + ("\n\n" if "blank" in variant else "")).encode())
    with path.open("rb") as handle:
        handle.readline()
        body = handle.tell()
        layout = ([0, 1, 2, 3, 4, 5], 6)
        split = readers._parallel(path, handle, body, layout)
        whole = readers._parse_range(handle, body, None, layout)
    assert split is not None and whole is not None, "the file is split (4 shares) and parsed"
    assert len(split) == len(lines) - 1
    assert (split.times, split.values) == (whole.times, whole.values)


def test_a_bad_row_in_another_share_is_reported_by_the_careful_reader(
    tmp_path: Path, split_small: None
) -> None:
    rows = [f"{T0 + i * MINUTE},1,2,0.5,1.5,10" for i in range(400)]
    rows[350] = f"{T0 + 350 * MINUTE},1,2,oops,1.5,10"  # in the last share
    path = tmp_path / "bad.csv"
    path.write_text("timestamp,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    with pytest.raises(ConfigError, match=r"bad\.csv: line 352: cannot parse .*oops"):
        readers.load_candles(path, "bad.csv")


def test_no_fork_while_other_threads_run(
    tmp_path: Path, split_small: None, minute_bars: Path, monkeypatch: pytest.MonkeyPatch
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
