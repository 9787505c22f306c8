"""Fixed-window running means: O(1) per value, exact to rounding."""

from __future__ import annotations

from math import fsum


class RollingMean:
    """The mean of the last ``size`` values pushed: a running sum over a ring buffer.

    Each push adds the new value and subtracts the one it replaces (O(1)). Adding and subtracting
    floats leaves a rounding residue that would slowly grow over a long run, so each time the ring
    wraps the sum is recomputed exactly with ``math.fsum``: O(size) once every ``size`` pushes,
    O(1) amortised, and the mean stays within a few ulps of a fresh computation.
    """

    __slots__ = ("_buffer", "_count", "_pos", "_size", "_sum")

    def __init__(self, size: int) -> None:
        if size <= 0:
            raise ValueError(f"window size must be > 0 (got {size})")
        self._size = size
        self._buffer = [0.0] * size
        self._pos = 0
        self._count = 0
        self._sum = 0.0

    def push(self, value: float) -> float:
        """Add ``value``; returns the new mean (saves the caller a second call on the hot path)."""
        pos = self._pos
        if self._count < self._size:
            self._count += 1
            self._sum += value
        else:
            self._sum += value - self._buffer[pos]
        self._buffer[pos] = value
        pos += 1
        if pos == self._size:
            pos = 0
            if self._count == self._size:
                self._sum = fsum(self._buffer)  # drop the accumulated rounding residue
        self._pos = pos
        return self._sum / self._count

    @property
    def full(self) -> bool:
        """Whether ``size`` values have been pushed since the last reset."""
        return self._count == self._size

    @property
    def count(self) -> int:
        return self._count

    @property
    def mean(self) -> float:
        """The mean of the values in the window (of those pushed so far while warming up)."""
        return self._sum / self._count if self._count else 0.0

    def reset(self) -> None:
        """Forget every value (after missing data: the window would otherwise span the hole)."""
        self._pos = 0
        self._count = 0
        self._sum = 0.0
