"""The data-provider conformance suite, run against the bundled market and against plain files."""

from __future__ import annotations

from pathlib import Path

import pytest
from ais_data_replay.provider import ReplayProvider

from ais.testing import make_instance
from ais.testing.conformance import DataProviderContract


class TestBundledReplay(DataProviderContract):
    @pytest.fixture
    def provider(self) -> ReplayProvider:
        return make_instance(ReplayProvider, "market", bundled="binance-5m-2018-01")

    @pytest.fixture
    def symbols(self) -> tuple[str, ...]:
        return ("ETH/BTC", "ADA/BTC", "TRX/BTC")


class TestFileReplay(DataProviderContract):
    @pytest.fixture
    def provider(self, shared_data: Path) -> ReplayProvider:
        futures = shared_data / "binance-futures-2021-11"
        return make_instance(
            ReplayProvider,
            "futures",
            files={"XRP/USDT:USDT": str(futures / "XRP_USDT_USDT-1h.csv")},
            funding={"XRP/USDT:USDT": str(futures / "XRP_USDT_USDT-8h-funding.csv")},
        )

    @pytest.fixture
    def symbols(self) -> tuple[str, ...]:
        return ("XRP/USDT:USDT",)


class TestOneFileWithGapsReplay(DataProviderContract):
    """One series: the timeline is its own close times (the stream's one-series path); ADA/BTC has gaps."""

    @pytest.fixture
    def provider(self, shared_data: Path) -> ReplayProvider:
        ada = shared_data / "binance-5m-2018-01" / "ADA_BTC.csv"
        provider = make_instance(ReplayProvider, "ada", files={"ADA/BTC": str(ada)})
        assert provider.gaps(), "the test needs a series with gaps"
        return provider

    @pytest.fixture
    def symbols(self) -> tuple[str, ...]:
        return ("ADA/BTC",)
