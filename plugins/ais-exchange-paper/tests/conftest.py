"""Fixtures for the paper venue's tests (plain helpers are in ``paper_kit``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from ais_exchange_paper.venue import PaperExchange
from paper_kit import DATA, VENUE, start

from ais.domain.market import Candle
from ais.risk.tokens import Keyring

pytest_plugins = ["ais.testing"]


@pytest.fixture(scope="session")
def eth_btc() -> list[Candle]:
    """Real Binance 5-minute ETH/BTC candles, January 2018."""
    from ais.testing import read_candles  # not at import time: pytest_plugins must load ais.testing first

    return read_candles(DATA / "ETH_BTC.csv")


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.ephemeral()


@pytest.fixture
def venue_factory(keyring: Keyring) -> Callable[..., PaperExchange]:
    """``venue_factory(fee_bps=0, ...)``: a started paper venue named ``paper`` with these options."""

    from ais.testing import make_instance

    def build(**options: Any) -> PaperExchange:
        return start(make_instance(PaperExchange, VENUE, **options), keyring)

    return build
