"""Markets for the intel agents' tests: recorded funding rates served beside candles, no look-ahead."""

from __future__ import annotations

import bisect
import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

from ais.domain.market import Candle, FundingRate, MarketSnapshot
from ais.markers import hookimpl
from ais.testing import FakeMarket

XRP = "XRP/USDT:USDT"
FUTURES = "binance-futures-2021-11"


def read_funding(path: str | Path) -> list[FundingRate]:
    """Funding rates from a CSV with ``timestamp,funding_rate`` (timestamp in ms)."""
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        assert [h.strip().lower() for h in header[:2]] == ["timestamp", "funding_rate"], header
        return [FundingRate(int(float(r[0])), float(r[1])) for r in reader if r]


class FundingMarket(FakeMarket):
    """A ``FakeMarket`` whose snapshots also carry, per symbol, the latest funding rate with
    ``ts <= `` the snapshot time (as the replay provider serves it)."""

    def __init__(
        self,
        candles: Mapping[str, Sequence[Candle]],
        funding: Mapping[str, Sequence[FundingRate]],
        bar_ms: int | None = None,
    ) -> None:
        super().__init__(candles, bar_ms)
        self.funding = {s: list(rates) for s, rates in funding.items()}
        self._funding_times = {s: [r.ts for r in rates] for s, rates in self.funding.items()}

    def latest(self, symbol: str, now_ms: int) -> FundingRate | None:
        times = self._funding_times.get(symbol)
        if not times:
            return None
        i = bisect.bisect_right(times, now_ms) - 1
        return self.funding[symbol][i] if i >= 0 else None

    @hookimpl
    def ais_data_snapshot(self, symbols: tuple[str, ...], now_ms: int) -> MarketSnapshot | None:
        snap = super().ais_data_snapshot(symbols, now_ms)
        if snap is None:
            return None
        funding = {s: rate for s in symbols if (rate := self.latest(s, now_ms)) is not None}
        return snap._replace(funding=funding) if funding else snap  # snapshots are read, never changed
