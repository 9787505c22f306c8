"""Acceptance 2: a third-party plugin built and installed by the test is listed without being
imported, loads when enabled, and a broken one stops `ais run` (exit 3) but not `ais plugins`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import build_plugin, one_line_error, run_ais

GOOD = """
import os, pathlib
pathlib.Path(os.environ["AIS_TEST_MARKER"]).write_text("imported")
from ais import Plugin, PluginConfig, hookimpl
from pydantic import Field

class Config(PluginConfig):
    lookback: int = Field(3, gt=0)

class Plugin(Plugin):
    Config = Config

    @hookimpl
    def ais_agent_signals(self, snapshot, context):
        return []
"""

BROKEN = """
raise ImportError("this plugin is broken on purpose")
"""

OTHER_API = """
from ais import Plugin as Base, hookimpl

class Plugin(Base):
    ais_api_version = "2.0"

    @hookimpl
    def ais_agent_signals(self, snapshot, context):
        return []
"""

CONFIG = """
[ais]
mode = "paper"
symbols = ["ETH/BTC"]

[data.market]
plugin = "replay"
bundled = "binance-5m-2018-01"
symbols = ["ETH/BTC"]

[agents.third]
plugin = "{name}"
{extra}

[arbitration.weighted]

[guards.cap]
plugin = "max_order_notional"
max_notional = 1.0

[exchanges.paper]
balances = {{ BTC = 1.0 }}
"""


def env_for(site: Path, marker: Path) -> dict[str, str]:
    return {"PYTHONPATH": str(site), "AIS_TEST_MARKER": str(marker)}


@pytest.fixture(scope="module")
def good_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_plugin(
        tmp_path_factory.mktemp("good"), "ais-agents-thirdparty", "agents", "thirdparty", GOOD
    )


def write_config(tmp_path: Path, name: str, extra: str = "") -> Path:
    path = tmp_path / "ais.toml"
    path.write_text(CONFIG.format(name=name, extra=extra))
    return path


def test_listed_not_enabled_not_imported(good_site: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    config = tmp_path / "other.toml"
    config.write_text(CONFIG.format(name="momentum", extra=""))
    result = run_ais("plugins", "list", "--json", "--config", str(config), env=env_for(good_site, marker))
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert all(set(row) == {"name", "kind", "distribution", "version", "enabled", "status"} for row in rows)
    mine = [r for r in rows if r["name"] == "thirdparty"]
    assert mine == [
        {
            "name": "thirdparty",
            "kind": "agents",
            "distribution": "ais-agents-thirdparty",
            "version": "1.2.3",
            "enabled": False,
            "status": "available",
        }
    ]
    for command in (["config", "check"], ["config", "show"], ["plugins", "doctor"]):
        run_ais(*command, "--config", str(config), env=env_for(good_site, marker))
    assert not marker.exists(), "an installed but not enabled plugin was imported"


def test_enabled_plugin_loads_in_doctor(good_site: Path, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    config = write_config(tmp_path, "thirdparty", "lookback = 7")
    listed = run_ais("plugins", "list", "--json", "--config", str(config), env=env_for(good_site, marker))
    assert not marker.exists()
    assert [r["enabled"] for r in json.loads(listed.stdout) if r["name"] == "thirdparty"] == [True]
    doctor = run_ais("plugins", "doctor", "--config", str(config), env=env_for(good_site, marker))
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "agents.third: thirdparty (ais-agents-thirdparty 1.2.3) hooks: ais_agent_signals" in doctor.stdout
    assert marker.read_text() == "imported"
    shown = run_ais("config", "show", "--json", "--config", str(config), env=env_for(good_site, marker))
    assert json.loads(shown.stdout)["agents"]["third"] == {
        "plugin": "thirdparty",
        "enabled": True,
        "weight": 1.0,
        "lookback": 7,
    }


def test_plugin_config_error_names_the_key(good_site: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path, "thirdparty", "lookback = -3")
    result = run_ais("config", "check", "--config", str(config), env=env_for(good_site, tmp_path / "m"))
    assert result.returncode == 2
    assert one_line_error(result).endswith("agents.third.lookback: must be an integer > 0 (got -3)")


def test_broken_plugin_stops_run_not_listing(tmp_path: Path) -> None:
    site = build_plugin(tmp_path, "ais-agents-broken", "agents", "broken", BROKEN)
    config = write_config(tmp_path, "broken")
    env = env_for(site, tmp_path / "marker")
    run = run_ais("run", "--config", str(config), "--store", str(tmp_path / "s.sqlite"), env=env)
    assert run.returncode == 3
    line = one_line_error(run)
    assert "agents.third" in line and "'broken'" in line and "ais-agents-broken 1.2.3" in line
    assert "this plugin is broken on purpose" in line
    assert not (tmp_path / "s.sqlite").exists(), "nothing may be written when a run refuses to start"
    listing = run_ais("plugins", "list", "--config", str(config), env=env)
    assert listing.returncode == 0 and "broken" in listing.stdout
    doctor = run_ais("plugins", "doctor", "--config", str(config), env=env)
    assert doctor.returncode == 3 and "FAIL  agents.third" in doctor.stdout


def test_other_api_major_is_refused_naming_both_versions(tmp_path: Path) -> None:
    site = build_plugin(tmp_path, "ais-agents-future", "agents", "future", OTHER_API)
    config = write_config(tmp_path, "future")
    result = run_ais(
        "run",
        "--config",
        str(config),
        "--store",
        str(tmp_path / "s.sqlite"),
        env=env_for(site, tmp_path / "m"),
    )
    assert result.returncode == 3
    line = one_line_error(result)
    assert "built for AIS plugin API 2.0" in line and "provides 1.0" in line


def test_no_plugins_switch(good_site: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path, "thirdparty")
    env = env_for(good_site, tmp_path / "marker") | {"AIS_NO_PLUGINS": "1"}
    listing = run_ais("plugins", "list", "--json", "--config", str(config), env=env)
    assert {r["status"] for r in json.loads(listing.stdout)} == {"blocked"}
    run = run_ais("run", "--config", str(config), "--store", str(tmp_path / "s.sqlite"), env=env)
    assert run.returncode == 3 and "AIS_NO_PLUGINS=1" in one_line_error(run)
    assert not (tmp_path / "marker").exists()
