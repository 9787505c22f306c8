"""The built-in executors pass the executor conformance suite; ``load_executor`` refuses an unknown
name with the list of what is installed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ais.backtest.executors import ProcessExecutor, SerialExecutor, load_executor
from ais.errors import UsageError
from ais.plugins.catalog import installed_plugins
from ais.testing.conformance import ExecutorContract


class TestSerialExecutor(ExecutorContract):
    @pytest.fixture
    def executor(self) -> Iterator[SerialExecutor]:
        executor = SerialExecutor()
        yield executor
        executor.close()


class TestProcessExecutor(ExecutorContract):
    @pytest.fixture
    def executor(self) -> Iterator[ProcessExecutor]:
        executor = ProcessExecutor(workers=2)
        yield executor
        executor.close()


def test_unknown_executor_names_the_installed_ones() -> None:
    with pytest.raises(UsageError) as info:
        load_executor("nope")
    message = str(info.value)
    assert "--executor nope" in message
    assert "\n" not in message
    installed = {p.name for p in installed_plugins() if p.kind == "executors"}
    for name in {"process", "serial", *installed}:
        assert name in message, message


def test_builtin_executors_by_name() -> None:
    assert isinstance(load_executor("serial"), SerialExecutor)
    executor = load_executor("process", workers=3, scheduler=None)
    assert isinstance(executor, ProcessExecutor)
    assert executor.workers == 3
    executor.close()


def test_process_executor_refuses_a_scheduler() -> None:
    with pytest.raises(UsageError, match="--scheduler"):
        load_executor("process", scheduler="tcp://127.0.0.1:8786")
