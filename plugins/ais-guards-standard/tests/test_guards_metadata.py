"""The distribution as core sees it: entry points that load, config models, documented reason codes."""

from __future__ import annotations

import re
from importlib.metadata import distribution
from pathlib import Path

import pytest

from ais import PluginConfig
from ais.testing import host_with, make_instance

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
DOCS = HERE.parents[2] / "docs" / "plugins" / "guards-standard.md"

EXPECTED = {
    "max_drawdown": "ais_guards_standard.drawdown:MaxDrawdown",
    "daily_loss": "ais_guards_standard.daily_loss:DailyLoss",
    "max_leverage": "ais_guards_standard.exposure:MaxLeverage",
    "exposure": "ais_guards_standard.exposure:Exposure",
    "max_position_weight": "ais_guards_standard.exposure:MaxPositionWeight",
    "min_liquidity": "ais_guards_standard.liquidity:MinLiquidity",
    "max_order_notional": "ais_guards_standard.orders:MaxOrderNotional",
    "order_rate": "ais_guards_standard.orders:OrderRate",
}

#: Enough options to build each guard.
MINIMAL = {
    "max_drawdown": {"max_drawdown": 0.2},
    "daily_loss": {"max_daily_loss": 0.05},
    "max_leverage": {"max_leverage": 1.0},
    "exposure": {"max_gross": 1.0},
    "max_position_weight": {"max_weight": 0.25},
    "min_liquidity": {},
    "max_order_notional": {"max_notional": 1000.0},
    "order_rate": {"max_orders": 10, "per_seconds": 60},
}


def entry_points() -> dict[str, object]:
    eps = [ep for ep in distribution("ais-guards-standard").entry_points if ep.group == "ais.guards"]
    return {ep.name: ep for ep in eps}


def test_entry_points_are_the_documented_ones() -> None:
    assert {name: ep.value for name, ep in entry_points().items()} == EXPECTED  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_entry_point_loads_and_registers(name: str) -> None:
    cls = entry_points()[name].load()  # type: ignore[attr-defined]
    assert issubclass(cls.Config, PluginConfig)
    assert cls.Config is not PluginConfig
    for field_name, field in cls.Config.model_fields.items():
        assert field.description, f"{name}.{field_name} has no description"
    assert cls.reason_codes
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_]*", c) for c in cls.reason_codes)
    guard = make_instance(cls, name, **MINIMAL[name])
    host_with(("guards", guard))


@pytest.mark.parametrize("page", [README, DOCS], ids=["README", "docs"])
def test_every_guard_key_and_reason_code_is_documented(page: Path) -> None:
    text = page.read_text()
    for name, ep in entry_points().items():
        cls = ep.load()  # type: ignore[attr-defined]
        assert f"`{name}`" in text, f"{page.name}: guard {name} missing"
        for key in cls.Config.model_fields:
            assert f"`{key}`" in text, f"{page.name}: key {name}.{key} missing"
        for code in cls.reason_codes:
            assert f"`{code}`" in text, f"{page.name}: reason code {code} missing"
