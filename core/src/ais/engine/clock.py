"""Clocks. The simulated clock replays as fast as the data allows; the wall clock ticks every
``cycle_interval`` seconds. Both stop early when ``stop()`` is called (SIGINT/SIGTERM)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class SimulatedClock:
    """Time is whatever the data providers say comes next."""

    kind = "simulated"

    def __init__(self, next_time: Callable[[int], int | None], start_after: int = 0) -> None:
        #: the data's timeline; a run's hot loop calls it directly and sets ``now`` itself
        self.next_time_source = next_time
        self.now = start_after
        self.stopped = False

    def now_ms(self) -> int:
        return self.now

    def tick(self) -> int | None:
        if self.stopped:
            return None
        nxt = self.next_time_source(self.now)
        if nxt is not None:
            self.now = nxt
        return nxt

    def stop(self) -> None:
        self.stopped = True


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
