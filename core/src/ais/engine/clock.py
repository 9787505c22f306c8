"""Clocks. The simulated clock replays as fast as the data allows; the wall clock ticks every
``cycle_interval`` seconds. Both stop early when ``stop()`` is called (SIGINT/SIGTERM)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ais.errors import PluginError


class SimulatedClock:
    """Time is whatever the data providers say comes next. ``source`` is (instance key, next-time
    function) as ``PluginHost.timeline_source`` resolves it; a run's hot loop calls the function
    directly and sets ``now`` itself."""

    kind = "simulated"

    def __init__(self, source: tuple[str, Callable[[int], int | None]], start_after: int = 0) -> None:
        self.source_key, self.next_time_source = source
        self.now = start_after
        self.stopped = False

    def now_ms(self) -> int:
        return self.now

    def tick(self) -> int | None:
        if self.stopped:
            return None
        nxt = advance(self.source_key, self.next_time_source, self.now)
        if nxt is not None:
            self.now = nxt
        return nxt

    def stop(self) -> None:
        self.stopped = True


def advance(key: str, next_time: Callable[[int], int | None], now: int) -> int | None:
    """The next time after ``now`` from the data, checked: it must advance (else the run would loop
    or go back in time); a provider that raises is named."""
    try:
        nxt = next_time(now)
    except PluginError:
        raise
    except Exception as exc:
        raise PluginError(f"{key}: ais_data_next_time failed: {type(exc).__name__}: {exc}") from exc
    if nxt is not None and nxt <= now:
        raise PluginError(f"{key}: returned next time {nxt} <= {now} (must advance)")
    return nxt


class WallClock:
    """Cycles every ``interval_s`` seconds of real time, aligned to multiples of the interval."""

    kind = "wall"

    def __init__(self, interval_s: float) -> None:
        self._interval = interval_s
        self._stop = threading.Event()
        self._first = True

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def now_ms(self) -> int:
        return int(time.time() * 1000)

    def tick(self) -> int | None:
        if self._first:
            self._first = False
            return None if self._stop.is_set() else self.now_ms()
        now = time.time()
        wait = self._interval - (now % self._interval)
        if self._stop.wait(wait):
            return None
        return self.now_ms()

    def stop(self) -> None:
        self._stop.set()
