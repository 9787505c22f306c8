"""The column cache: a second load of an unchanged file reads the cache, any change of the file is a
miss, a damaged cache entry is ignored, ``cache = false`` never touches it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ais_data_replay import cache as column_cache
from ais_data_replay.provider import ReplayProvider
from ais_data_replay.readers import load_candles, load_funding

from ais.testing import make_instance


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("AIS_CACHE_DIR", str(folder))
    return folder / "replay"


@pytest.fixture
def eth(shared_data: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "ETH_BTC.csv"
    copy.write_bytes((shared_data / "binance-5m-2018-01" / "ETH_BTC.csv").read_bytes())
    return copy


def columns_of(loaded: object) -> list[list[float]]:
    cols = loaded.columns  # type: ignore[attr-defined]
    return [list(cols.times), *(list(v) for v in cols.values)]


def test_second_load_reads_the_cache(eth: Path, private_cache: Path) -> None:
    parsed = load_candles(eth, "eth", cache=True)
    entries = list(private_cache.glob("*.bin"))
    assert len(entries) == 1
    hit = column_cache.read(eth, "volume", 5)
    assert hit is not None, "the entry is found for the unchanged file"
    assert columns_of(hit) == columns_of(parsed)
    again = load_candles(eth, "eth", cache=True)
    assert columns_of(again) == columns_of(parsed) and again.duplicates == parsed.duplicates


def test_a_changed_file_is_a_miss(eth: Path, private_cache: Path) -> None:
    first = load_candles(eth, "eth", cache=True)
    lines = eth.read_text().splitlines()
    eth.write_text("\n".join(lines[:-10]) + "\n")  # ten bars fewer: another size and time
    second = load_candles(eth, "eth", cache=True)
    assert len(second.columns) == len(first.columns) - 10
    assert len(list(private_cache.glob("*.bin"))) == 2
    stat = eth.stat()
    os.utime(eth, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # touched only: still a miss
    assert column_cache.read(eth, "volume", 5) is None


def test_a_damaged_entry_is_ignored_and_replaced(eth: Path, private_cache: Path) -> None:
    parsed = load_candles(eth, "eth", cache=True)
    (entry,) = private_cache.glob("*.bin")
    entry.write_bytes(entry.read_bytes()[:1000])  # truncated
    assert column_cache.read(eth, "volume", 5) is None
    again = load_candles(eth, "eth", cache=True)
    assert columns_of(again) == columns_of(parsed)
    assert column_cache.read(eth, "volume", 5) is not None, "rewritten whole"


def test_candles_and_funding_of_one_file_do_not_collide(shared_data: Path, private_cache: Path) -> None:
    funding = shared_data / "binance-futures-2021-11" / "XRP_USDT_USDT-8h-funding.csv"
    rates = load_funding(funding, "xrp", cache=True)
    assert column_cache.read(funding, "volume", 5) is None
    cached = column_cache.read(funding, "funding_rate", 1)
    assert cached is not None and columns_of(cached) == columns_of(rates)


def test_an_unwritable_cache_folder_only_costs_the_parse(eth: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("AIS_CACHE_DIR", str(blocker))
    loaded = load_candles(eth, "eth", cache=True)
    assert len(loaded.columns) > 5000


def test_the_provider_uses_the_cache_unless_told_not_to(eth: Path, private_cache: Path) -> None:
    make_instance(ReplayProvider, "off", files={"ETH/BTC": str(eth)}, cache=False)
    assert not private_cache.exists()
    first = make_instance(ReplayProvider, "on", files={"ETH/BTC": str(eth)})
    assert len(list(private_cache.glob("*.bin"))) == 1
    second = make_instance(ReplayProvider, "again", files={"ETH/BTC": str(eth)})
    assert second.candles("ETH/BTC") == first.candles("ETH/BTC")
