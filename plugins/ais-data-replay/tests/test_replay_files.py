"""Reading files: formats, duplicates, and the one-line errors that name the file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ais_data_replay.provider import ReplayProvider
from pydantic import ValidationError

from ais.errors import ConfigError
from ais.testing import make_instance, read_candles

HEADER = "timestamp,open,high,low,close,volume\n"
T0 = 1_515_560_100_000
BAR = 300_000


def rows(n: int, start: int = T0, bar: int = BAR) -> list[str]:
    return [f"{start + i * bar},{1 + i / 100},{1.1 + i / 100},{0.9 + i / 100},{1 + i / 100},{10 + i}\n"
            for i in range(n)]


def write(tmp_path: Path, lines: list[str], name: str = "AAA_BTC.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + "".join(lines))
    return path


def replay(path: Path | str, **options: object) -> ReplayProvider:
    return make_instance(ReplayProvider, "feed", files={"AAA/BTC": str(path)}, **options)


def one_line_error(path: Path | str, **options: object) -> str:
    with pytest.raises(ConfigError) as err:
        replay(path, **options)
    message = str(err.value)
    assert "\n" not in message
    return message


def test_identical_duplicate_rows_are_dropped(tmp_path: Path) -> None:
    lines = rows(6)
    path = write(tmp_path, [*lines[:3], lines[2], lines[2], *lines[3:]])
    provider = replay(path)
    assert len(provider.candles("AAA/BTC")) == 6
    assert provider.duplicates == {"AAA/BTC": 2}
    assert provider.gaps() == []


def test_conflicting_rows_are_an_error_naming_file_and_line(tmp_path: Path) -> None:
    lines = rows(6)
    conflicting = lines[2].replace(",10", ",99", 1).rsplit(",", 1)[0] + ",99\n"
    path = write(tmp_path, [*lines[:3], conflicting, *lines[3:]])
    message = one_line_error(path)
    assert str(path) in message
    assert "line 5: conflicting rows" in message
    assert "(first at line 4)" in message


def test_out_of_order_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    lines = rows(6)
    path = write(tmp_path, [lines[0], lines[2], lines[1], *lines[3:]])
    message = one_line_error(path)
    assert str(path) in message
    assert "line 4: timestamp" in message
    assert "out of order" in message


def test_missing_file(tmp_path: Path) -> None:
    message = one_line_error(tmp_path / "nope.csv")
    assert message.endswith(f"{tmp_path / 'nope.csv'}: file not found")


def test_bad_header(tmp_path: Path) -> None:
    path = write(tmp_path, rows(3), header="time,open,high,low,close\n")
    message = one_line_error(path)
    assert f"{path}: line 1: bad header" in message
    assert "expected the columns timestamp,open,high,low,close,volume" in message


def test_unparsable_row_names_its_line(tmp_path: Path) -> None:
    lines = rows(8)
    lines[4] = f"{T0 + 4 * BAR},1.0,1.1,oops,1.0,3\n"
    path = write(tmp_path, lines)
    message = one_line_error(path)
    assert f"{path}: line 6: cannot parse" in message
    assert "oops" in message


def test_short_row_and_non_finite_value(tmp_path: Path) -> None:
    lines = rows(4)
    assert "line 3" in one_line_error(write(tmp_path, [lines[0], f"{T0 + BAR},1,1,1\n", *lines[2:]]))
    assert "line 4" in one_line_error(write(tmp_path, [*lines[:2], f"{T0 + 2 * BAR},1,1,nan,1,1\n"]))


def test_empty_file(tmp_path: Path) -> None:
    assert "empty" in one_line_error(write(tmp_path, [], header=""))
    assert "no data rows" in one_line_error(write(tmp_path, []))


def test_unknown_bundled_name() -> None:
    with pytest.raises(ConfigError) as err:
        make_instance(ReplayProvider, "feed", bundled="binance-5m-2018-02")
    assert "binance-5m-2018-02" in str(err.value)
    assert "did you mean 'binance-5m-2018-01'" in str(err.value)


def test_unknown_symbol_in_filter() -> None:
    with pytest.raises(ConfigError, match=r"symbols: 'ETH/USDT' is not in this market"):
        make_instance(ReplayProvider, "feed", bundled="binance-5m-2018-01", symbols=["ETH/USDT"])


def test_relative_paths_resolve_against_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data").mkdir()
    write(tmp_path / "data", rows(5))
    monkeypatch.chdir(tmp_path)
    assert len(replay("data/AAA_BTC.csv").candles("AAA/BTC")) == 5
    assert str(tmp_path / "data" / "missing.csv") in one_line_error("data/missing.csv")


def test_extra_columns_and_reordered_columns(tmp_path: Path) -> None:
    path = write(tmp_path, [f"{T0 + i * BAR},5,{i},2,1,3,4\n" for i in range(3)],
                 header="timestamp,trades,volume,close,low,high,open\n")
    candles = replay(path).candles("AAA/BTC")
    assert candles[1] == (T0 + BAR, 4.0, 3.0, 1.0, 2.0, 1.0)


def test_gap_in_a_written_file(tmp_path: Path) -> None:
    lines = rows(10)
    provider = replay(write(tmp_path, lines[:4] + lines[7:]))
    assert provider.gaps() == [("AAA/BTC", T0 + 4 * BAR, 3)]
    snap = provider.ais_data_snapshot(("AAA/BTC",), T0 + 8 * BAR)
    assert snap is not None
    assert snap.gaps == {"AAA/BTC"}
    assert snap.candles["AAA/BTC"].ts == T0 + 7 * BAR
    after = provider.ais_data_snapshot(("AAA/BTC",), T0 + 9 * BAR)
    assert after is not None
    assert after.gaps == frozenset()


def test_bar_is_inferred_or_checked(tmp_path: Path) -> None:
    hourly = write(tmp_path, rows(5, bar=3_600_000))
    assert replay(hourly).bar_ms == 3_600_000
    assert replay(hourly, bar="1h").bar_ms == 3_600_000
    assert "most bars in this file are 1h apart" in one_line_error(hourly, bar="5m")
    single = write(tmp_path, rows(1), name="ONE.csv")
    assert "set `bar`" in one_line_error(single)
    assert replay(single, bar="1m").bar_ms == 60_000


def test_bars_off_the_grid(tmp_path: Path) -> None:
    lines = [*rows(5), f"{T0 + 5 * BAR + 60_000},1,1,1,1,1\n"]
    assert "not a whole number of 5m bars" in one_line_error(write(tmp_path, lines))


def test_files_of_different_bar_lengths(tmp_path: Path) -> None:
    a = write(tmp_path, rows(5), name="A.csv")
    b = write(tmp_path, rows(5, bar=60_000), name="B.csv")
    with pytest.raises(ConfigError, match="different bar lengths"):
        make_instance(ReplayProvider, "feed", files={"A/X": str(a), "B/X": str(b)})


def test_window_without_bars(tmp_path: Path) -> None:
    assert "no bar of any symbol" in one_line_error(write(tmp_path, rows(5)), start="2030-01-01")


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({}, "set exactly one of `files` or `bundled` (got neither)"),
        ({"bundled": "binance-5m-2018-01", "files": {"A/B": "a.csv"}}, "(got both)"),
        ({"bundled": "binance-5m-2018-01", "bar": "5x"}, "whole number followed by s, m, h, d or w"),
        ({"bundled": "binance-5m-2018-01", "bar": "0m"}, "whole number"),
        ({"bundled": "binance-5m-2018-01", "start": "yesterday"}, "ISO date"),
        ({"bundled": "binance-5m-2018-01", "start": "2018-01-20", "end": "2018-01-10"}, "must be before"),
        ({"bundled": "binance-5m-2018-01", "speed": 2}, "extra"),
    ],
)
def test_config_validation(options: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError) as err:
        ReplayProvider.Config.model_validate(options)
    assert fragment in str(err.value)


def test_parquet(tmp_path: Path, shared_data: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    source = shared_data / "binance-5m-2018-01" / "ETH_BTC.csv"
    recorded = read_candles(source)
    columns = list(zip(*recorded, strict=True))
    table = pa.table({name: list(col) for name, col in zip(
        ("timestamp", "open", "high", "low", "close", "volume"), columns, strict=True)})
    path = tmp_path / "ETH_BTC.parquet"
    pq.write_table(table, path)
    provider = make_instance(ReplayProvider, "pq", files={"ETH/BTC": str(path)})
    assert provider.candles("ETH/BTC") == recorded
    assert provider.bar_ms == BAR
    # a datetime column works too, and errors name the row
    datetimes = pa.array(columns[0], pa.int64()).cast(pa.timestamp("ms", "UTC"))
    stamped = table.set_column(0, "timestamp", datetimes)
    pq.write_table(stamped, path)
    assert make_instance(ReplayProvider, "pq", files={"ETH/BTC": str(path)}).candles("ETH/BTC") == recorded
    backwards = pa.table({"timestamp": [2 * BAR, BAR], "open": [1.0, 1.0], "high": [1.0, 1.0],
                          "low": [1.0, 1.0], "close": [1.0, 1.0], "volume": [1.0, 1.0]})
    pq.write_table(backwards, path)
    with pytest.raises(ConfigError, match=r"row 2: timestamp .* out of order"):
        make_instance(ReplayProvider, "pq", files={"ETH/BTC": str(path)})


def test_bundled_files_are_package_data(tmp_path: Path) -> None:
    """The samples ship inside the package (so in the wheel), next to the code, with their README."""
    import ais_data_replay

    folder = Path(ais_data_replay.__file__).parent / "samples" / "binance-5m-2018-01"
    assert len(list(folder.glob("*.csv"))) == 9
    assert "freqtrade" in (folder / "README.md").read_text()
    shutil.copy(folder / "ETH_BTC.csv", tmp_path / "ETH_BTC.csv")
    assert len(replay(tmp_path / "ETH_BTC.csv").candles("AAA/BTC")) == 5760
