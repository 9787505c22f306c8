"""The `ais` CLI as a user meets it: the default run, one-line errors with documented exit codes,
the operator commands against a real store."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import ROOT, one_line_error, run_ais

DEFAULT = str(ROOT / "ais.toml")


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    store = tmp_path_factory.mktemp("default") / "events.sqlite"
    result = run_ais("run", "--config", DEFAULT, "--store", str(store), "--json")
    assert result.returncode == 0, result.stderr
    return store, json.loads(result.stdout)


def test_default_run_trades_and_a_guard_rejects(default_run: tuple[Path, dict]) -> None:
    _, summary = default_run
    assert summary["mode"] == "paper" and summary["end_reason"] == "completed"
    assert summary["cycles"] > 5000
    assert summary["orders"] > 10 and summary["fills"] >= summary["orders"] - 2
    assert sum(summary["rejections"].values()) > 0
    assert summary["fees"] > 0
    assert summary["risk_state"] == "active"
    assert set(summary) >= {"signals", "final_equity", "return", "max_drawdown"}


def test_default_run_human_summary(tmp_path: Path) -> None:
    result = run_ais("run", "--config", DEFAULT, "--store", str(tmp_path / "s.sqlite"), "--cycles", "300")
    assert result.returncode == 0, result.stderr
    for word in (
        "cycles      300",
        "signals",
        "orders",
        "fills",
        "rejections",
        "fees",
        "equity",
        "max drawdown",
        "risk state  ACTIVE",
    ):
        assert word in result.stdout


def test_audit_verify_and_tamper(default_run: tuple[Path, dict], tmp_path: Path) -> None:
    store, _ = default_run
    ok = run_ais("audit", "verify", "--store", str(store))
    assert ok.returncode == 0 and "hash chain intact" in ok.stdout
    copy = tmp_path / "copy.sqlite"
    shutil.copy(store, copy)
    db = sqlite3.connect(copy)
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("DELETE FROM events WHERE seq = 10")
    db.execute("DROP TRIGGER events_no_update")
    db.execute("UPDATE events SET payload = '{}' WHERE seq = 42")
    db.commit()
    db.close()
    bad = run_ais("audit", "verify", "--store", str(copy))
    assert bad.returncode == 1
    assert "seq 42" in bad.stdout + bad.stderr


def test_status_and_events(default_run: tuple[Path, dict]) -> None:
    store, summary = default_run
    status = run_ais("status", "--json", "--store", str(store))
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["risk_state"] == "active" and data["run_id"] == summary["run_id"] and not data["run_open"]
    assert data["summary"]["orders"] == summary["orders"]
    fills = json.loads(run_ais("events", "--type", "order.fill", "--json", "--store", str(store)).stdout)
    assert len(fills) == summary["fills"]
    assert all("client_order_id" in e["payload"] for e in fills)


def test_kill_and_rearm(tmp_path: Path) -> None:
    store = str(tmp_path / "s.sqlite")
    assert run_ais("run", "--config", DEFAULT, "--store", store, "--cycles", "50").returncode == 0
    assert run_ais("rearm", "--reason", "nothing", "--store", store).returncode == 1  # not halted
    kill = run_ais("kill", "--reason", "operator drill", "--store", store)
    assert kill.returncode == 0 and "HALTED" in kill.stdout
    halted = json.loads(run_ais("run", "--config", DEFAULT, "--store", store, "--json").stdout)
    assert halted["risk_state"] == "halted" and halted["orders"] == 0
    assert halted["rejections"].get("RISK_HALTED", 0) > 0
    rearm = run_ais("rearm", "--reason", "drill over", "--store", store)
    assert rearm.returncode == 0
    again = json.loads(
        run_ais("run", "--config", DEFAULT, "--store", store, "--json", "--cycles", "2000").stdout
    )
    assert again["risk_state"] == "active" and again["orders"] > 0
    audit = json.loads(run_ais("events", "--type", "risk.state", "--json", "--store", store).stdout)
    assert [(e["payload"]["state"], e["payload"]["by"], e["payload"]["reason"]) for e in audit] == [
        ("halted", "operator", "operator drill"),
        ("active", "operator", "drill over"),
    ]


@pytest.mark.parametrize("secret", [None, "too-short"])
def test_paper_without_a_strong_secret_refuses_and_writes_nothing(tmp_path: Path, secret: str | None) -> None:
    env = {"AIS_RISK_HMAC_SECRET": secret} if secret else {}
    store = tmp_path / "s.sqlite"
    result = run_ais("run", "--config", DEFAULT, "--store", str(store), env=env, secret=False)
    assert result.returncode == 4
    assert "AIS_RISK_HMAC_SECRET" in one_line_error(result)
    assert not store.exists()


def test_live_without_gates_refuses(tmp_path: Path) -> None:
    config = tmp_path / "live.toml"
    config.write_text((ROOT / "ais.toml").read_text().replace('mode = "paper"', 'mode = "live"'))
    no_flag = run_ais(
        "run",
        "--config",
        str(config),
        "--store",
        str(tmp_path / "s.sqlite"),
        env={"AIS_ENABLE_LIVE_TRADING": "1"},
    )
    assert no_flag.returncode == 2 and "--live" in one_line_error(no_flag)
    no_env = run_ais("run", "--live", "--config", str(config), "--store", str(tmp_path / "s.sqlite"))
    assert no_env.returncode == 2 and "AIS_ENABLE_LIVE_TRADING=1" in one_line_error(no_env)
    assert not (tmp_path / "s.sqlite").exists()


CONFIG_ERRORS = [
    ("malformed", lambda t: t + "\n[guards.broken\n", "invalid TOML", "line"),
    (
        "unknown key",
        lambda t: t.replace("fast = 12", "fast = 12\nfsat = 3"),
        "agents.fast_momentum.fsat: unknown key (did you mean 'fast'?)",
        None,
    ),
    (
        "wrong type",
        lambda t: t.replace("fast = 12", 'fast = "twelve"'),
        "agents.fast_momentum.fast: must be an integer",
        None,
    ),
    (
        "out of range",
        lambda t: t.replace("fast = 12", "fast = -3"),
        "agents.fast_momentum.fast: must be an integer > 0 (got -3)",
        None,
    ),
    (
        "literal secret",
        lambda t: t + '\n[exchanges.paper.markets."ETH/BTC"]\nlot_size = "x"\n',
        "exchanges.paper.markets.ETH/BTC.lot_size",
        None,
    ),
    (
        "unknown plugin",
        lambda t: t.replace('plugin = "replay"', 'plugin = "replai"'),
        "data.market.plugin: no installed data plugin named 'replai' (did you mean 'replay'?)",
        None,
    ),
    (
        "core range",
        lambda t: t.replace("token_ttl = 300", "token_ttl = 0"),
        "risk.token_ttl: must be an integer > 0",
        None,
    ),
]


@pytest.mark.parametrize(
    ("name", "edit", "expected", "also"), CONFIG_ERRORS, ids=[c[0] for c in CONFIG_ERRORS]
)
def test_config_errors_are_one_line_exit_2(
    tmp_path: Path, name: str, edit: object, expected: str, also: str | None
) -> None:
    config = tmp_path / "ais.toml"
    config.write_text(edit((ROOT / "ais.toml").read_text()))  # type: ignore[operator]
    for command in (["config", "check"], ["run", "--store", str(tmp_path / "s.sqlite")]):
        result = run_ais(*command, "--config", str(config))
        assert result.returncode == 2, (command, result.stderr)
        line = one_line_error(result)
        assert str(config) in line and expected in line
        if also:
            assert also in line
    assert not (tmp_path / "s.sqlite").exists()


def test_literal_secret_in_a_plugin_config(tmp_path: Path) -> None:
    """A secret field given a literal value is refused without echoing it (uses the test kit's
    knowledge that core's Secret type backs every secret field)."""
    from pydantic import ValidationError

    from ais import PluginConfig, Secret
    from ais.config.messages import first_error_line

    class Keys(PluginConfig):
        api_key: Secret

    with pytest.raises(ValidationError) as err:
        Keys.model_validate({"api_key": "sk-live-123"})
    line = first_error_line("ais.toml", ["exchanges", "venue"], err.value, Keys)
    assert (
        line == "ais.toml: exchanges.venue.api_key: must be a secret reference "
        '{ env = "NAME" } or { file = "path" }, not a literal value'
    )


def test_usage_errors(tmp_path: Path) -> None:
    unknown = run_ais("frobnicate", "--config", DEFAULT)
    assert unknown.returncode == 2 and "unknown command 'frobnicate'" in one_line_error(unknown)
    bad = run_ais("run", "--cycles", "0", "--config", DEFAULT, "--store", str(tmp_path / "s.sqlite"))
    assert bad.returncode == 2 and "--cycles" in one_line_error(bad)
    missing = run_ais("plugins", "bogus")
    assert missing.returncode == 2
    one_line_error(missing)
    nofile = run_ais("config", "check", "--config", str(tmp_path / "none.toml"))
    assert nofile.returncode == 2 and "no such file" in one_line_error(nofile)


def test_config_show_redacts_and_fills_defaults(tmp_path: Path) -> None:
    shown = run_ais("config", "show", "--json", "--config", DEFAULT)
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert doc["store"]["batch_size"] == 1000  # a default filled in
    assert doc["exchanges"]["paper"]["fee_bps"] == 10
    toml_text = run_ais("config", "show", "--config", DEFAULT).stdout
    import tomllib

    assert tomllib.loads(toml_text)["ais"]["mode"] == "paper"


def test_version() -> None:
    result = run_ais("--version")
    assert result.returncode == 0 and result.stdout.startswith("ais ")


def test_kill_refuses_a_store_that_does_not_exist(tmp_path: Path) -> None:
    result = run_ais("kill", "--reason", "typo", "--store", str(tmp_path / "typo.sqlite"))
    assert result.returncode == 2 and "no event store here" in one_line_error(result)
    assert not (tmp_path / "typo.sqlite").exists()


def test_config_show_toml_is_valid_config(tmp_path: Path) -> None:
    shown = run_ais("config", "show", "--config", DEFAULT)
    assert shown.returncode == 0, shown.stderr
    resolved = tmp_path / "resolved.toml"
    resolved.write_text(shown.stdout)
    check = run_ais("config", "check", "--config", str(resolved))
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize("signum", ["SIGTERM", "SIGINT"])
def test_graceful_shutdown_on_signal(tmp_path: Path, signum: str) -> None:
    import os
    import signal
    import subprocess
    import time

    from conftest import AIS, SECRET

    store = tmp_path / "s.sqlite"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIS_")} | {"AIS_RISK_HMAC_SECRET": SECRET}
    proc = subprocess.Popen(
        [AIS, "run", "--config", DEFAULT, "--store", str(store), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until it is trading, then interrupt it
        try:
            cycles = (
                sqlite3.connect(store)
                .execute("SELECT COUNT(*) FROM events WHERE type = 'cycle'")
                .fetchone()[0]
            )
        except sqlite3.Error:  # not created yet
            cycles = 0
        if cycles > 50:
            break
        time.sleep(0.05)
    proc.send_signal(getattr(signal, signum))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["end_reason"] == "stopped by signal"
    assert 50 < summary["cycles"] < 5760
    assert run_ais("audit", "verify", "--store", str(store)).returncode == 0
    end = json.loads(run_ais("events", "--type", "run.end", "--json", "--store", str(store)).stdout)
    assert (
        end[-1]["payload"]["completed"] is False
        and end[-1]["payload"]["summary"]["cycles"] == summary["cycles"]
    )


def test_leaving_without_teardown_still_runs_exit_handlers_and_flushes() -> None:
    """``ais`` ends with ``os._exit`` (no interpreter teardown) when no other thread runs: what an exit
    must do still happens, in order: atexit handlers, then buffered output, then the exit code."""
    import subprocess
    import sys

    code = (
        "import atexit, sys\n"
        "from ais.cli.main import leave\n"
        "atexit.register(lambda: print('handler ran', file=sys.stderr))\n"
        "sys.stdout.write('x' * 100_000)\n"
        "leave(3)\n"
        "print('never')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 3
    assert result.stdout == "x" * 100_000
    assert result.stderr.strip() == "handler ran"


def test_a_closed_pipe_on_stdout_is_not_an_error(default_run: tuple[Path, dict]) -> None:
    """`ais events ... | head`: the reader goes away while the command still writes (far more than a
    pipe holds); the command ends quietly, no traceback, no 'Exception ignored' at exit."""
    import subprocess

    from conftest import AIS

    store, _ = default_run
    proc = subprocess.Popen(
        [AIS, "events", "--json", "--store", str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(10)
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0
    assert "Traceback" not in err and "Exception ignored" not in err
