"""The exchange conformance suite, in memory and with a durable state file, plus discovery."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest
from ais_exchange_paper.venue import PaperExchange

from ais.testing import make_instance
from ais.testing.conformance import ExchangeContract


class TestPaperContract(ExchangeContract):
    @pytest.fixture
    def exchange(self) -> PaperExchange:
        return make_instance(PaperExchange, "paper")


class TestDurablePaperContract(ExchangeContract):
    @pytest.fixture
    def exchange(self, tmp_path: Path) -> PaperExchange:
        return make_instance(PaperExchange, "paper", state=str(tmp_path / "venue.sqlite"))


def test_entry_point_names_the_venue_class() -> None:
    (ep,) = [ep for ep in entry_points(group="ais.exchanges") if ep.name == "paper"]
    assert ep.load() is PaperExchange
