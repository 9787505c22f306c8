"""The distribution as core sees it: the entry point loads, every key is described and documented."""

from __future__ import annotations

from importlib.metadata import distribution
from pathlib import Path

import pytest
from ais_arbitration_weighted.arbitration import WeightedArbitration
from ais_arbitration_weighted.scoring import REGIMES

from ais.testing import host_with, make_instance

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
DOCS = HERE.parents[2] / "docs" / "plugins" / "arbitration-weighted.md"


def test_entry_point_loads_the_plugin() -> None:
    eps = distribution("ais-arbitration-weighted").entry_points
    [ep] = [ep for ep in eps if ep.group == "ais.arbitration"]
    assert ep.name == "weighted"
    assert ep.load() is WeightedArbitration
    host_with(("arbitration", make_instance(ep.load(), "weighted")))


@pytest.mark.parametrize("page", [README, DOCS], ids=["README", "docs"])
def test_every_key_and_regime_is_documented(page: Path) -> None:
    text = page.read_text()
    for key, field in WeightedArbitration.Config.model_fields.items():
        assert field.description
        assert f"`{key}`" in text, f"{page.name}: key {key} missing"
    for regime in REGIMES:
        assert f"`{regime}`" in text, f"{page.name}: regime {regime} missing"
