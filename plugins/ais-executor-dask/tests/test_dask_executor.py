"""The dask executor against a real dask.distributed LocalCluster on 127.0.0.1 (2 worker processes,
no dashboard), reached by its tcp:// address as a remote cluster would be: the executor contract,
real AIS backtests as tasks (same numbers as in this process), refusals in one line."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ais_executor_dask import LOOPBACK_HTTP, TIMEOUT_ENV, DaskExecutor, SchedulerUnreachable

from ais.backtest.executors import SerialExecutor, load_executor
from ais.errors import UsageError
from ais.plugins.catalog import installed_plugins
from ais.testing.conformance import ExecutorContract

AIS = str(Path(sys.executable).with_name("ais"))
START_MS = 1_515_542_400_000  # 2018-01-10 00:00 UTC, the bundled market's first day
DAY_MS = 86_400_000

BACKTEST_CONFIG = """\
[ais]
mode = "backtest"
symbols = ["ETH/BTC", "LTC/BTC", "XMR/BTC"]

[store]
path = "unused.sqlite"

[portfolio]
initial_cash = 1.0
quote_currency = "BTC"

[data.market]
plugin = "replay"
bundled = "binance-5m-2018-01"

[agents.fast]
plugin = "momentum"
fast = 12
slow = 48

[arbitration.weighted]
min_confidence = 0.05

[exchanges.paper]
balances = { BTC = 1.0 }
fee_bps = 10
slippage_bps = 5
"""

#: the plugins a backtest of BACKTEST_CONFIG needs (kind, entry-point name)
BACKTEST_PLUGINS = {
    ("data", "replay"), ("agents", "momentum"), ("arbitration", "weighted"), ("exchanges", "paper")
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def scheduler() -> Iterator[str]:
    """The tcp:// address of a real LocalCluster: 2 worker processes, one thread each, no dashboard."""
    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs=LOOPBACK_HTTP,
    )
    try:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        yield cluster.scheduler_address
    finally:
        cluster.close()


@pytest.fixture
def needs_backtest_plugins() -> None:
    installed = {(p.kind, p.name) for p in installed_plugins()}
    missing = sorted(f"{kind}:{name}" for kind, name in BACKTEST_PLUGINS - installed)
    if missing:
        pytest.skip(f"backtests need the plugins {', '.join(missing)} installed")


class TestDaskExecutor(ExecutorContract):
    @pytest.fixture
    def executor(self, scheduler: str) -> Iterator[DaskExecutor]:
        executor = DaskExecutor(scheduler=scheduler)
        yield executor
        executor.close()


# -- tasks: module-level, so the workers import them by reference -----------------------------------


def worker_pid(_: Any) -> int:
    time.sleep(0.05)
    return os.getpid()


def backtest_task(task: dict[str, Any]) -> dict[str, Any]:
    """One backtest of ``task["config"]`` with ``agents.fast.fast = task["fast"]``; its metrics."""
    from ais.backtest import run_backtest

    result = run_backtest(
        task["config"],
        store=task["store"],
        start_ms=task["start_ms"],
        end_ms=task["end_ms"],
        overrides={"agents.fast.fast": task["fast"]},
    )
    return {"fast": task["fast"], "pid": os.getpid(), "metrics": result.metrics}


def same_numbers(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to NaN (a metric may be undefined the same way twice)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_numbers(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same_numbers(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


# -- the cluster ------------------------------------------------------------------------------------


def test_installed_as_an_executor(scheduler: str) -> None:
    info = [p for p in installed_plugins() if p.kind == "executors" and p.name == "dask"]
    assert [(p.distribution, p.value) for p in info] == [
        ("ais-executor-dask", "ais_executor_dask:DaskExecutor")
    ]
    executor = load_executor("dask", scheduler=scheduler, workers=None)
    try:
        assert isinstance(executor, DaskExecutor)
        assert list(executor.map(abs, [-1, -2])) == [1, 2]
    finally:
        executor.close()


def test_tasks_run_in_the_cluster_workers(scheduler: str) -> None:
    from distributed import Client

    with Client(scheduler, set_as_default=False) as client:
        worker_pids = set(client.run(os.getpid).values())
    assert len(worker_pids) == 2
    with DaskExecutor(scheduler=scheduler) as executor:
        pids = list(executor.map(worker_pid, range(6)))
    assert len(pids) == 6
    assert set(pids) <= worker_pids
    assert os.getpid() not in pids


def test_own_local_cluster_is_started_and_closed() -> None:
    executor = DaskExecutor(workers=1)
    cluster = executor._cluster
    assert cluster is not None
    assert executor.scheduler.startswith("tcp://127.0.0.1:")
    assert len(cluster.workers) == 1
    try:
        pids = list(executor.map(worker_pid, range(3)))
        assert len(set(pids)) == 1
        assert os.getpid() not in pids
    finally:
        executor.close()
    assert cluster.status.name == "closed"
    executor.close()
    with pytest.raises(RuntimeError, match="after close"):
        executor.map(abs, [1])


# -- refusals ---------------------------------------------------------------------------------------


def test_unreachable_scheduler_is_one_line(capfd: pytest.CaptureFixture[str]) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(SchedulerUnreachable) as info:
        DaskExecutor(scheduler=address, timeout=1)
    message = str(info.value)
    assert isinstance(info.value, UsageError)
    assert address in message and "cannot reach" in message
    assert "\n" not in message
    # and through the entry point, as the CLI builds it: the same error, not wrapped
    with pytest.raises(SchedulerUnreachable, match=address):
        load_executor("dask", scheduler=address, timeout=1)


@pytest.mark.parametrize("address", ["nonsense", "tcp://", "ftp://127.0.0.1:8786", "tcp://127.0.0.1:port"])
def test_malformed_scheduler_address(address: str) -> None:
    with pytest.raises(SchedulerUnreachable, match="not a dask scheduler address") as info:
        DaskExecutor(scheduler=address, timeout=1)
    assert f"--scheduler {address}:" in str(info.value)


@pytest.mark.parametrize("value", ["soon", "0", "-1"])
def test_bad_timeout_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(TIMEOUT_ENV, value)
    with pytest.raises(UsageError, match=f"{TIMEOUT_ENV}={value}: must be a positive number"):
        DaskExecutor(scheduler="tcp://127.0.0.1:8786")


def test_no_workers_is_refused() -> None:
    with pytest.raises(UsageError, match="--workers 0"):
        DaskExecutor(workers=0)


# -- real backtests as tasks ------------------------------------------------------------------------


@pytest.mark.usefixtures("needs_backtest_plugins")
def test_backtests_on_the_cluster_match_serial(scheduler: str, tmp_path: Path) -> None:
    config = tmp_path / "ais.toml"
    config.write_text(BACKTEST_CONFIG)

    def tasks(kind: str) -> list[dict[str, Any]]:
        return [
            {
                "config": str(config),
                "store": str(tmp_path / f"{kind}-{fast}.sqlite"),
                "start_ms": START_MS,
                "end_ms": START_MS + 3 * DAY_MS,
                "fast": fast,
            }
            for fast in (24, 6, 12, 18)
        ]

    serial = list(SerialExecutor().map(backtest_task, tasks("serial")))
    with DaskExecutor(scheduler=scheduler) as executor:
        on_dask = list(executor.map(backtest_task, tasks("dask")))

    assert [r["fast"] for r in on_dask] == [24, 6, 12, 18]
    assert all(r["pid"] != os.getpid() for r in on_dask)
    assert all(r["pid"] == os.getpid() for r in serial)
    for s, d in zip(serial, on_dask, strict=True):
        assert s["metrics"]["bars"] > 500
        assert same_numbers(s["metrics"], d["metrics"]), (s["fast"], s["metrics"], d["metrics"])
    # the parameter mattered: the four backtests are not one result four times
    assert len({json.dumps(r["metrics"], sort_keys=True) for r in on_dask}) > 1
    for task in tasks("dask"):
        assert Path(task["store"]).stat().st_size > 0


@pytest.mark.usefixtures("needs_backtest_plugins")
def test_failed_backtest_propagates(scheduler: str, tmp_path: Path) -> None:
    config = tmp_path / "ais.toml"
    config.write_text(BACKTEST_CONFIG)
    task = {
        "config": str(config),
        "store": str(tmp_path / "bad.sqlite"),
        "start_ms": START_MS,
        "end_ms": START_MS + DAY_MS,
        "fast": 100,  # not below slow = 48: the config is refused on the worker
    }
    with DaskExecutor(scheduler=scheduler) as executor, pytest.raises(Exception) as info:  # noqa: PT011
        list(executor.map(backtest_task, [task]))
    assert "agents.fast" in str(info.value), info.value


# -- the command line -------------------------------------------------------------------------------


def run_ais(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AIS_")}, **(env or {})}
    return subprocess.run([AIS, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_cli_unreachable_scheduler_is_one_line(tmp_path: Path) -> None:
    # a config that needs no plugin: this test runs where only core and this plugin are installed
    (tmp_path / "ais.toml").write_text('[ais]\nmode = "backtest"\nsymbols = ["ETH/BTC"]\n')
    address = f"tcp://127.0.0.1:{free_port()}"
    result = run_ais(
        "sweep", "--executor", "dask", "--scheduler", address, cwd=tmp_path, env={"AIS_DASK_TIMEOUT": "1"}
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert address in lines[0]


@pytest.mark.usefixtures("needs_backtest_plugins")
def test_cli_sweep_on_the_cluster_matches_serial(scheduler: str, tmp_path: Path) -> None:
    research = '\n[research]\nmetric = "total_return"\n[research.params]\n"agents.fast.fast" = [6, 12, 24]\n'
    (tmp_path / "ais.toml").write_text(BACKTEST_CONFIG + research)
    window = ("--from", "2018-01-10", "--to", "2018-01-12")
    outputs = {}
    for executor in (("--executor", "serial"), ("--executor", "dask", "--scheduler", scheduler)):
        result = run_ais("sweep", *window, *executor, "--json", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert not result.stderr.strip(), result.stderr
        outputs[executor[1]] = json.loads(result.stdout)
    serial, dask = outputs["serial"], outputs["dask"]
    assert len(dask["rows"]) == 3
    assert [r["params"] for r in dask["rows"]] == [r["params"] for r in serial["rows"]]
    for s, d in zip(serial["rows"], dask["rows"], strict=True):
        assert same_numbers(s["metrics"], d["metrics"])


@pytest.mark.usefixtures("needs_backtest_plugins")
def test_cli_failed_task_on_own_cluster_is_one_line(tmp_path: Path) -> None:
    """No --scheduler: the executor's own LocalCluster; a backtest refused on a worker (fast above
    slow) reaches the command as its ConfigError, one line, and the cluster's logs stay quiet."""
    research = '\n[research]\n[research.params]\n"agents.fast.fast" = [100]\n'
    (tmp_path / "ais.toml").write_text(BACKTEST_CONFIG + research)
    result = run_ais(
        "sweep", "--from", "2018-01-10", "--to", "2018-01-11", "--executor", "dask", "--workers", "1",
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "agents.fast" in lines[0]
