"""How the host hands a venue's per-bar hook to the coordinator: an ``ExchangeAdapter`` is called at its
``on_market`` directly, one without ``on_market`` not at all, any other plugin through its hook."""

from __future__ import annotations

from typing import Any

from ais import PluginConfig
from ais.domain.market import MarketSnapshot
from ais.domain.orders import Order
from ais.exchange import ExchangeAdapter
from ais.markers import hookimpl
from ais.plugins.base import Plugin
from ais.plugins.host import ignore_market
from ais.testing.fakes import host_with


class Simulated(ExchangeAdapter[PluginConfig]):
    def __init__(self, name: str, config: PluginConfig) -> None:
        super().__init__(name, config)
        self.seen: list[int] = []

    def on_market(self, snapshot: MarketSnapshot) -> None:
        self.seen.append(snapshot.ts)


class Remote(ExchangeAdapter[PluginConfig]):
    """A live venue: nothing to do with the bars."""


class OwnHook(Plugin[PluginConfig]):
    """A venue written against the hooks directly, not the adapter base class."""

    def __init__(self, name: str, config: PluginConfig) -> None:
        super().__init__(name, config)
        self.seen: list[int] = []

    @hookimpl
    def ais_exchange_on_market(self, snapshot: MarketSnapshot) -> None:
        self.seen.append(snapshot.ts)

    @hookimpl
    def ais_exchange_submit(self, order: Order) -> None:  # required of a venue; not used here
        raise NotImplementedError


def handle(obj: Any) -> Any:
    return host_with(("exchanges", obj)).exchange(obj.name)


def test_adapter_is_called_at_its_on_market() -> None:
    venue = Simulated("sim", PluginConfig())
    on_market = handle(venue).on_market
    assert on_market == venue.on_market  # the bound method itself: no hook wrapper in between
    on_market(MarketSnapshot(ts=5))
    assert venue.seen == [5]


def test_adapter_without_on_market_is_not_called() -> None:
    assert handle(Remote("remote", PluginConfig())).on_market is ignore_market


def test_plugin_with_its_own_hook_keeps_it() -> None:
    venue = OwnHook("own", PluginConfig())
    on_market = handle(venue).on_market
    on_market(MarketSnapshot(ts=7))
    assert venue.seen == [7]
