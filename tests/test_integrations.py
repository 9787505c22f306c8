"""Integration plugins for real: a third-party distribution (built and installed by the test) that
reacts to events, adds an `ais` command and an API route; the control-plane API over HTTP on
127.0.0.1; an integration that raises never blocks trading."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import AIS, ROOT, SECRET, build_plugin, run_ais

RECORDER = """
import pathlib
from ais import Plugin, PluginConfig, hookimpl
from ais.extensions import ApiRoute, CliCommand


class Config(PluginConfig):
    path: str
    fail_on: str = ""


class Plugin(Plugin):
    Config = Config

    @hookimpl
    def ais_on_event(self, event):
        if event.type == self.config.fail_on:
            raise RuntimeError("recorder is broken on purpose")
        with open(self.config.path, "a") as out:
            out.write(event.type + "\\n")

    @hookimpl
    def ais_cli_commands(self):
        def run(args):
            print(f"hello {args.name} from {self.name}")
            return 0

        return [CliCommand("hello", "say hello", lambda p: p.add_argument("name"), run)]

    @hookimpl
    def ais_api_routes(self):
        def count(query):
            path = pathlib.Path(self.config.path)
            return {"lines": len(path.read_text().splitlines()) if path.exists() else 0}

        return [ApiRoute("GET", "/recorder/count", count, "events recorded")]
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_plugin(
        tmp_path_factory.mktemp("rec"), "ais-integrations-recorder", "integrations", "recorder", RECORDER
    )


def config_with_recorder(tmp_path: Path, extra: str = "") -> Path:
    config = tmp_path / "ais.toml"
    config.write_text(
        (ROOT / "ais.toml").read_text() + f'\n[integrations.recorder]\npath = "{tmp_path / "log"}"\n{extra}'
    )
    return config


def run_with_recorder(site: Path, tmp_path: Path, extra: str = "") -> subprocess.CompletedProcess[str]:
    """2,000 cycles of the default config with the recorder integration enabled."""
    config = config_with_recorder(tmp_path, extra)
    store = str(tmp_path / "s.sqlite")
    return run_ais(
        "run",
        "--config",
        str(config),
        "--store",
        store,
        "--cycles",
        "2000",
        "--json",
        env={"PYTHONPATH": str(site)},
    )


def test_events_reach_the_integration_in_order(site: Path, tmp_path: Path) -> None:
    result = run_with_recorder(site, tmp_path)
    assert result.returncode == 0, result.stderr
    seen = (tmp_path / "log").read_text().splitlines()
    assert seen[0] == "run.start" and seen[-1] == "run.end"
    assert {"decision", "order.intent", "order.submitted", "order.fill"} <= set(seen)
    stored = json.loads(run_ais("events", "--json", "--store", str(tmp_path / "s.sqlite")).stdout)
    assert seen == [e["type"] for e in stored]  # every stored event, once, in store order


def test_an_integration_that_raises_never_blocks_trading(site: Path, tmp_path: Path) -> None:
    result = run_with_recorder(site, tmp_path, 'fail_on = "decision"')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["orders"] > 0
    errors = json.loads(
        run_ais(
            "events", "--type", "integration.error", "--json", "--store", str(tmp_path / "s.sqlite")
        ).stdout
    )
    assert errors and errors[0]["payload"]["integration"] == "integrations.recorder"
    assert "broken on purpose" in errors[0]["payload"]["error"]


def test_plugin_cli_command(site: Path, tmp_path: Path) -> None:
    config = config_with_recorder(tmp_path)
    result = run_ais("hello", "world", "--config", str(config), env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hello world from recorder"


def http(url: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url,
        data=data,
        method="POST" if data is not None else "GET",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_control_plane_api(site: Path, tmp_path: Path) -> None:
    config = config_with_recorder(tmp_path)
    store = tmp_path / "s.sqlite"
    env_extra = {"PYTHONPATH": str(site)}
    assert (
        run_ais(
            "run", "--config", str(config), "--store", str(store), "--cycles", "300", env=env_extra
        ).returncode
        == 0
    )
    import os

    env = (
        {k: v for k, v in os.environ.items() if not k.startswith("AIS_")}
        | env_extra
        | {"AIS_RISK_HMAC_SECRET": SECRET}
    )
    server = subprocess.Popen(
        [AIS, "api", "--port", "0", "--config", str(config), "--store", str(store)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = server.stdout.readline()  # type: ignore[union-attr]
        assert "listening on http://127.0.0.1:" in line, line
        base = line.split()[4]
        status, body = http(f"{base}/status")
        assert status == 200 and body["risk_state"] == "active"
        status, body = http(f"{base}/events?type=run.start&limit=5")
        assert status == 200 and [e["type"] for e in body] == ["run.start"]
        status, body = http(f"{base}/recorder/count")
        assert status == 200 and body["lines"] > 10
        assert http(f"{base}/kill", {})[0] == 400  # a reason is required
        assert http(f"{base}/kill", {"reason": "api drill"}) == (
            200,
            {"state": "halted", "previous": "active"},
        )
        assert http(f"{base}/status")[1]["risk_state"] == "halted"
        assert http(f"{base}/rearm", {"reason": "drill over"})[0] == 200
        assert http(f"{base}/rearm", {"reason": "again"})[0] == 409
        status, body = http(f"{base}/nope")
        assert status == 404 and "GET /recorder/count" in body["routes"]
    finally:
        server.terminate()
        server.wait(timeout=10)
    audit = run_ais("audit", "verify", "--store", str(store))
    assert audit.returncode == 0
