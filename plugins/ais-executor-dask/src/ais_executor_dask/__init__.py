"""``ais-executor-dask``: runs the backtests of ``ais sweep`` and ``ais walk-forward`` on a
dask.distributed cluster (entry point ``dask`` in the group ``ais.executors``)::

    ais sweep --executor dask --scheduler tcp://10.0.0.5:8786     # an existing cluster
    ais sweep --executor dask --workers 4                         # a LocalCluster on this machine

Importing this package is cheap: ``distributed`` is imported when an executor is built.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ais.errors import UsageError

if TYPE_CHECKING:
    from distributed import Client, Future, LocalCluster

__all__ = ["DEFAULT_TIMEOUT", "LOOPBACK_HTTP", "TIMEOUT_ENV", "DaskExecutor", "SchedulerUnreachable"]

T = TypeVar("T")
R = TypeVar("R")

#: The scheduler serves /health and /metrics over HTTP even without a dashboard, by default on port
#: 8787 (a warning when that is taken): bind it to any free loopback port instead.
LOOPBACK_HTTP: dict[str, Any] = {"dashboard_address": "127.0.0.1:0"}

#: seconds to wait for the scheduler to answer before giving up with ``SchedulerUnreachable``;
#: the environment variable ``AIS_DASK_TIMEOUT`` overrides it (the CLI has no flag for it)
DEFAULT_TIMEOUT = 10.0
TIMEOUT_ENV = "AIS_DASK_TIMEOUT"

_LOGGER = logging.getLogger("distributed")


class SchedulerUnreachable(UsageError):
    """``--scheduler`` is not a dask scheduler address, or nothing answers there (exit code 2)."""


class DaskExecutor:
    """An executor on a dask.distributed cluster.

    ``scheduler``: the address of a running scheduler (``tcp://HOST:PORT``; ``HOST:PORT`` means tcp).
    Without it, a ``LocalCluster`` of ``workers`` worker processes (default: the number of CPUs), one
    thread each, is started on 127.0.0.1 without a dashboard, and closed by ``close()``. ``workers``
    is ignored when ``scheduler`` is given: the cluster has the workers it has. ``timeout``: seconds
    to wait for the scheduler (default: ``$AIS_DASK_TIMEOUT``, else ``DEFAULT_TIMEOUT``).

    ``map(fn, tasks)`` submits every task at once and yields the results in task order as they
    arrive; the first failed task re-raises its exception (the original type, as raised on the
    worker) and cancels the tasks still pending. ``fn`` and the tasks must be picklable, and ``fn``
    importable on the workers (a module-level function of a package installed there).
    """

    def __init__(
        self,
        scheduler: str | None = None,
        workers: int | None = None,
        timeout: float | None = None,
        **_: Any,
    ) -> None:
        from distributed import Client, LocalCluster

        if timeout is None:
            timeout = _env_timeout()

        self._cluster: LocalCluster | None = None
        self._client: Client | None = None
        self._logger_level: int | None = None
        if scheduler is not None:
            self._client = _connect(scheduler, timeout)
            self.scheduler = scheduler
        else:
            if workers is not None and workers < 1:
                raise UsageError(f"--workers {workers}: must be at least 1")
            # The cluster's scheduler runs in this process and logs every worker and client at INFO;
            # its workers log each failed task with its traceback. A failed task reaches the caller as
            # its exception, so the cluster stays quiet (restored by close()).
            self._logger_level = _LOGGER.level
            _LOGGER.setLevel(logging.CRITICAL)
            try:
                self._cluster = LocalCluster(
                    n_workers=workers or os.cpu_count() or 1,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    scheduler_kwargs=LOOPBACK_HTTP,
                    silence_logs=logging.CRITICAL,
                )
                self._client = Client(self._cluster, timeout=timeout, set_as_default=False)
            except BaseException:
                self.close()
                raise
            self.scheduler = self._cluster.scheduler_address

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]:
        if self._client is None:
            raise RuntimeError("DaskExecutor.map after close()")
        tasks = list(tasks)
        if not tasks:
            return iter(())
        # pure=False: every task runs, even two equal ones (a backtest writes its own store).
        futures: list[Future[R]] = self._client.map(fn, tasks, pure=False)
        return self._in_order(futures)

    def _in_order(self, futures: list[Future[R]]) -> Iterator[R]:
        done = False
        try:
            for future in futures:
                yield future.result()
            done = True
        finally:
            if not done and self._client is not None:
                # failed, or the caller stopped reading: the pending tasks are not wanted any more
                self._client.cancel(futures)

    def close(self) -> None:
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        try:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()
        finally:
            if self._logger_level is not None:
                _LOGGER.setLevel(self._logger_level)
                self._logger_level = None

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._client is None else self.scheduler
        return f"<DaskExecutor {state}>"


def _env_timeout() -> float:
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise UsageError(f"{TIMEOUT_ENV}={raw}: must be a positive number of seconds")
    return value


def _connect(scheduler: str, timeout: float) -> Client:
    """A client of the scheduler at ``scheduler``, or ``SchedulerUnreachable`` in one line."""
    from distributed import Client
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    # Check the address first: a Client built on a malformed one fails half-started and prints a
    # traceback when it is garbage-collected.
    try:
        scheme, location = parse_address(scheduler, strict=False)
        get_backend(scheme)
        if scheme in ("tcp", "tls", "ws", "wss"):
            parse_host_port(location)
    except ValueError as exc:
        raise SchedulerUnreachable(
            f"--scheduler {scheduler}: not a dask scheduler address, expected tcp://HOST:PORT ({exc})"
        ) from None
    try:
        return Client(scheduler, timeout=timeout, set_as_default=False)
    except OSError as exc:  # TimeoutError included
        reason = str(exc) or type(exc).__name__
    raise SchedulerUnreachable(f"--scheduler {scheduler}: cannot reach a dask scheduler there ({reason})")
