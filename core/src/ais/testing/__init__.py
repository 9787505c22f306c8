"""The test kit for plugin authors. Activate it in a ``conftest.py``::

    pytest_plugins = ["ais.testing"]

Fixtures: ``ais_host`` (a plugin host with nothing auto-loaded), ``ais_registered`` (register
plugin objects and start them), ``fake_clock``, ``fake_market``, ``fake_exchange``, ``shared_data``
(recorded candles, when present). Conformance suites
per kind live in ``ais.testing.conformance``; fakes and builders in ``ais.testing.fakes``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from ais.plugins.host import PluginHost
from ais.testing.fakes import (
    FakeClock,
    FakeExchange,
    FakeMarket,
    host_with,
    loaded,
    make_instance,
    market_data_dir,
    read_candles,
    registered,
    synthetic_candles,
)

__all__ = [
    "FakeClock",
    "FakeExchange",
    "FakeMarket",
    "host_with",
    "loaded",
    "make_instance",
    "market_data_dir",
    "read_candles",
    "registered",
    "synthetic_candles",
]


@pytest.fixture
def ais_host() -> PluginHost:
    """A plugin host with the hook specifications and no plugin at all (nothing auto-loaded)."""
    return PluginHost()


@pytest.fixture
def ais_registered() -> Iterator[Callable[..., PluginHost]]:
    """``host = ais_registered(("agents", agent), ("guards", guard))``: registered and started; shut
    down at the end of the test."""
    with ExitStack() as stack:

        def register(*plugins: tuple[str, Any]) -> PluginHost:
            return stack.enter_context(registered(*plugins))

        yield register


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The recorded market data folder (see ``market_data_dir``); skips the test if it is absent."""
    path = market_data_dir()
    if not path.is_dir():
        pytest.skip(f"no recorded market data at {path} (set AIS_TEST_DATA)")
    return path


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_market() -> FakeMarket:
    """Two symbols of 2,000 deterministic one-minute candles."""
    return FakeMarket(
        {"AAA/USD": synthetic_candles(2000, seed=1), "BBB/USD": synthetic_candles(2000, seed=2)}
    )


@pytest.fixture
def fake_exchange() -> FakeExchange:
    return FakeExchange()
