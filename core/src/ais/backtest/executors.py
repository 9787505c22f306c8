"""Where the many backtests of a sweep or a walk-forward run: a local process pool by default, or
an executor plugin (entry-point group ``ais.executors``, e.g. ``ais-executor-dask``).

An executor plugin is a class built with keyword options (the CLI passes ``scheduler`` and
``workers``) that has ``map(fn, tasks)`` — results in task order, ``fn`` and tasks picklable — and
``close()``. ``ais.testing.conformance.ExecutorContract`` checks one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol, TypeVar

from ais.errors import EXIT_PLUGIN, AisError, UsageError

T = TypeVar("T")
R = TypeVar("R")

GROUP = "ais.executors"


class Executor(Protocol):
    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]: ...

    def close(self) -> None: ...


class SerialExecutor:
    """In this process, one task after the other (``--executor serial``: debugging, profiling)."""

    def __init__(self, **_: Any) -> None:
        pass

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]:
        return map(fn, tasks)

    def close(self) -> None:
        pass


class ProcessExecutor:
    """A local pool of worker processes (``--executor process``, the default); ``workers`` defaults
    to the number of CPUs."""

    def __init__(self, workers: int | None = None, scheduler: str | None = None, **_: Any) -> None:
        if scheduler is not None:
            raise UsageError("--scheduler is for a cluster executor (e.g. --executor dask)")
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]:
        if len(tasks) <= 1 or self.workers == 1:
            return map(fn, tasks)
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=min(self.workers, len(tasks)))
        return self._pool.map(fn, tasks)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


BUILTIN: dict[str, Callable[..., Executor]] = {"process": ProcessExecutor, "serial": SerialExecutor}


def load_executor(name: str, **options: Any) -> Executor:
    """The executor called ``name``: built in, else the ``ais.executors`` entry point of that name."""
    factory = BUILTIN.get(name)
    if factory is None:
        from ais.plugins.catalog import installed_plugins

        plugins = [p.name for p in installed_plugins() if p.kind == "executors"]
        if name not in plugins:
            known = ", ".join(sorted({*BUILTIN, *plugins}))
            raise UsageError(f"--executor {name}: no such executor (installed: {known})")
        from stevedore import DriverManager

        try:
            manager: Any = DriverManager(GROUP, name, invoke_on_load=False)
        except Exception as exc:
            message = f"executor {name!r} failed to import: {type(exc).__name__}: {exc}"
            raise AisError(message, EXIT_PLUGIN) from exc
        factory = manager.driver
    try:
        return factory(**{k: v for k, v in options.items() if v is not None})
    except AisError:
        raise
    except Exception as exc:
        message = f"executor {name!r} could not start: {type(exc).__name__}: {exc}"
        raise AisError(message, EXIT_PLUGIN) from exc
