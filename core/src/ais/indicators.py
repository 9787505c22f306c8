"""Incremental indicators for agents: O(1) (amortised) per value, exact to rounding.

Every class takes one value (or one bar's fields) per ``push`` and answers in O(1), so an agent's
per-bar cost does not grow with history. Windowed sums drift by a rounding residue as values enter and
leave; each window recomputes its sums exactly (``math.fsum``) every time its ring wraps, which is
O(size) once per ``size`` pushes and keeps every figure within a few ulps of a fresh computation over
the window (the tests check them against numpy to 1e-9 relative on real candles).

``reset()`` forgets everything: call it after missing data, so a window never spans a hole.

- ``RollingMean``: mean of the last ``size`` values, kept up to date at each push.
- ``WindowMean``: mean of the last ``size`` values, computed when read: for a figure pushed every bar
  and read rarely (the quote volume behind a signal's liquidity); a push runs no Python code.
- ``DualMean``: means of the last ``fast`` and ``slow`` values of one series, one ring (crossovers).
- ``RollingMoments``: mean, variance, standard deviation and z-score over a window.
- ``RollingSums``: the sums of several aligned series over one window (VWAP = Σpv / Σv).
- ``RollingRegression``: ordinary least squares of y on x over a window (hedge ratios, trend slope).
- ``RollingExtremes``: max and min over a window (Donchian channels), monotonic deques.
- ``Ema``: exponential moving average, ``alpha = 2 / (period + 1)``, seeded with the first SMA.
- ``Wilder``: Wilder's smoothing (RMA), ``alpha = 1 / period``, seeded with the first SMA.
- ``Rsi``: Wilder's relative strength index of closes.
- ``Atr``: Wilder's average true range.
"""

from __future__ import annotations

from collections import deque
from math import fsum, sqrt

__all__ = [
    "Atr",
    "DualMean",
    "Ema",
    "RollingExtremes",
    "RollingMean",
    "RollingMoments",
    "RollingRegression",
    "RollingSums",
    "Rsi",
    "Wilder",
    "WindowMean",
]


#: A centred sum below this share of its raw sum has lost most of its digits to cancellation.
_CANCELLED = 1e-4


def _check_size(size: int, minimum: int = 1) -> None:
    if size < minimum:
        raise ValueError(f"window size must be >= {minimum} (got {size})")


class RollingMean:
    """The mean of the last ``size`` values pushed: a running sum over a ring buffer."""

    __slots__ = ("_buffer", "_count", "_pos", "_size", "_sum")

    def __init__(self, size: int) -> None:
        _check_size(size)
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
        self._pos = 0
        self._count = 0
        self._sum = 0.0


class WindowMean(deque[float]):
    """The mean of the last ``size`` values pushed, computed when read (``fsum`` over the window:
    O(size), exact to rounding). ``push`` is the deque's own ``append`` with ``maxlen = size``: no
    Python frame per value, so a window pushed every bar and read only when a signal is built costs
    a fraction of ``RollingMean``, which keeps its sum up to date at each push."""

    __slots__ = ()

    def __init__(self, size: int) -> None:
        _check_size(size)
        super().__init__(maxlen=size)

    push = deque.append

    @property
    def full(self) -> bool:
        """Whether ``size`` values have been pushed since the last reset."""
        return len(self) == self.maxlen

    @property
    def mean(self) -> float:
        """The mean of the values in the window (of those pushed so far while warming up); ``len``
        tells how many."""
        return fsum(self) / len(self) if self else 0.0

    def reset(self) -> None:
        self.clear()


class DualMean:
    """The means of the last ``fast`` and of the last ``slow`` values of one series (``fast < slow``):
    a moving-average crossover's two averages from one push and one ring buffer, the fast sum taking
    its leaving value ``fast`` places back in the slow ring."""

    __slots__ = ("_buffer", "_count", "_fast", "_pos", "_slow", "fast_sum", "full", "slow_sum")

    def __init__(self, fast: int, slow: int) -> None:
        _check_size(fast)
        _check_size(slow, fast + 1)
        self._fast = fast
        self._slow = slow
        self._buffer = [0.0] * slow
        self._pos = 0
        self._count = 0
        self.fast_sum = 0.0
        self.slow_sum = 0.0
        #: whether ``slow`` values have been pushed since the last reset (both means defined); a plain
        #: attribute, not a property: agents read it every bar
        self.full = False

    def push(self, value: float) -> None:
        buffer = self._buffer
        pos = self._pos
        if self.full:  # the steady state, every bar after the warm-up: both windows slide
            self.slow_sum += value - buffer[pos]
            self.fast_sum += value - buffer[pos - self._fast]  # a negative index wraps round the ring
            buffer[pos] = value
            pos += 1
            if pos == self._slow:
                pos = 0
                self._resum()
            self._pos = pos
            return
        count = self._count = self._count + 1
        slow = self._slow
        fast = self._fast
        self.slow_sum += value
        if count <= fast:
            self.fast_sum += value
        else:  # the value pushed `fast` places ago
            self.fast_sum += value - buffer[pos - fast]
        buffer[pos] = value
        pos += 1
        if count == slow:
            self.full = True
        if pos == slow:
            pos = 0
            self._resum()
        self._pos = pos

    def _resum(self) -> None:
        """Drop the accumulated rounding residue: the sums afresh, once a lap of the full ring."""
        buffer = self._buffer
        self.slow_sum = fsum(buffer)
        self.fast_sum = fsum(buffer[self._slow - self._fast :])

    @property
    def count(self) -> int:
        return self._count

    @property
    def fast_mean(self) -> float:
        n = min(self._count, self._fast)
        return self.fast_sum / n if n else 0.0

    @property
    def slow_mean(self) -> float:
        return self.slow_sum / self._count if self._count else 0.0

    def reset(self) -> None:
        self._pos = 0
        self._count = 0
        self.fast_sum = 0.0
        self.slow_sum = 0.0
        self.full = False


class RollingSums:
    """Sums of ``width`` aligned series over the last ``size`` pushes.

    ``push(a, b, ...)`` takes one value per series; ``sums[i]`` is the window's sum of series ``i``.
    VWAP over a window is ``RollingSums(n, 2)`` fed ``(price × volume, volume)``: ``sums[0] / sums[1]``.
    """

    __slots__ = ("_buffers", "_count", "_pos", "_size", "sums", "width")

    def __init__(self, size: int, width: int) -> None:
        _check_size(size)
        _check_size(width)
        self._size = size
        self.width = width
        self._buffers = [[0.0] * size for _ in range(width)]
        self._pos = 0
        self._count = 0
        self.sums = [0.0] * width

    def push(self, *values: float) -> None:
        pos = self._pos
        sums = self.sums
        full = self._count == self._size
        if not full:
            self._count += 1
        for i, value in enumerate(values):
            buffer = self._buffers[i]
            sums[i] += value - buffer[pos] if full else value
            buffer[pos] = value
        pos += 1
        if pos == self._size:
            pos = 0
            if self._count == self._size:
                for i, buffer in enumerate(self._buffers):
                    sums[i] = fsum(buffer)
        self._pos = pos

    @property
    def full(self) -> bool:
        return self._count == self._size

    @property
    def count(self) -> int:
        return self._count

    def reset(self) -> None:
        self._pos = 0
        self._count = 0
        self.sums = [0.0] * self.width


class RollingMoments:
    """Mean and variance of the last ``size`` values (``size`` ≥ 2).

    Sums are kept of the values minus a shift ``k`` (the window mean at the last exact recompute), the
    "shifted data" algorithm: ``var = (Σd² − (Σd)²/n) / n`` with ``d = x − k``, which stays accurate
    for prices whose variance is tiny next to their level.
    """

    __slots__ = ("_buffer", "_count", "_pos", "_s1", "_s2", "_shift", "_size")

    def __init__(self, size: int) -> None:
        _check_size(size, 2)
        self._size = size
        self._buffer = [0.0] * size
        self._pos = 0
        self._count = 0
        self._shift = 0.0
        self._s1 = 0.0
        self._s2 = 0.0

    def push(self, value: float) -> None:
        pos = self._pos
        if self._count == 0:
            self._shift = value
        d = value - self._shift
        if self._count < self._size:
            self._count += 1
            self._s1 += d
            self._s2 += d * d
        else:
            old = self._buffer[pos] - self._shift
            self._s1 += d - old
            self._s2 += d * d - old * old
        self._buffer[pos] = value
        pos += 1
        if pos == self._size:
            pos = 0
            if self._count == self._size:
                self._recompute()
        self._pos = pos

    def _recompute(self) -> None:
        buffer = self._buffer[: self._count]  # before the first wrap only the first slots are filled
        shift = fsum(buffer) / len(buffer)
        self._shift = shift
        deviations = [x - shift for x in buffer]
        self._s1 = fsum(deviations)
        self._s2 = fsum([d * d for d in deviations])

    def _centered(self) -> float:
        """``Σ(x − mean)²``. When it is tiny next to ``Σd²`` (a nearly flat window far from the shift)
        the subtraction has cancelled most digits: recompute exactly first (rare, O(size))."""
        n = self._count
        centered = self._s2 - self._s1 * self._s1 / n
        if self._s2 > 0.0 and centered <= _CANCELLED * self._s2:
            self._recompute()
            centered = self._s2 - self._s1 * self._s1 / n
        return max(0.0, centered)

    @property
    def full(self) -> bool:
        return self._count == self._size

    @property
    def count(self) -> int:
        return self._count

    @property
    def mean(self) -> float:
        return self._shift + self._s1 / self._count if self._count else 0.0

    @property
    def variance(self) -> float:
        """Population variance (ddof = 0) of the window; never negative."""
        n = self._count
        return self._centered() / n if n else 0.0

    @property
    def sample_variance(self) -> float:
        """Sample variance (ddof = 1), as pandas' ``rolling().var()``."""
        n = self._count
        return self._centered() / (n - 1) if n >= 2 else 0.0

    @property
    def std(self) -> float:
        """Population standard deviation (ddof = 0)."""
        return sqrt(self.variance)

    def zscore(self, value: float) -> float:
        """``(value − mean) / std``; 0.0 when the window has no dispersion."""
        std = self.std
        return (value - self.mean) / std if std > 0.0 else 0.0

    def reset(self) -> None:
        self._pos = 0
        self._count = 0
        self._s1 = 0.0
        self._s2 = 0.0


class RollingRegression:
    """Ordinary least squares ``y = alpha + beta × x`` over the last ``size`` (x, y) pairs (``size`` ≥ 3).

    Shifted sums as in ``RollingMoments``; ``beta = Sxy / Sxx``, ``alpha = ȳ − beta x̄``, where
    ``Sxy = Σ(x − x̄)(y − ȳ)``. ``residual(x, y) = y − alpha − beta x`` is the spread of a pair.
    """

    __slots__ = ("_count", "_kx", "_ky", "_pos", "_size", "_sx", "_sxx", "_sxy", "_sy", "_syy", "_xs", "_ys")

    def __init__(self, size: int) -> None:
        _check_size(size, 3)
        self._size = size
        self._xs = [0.0] * size
        self._ys = [0.0] * size
        self._pos = 0
        self._count = 0
        self._kx = self._ky = 0.0
        self._sx = self._sy = self._sxx = self._sxy = self._syy = 0.0

    def push(self, x: float, y: float) -> None:
        pos = self._pos
        if self._count == 0:
            self._kx, self._ky = x, y
        a = x - self._kx
        b = y - self._ky
        if self._count < self._size:
            self._count += 1
            self._sx += a
            self._sy += b
            self._sxx += a * a
            self._sxy += a * b
            self._syy += b * b
        else:
            oa = self._xs[pos] - self._kx
            ob = self._ys[pos] - self._ky
            self._sx += a - oa
            self._sy += b - ob
            self._sxx += a * a - oa * oa
            self._sxy += a * b - oa * ob
            self._syy += b * b - ob * ob
        self._xs[pos] = x
        self._ys[pos] = y
        pos += 1
        if pos == self._size:
            pos = 0
            if self._count == self._size:
                self._recompute()
        self._pos = pos

    def _recompute(self) -> None:
        n = self._count
        xs, ys = self._xs[:n], self._ys[:n]
        kx = self._kx = fsum(xs) / n
        ky = self._ky = fsum(ys) / n
        da = [x - kx for x in xs]
        db = [y - ky for y in ys]
        self._sx = fsum(da)
        self._sy = fsum(db)
        self._sxx = fsum([a * a for a in da])
        self._sxy = fsum([a * b for a, b in zip(da, db, strict=True)])
        self._syy = fsum([b * b for b in db])

    @property
    def full(self) -> bool:
        return self._count == self._size

    @property
    def count(self) -> int:
        return self._count

    def _centered(self) -> tuple[float, float, float]:
        """``(Sxx, Sxy, Syy)`` about the means; recomputed exactly first when cancellation ate their
        digits (see ``RollingMoments._centered``)."""
        n = self._count
        sxx = self._sxx - self._sx * self._sx / n
        syy = self._syy - self._sy * self._sy / n
        if (self._sxx > 0.0 and sxx <= _CANCELLED * self._sxx) or (
            self._syy > 0.0 and syy <= _CANCELLED * self._syy
        ):
            self._recompute()
            sxx = self._sxx - self._sx * self._sx / n
            syy = self._syy - self._sy * self._sy / n
        sxy = self._sxy - self._sx * self._sy / n
        return max(0.0, sxx), sxy, max(0.0, syy)

    @property
    def beta(self) -> float:
        """The slope; 0.0 while x has no dispersion (fewer than two distinct x)."""
        if self._count < 2:
            return 0.0
        sxx, sxy, _ = self._centered()
        return sxy / sxx if sxx > 0.0 else 0.0

    @property
    def alpha(self) -> float:
        n = self._count
        if n == 0:
            return 0.0
        mean_x = self._kx + self._sx / n
        mean_y = self._ky + self._sy / n
        return mean_y - self.beta * mean_x

    @property
    def r_squared(self) -> float:
        """Share of y's variance the line explains, in [0, 1]; 0.0 without dispersion."""
        if self._count < 2:
            return 0.0
        sxx, sxy, syy = self._centered()
        if sxx <= 0.0 or syy <= 0.0:
            return 0.0
        return min(1.0, sxy * sxy / (sxx * syy))

    def residual(self, x: float, y: float) -> float:
        return y - self.alpha - self.beta * x

    def reset(self) -> None:
        self._pos = 0
        self._count = 0
        self._sx = self._sy = self._sxx = self._sxy = self._syy = 0.0


class RollingExtremes:
    """Highest and lowest of the last ``size`` values: two monotonic deques, O(1) amortised per push.

    ``push(high, low)`` takes the bar's high and low (pass the same value twice for a single series).
    """

    __slots__ = ("_count", "_highs", "_lows", "_size")

    def __init__(self, size: int) -> None:
        _check_size(size)
        self._size = size
        self._count = 0
        self._highs: deque[tuple[int, float]] = deque()  # (index, value), values decreasing
        self._lows: deque[tuple[int, float]] = deque()  # values increasing

    def push(self, high: float, low: float) -> None:
        i = self._count
        self._count = i + 1
        highs = self._highs
        while highs and highs[-1][1] <= high:
            highs.pop()
        highs.append((i, high))
        lows = self._lows
        while lows and lows[-1][1] >= low:
            lows.pop()
        lows.append((i, low))
        oldest = i - self._size + 1
        if highs[0][0] < oldest:
            highs.popleft()
        if lows[0][0] < oldest:
            lows.popleft()

    @property
    def full(self) -> bool:
        return self._count >= self._size

    @property
    def count(self) -> int:
        return min(self._count, self._size)

    @property
    def high(self) -> float:
        return self._highs[0][1] if self._highs else 0.0

    @property
    def low(self) -> float:
        return self._lows[0][1] if self._lows else 0.0

    def reset(self) -> None:
        self._count = 0
        self._highs.clear()
        self._lows.clear()


class _Smoothing:
    """Exponential smoothing seeded with the simple mean of the first ``period`` values."""

    __slots__ = ("_alpha", "_count", "_period", "_seed", "value")

    def __init__(self, period: int, alpha: float) -> None:
        _check_size(period)
        self._period = period
        self._alpha = alpha
        self._count = 0
        self._seed: list[float] = []
        self.value = 0.0

    def push(self, x: float) -> float | None:
        """Add ``x``; the smoothed value once ``period`` values were seen, else ``None``."""
        if self._count >= self._period:
            self.value += self._alpha * (x - self.value)
            return self.value
        self._count += 1
        self._seed.append(x)
        if self._count < self._period:
            return None
        self.value = fsum(self._seed) / self._period
        self._seed = []
        return self.value

    @property
    def ready(self) -> bool:
        return self._count >= self._period

    def reset(self) -> None:
        self._count = 0
        self._seed = []
        self.value = 0.0


class Ema(_Smoothing):
    """Exponential moving average, ``alpha = 2 / (period + 1)``; the first value is the SMA of the first
    ``period`` values (TA-Lib's convention)."""

    __slots__ = ()

    def __init__(self, period: int) -> None:
        super().__init__(period, 2.0 / (period + 1))


class Wilder(_Smoothing):
    """Wilder's smoothing (RMA): ``v += (x − v) / period``, seeded with the SMA of the first ``period``."""

    __slots__ = ()

    def __init__(self, period: int) -> None:
        super().__init__(period, 1.0 / period)


class Rsi:
    """Wilder's RSI of closes: ``100 − 100 / (1 + avg_gain / avg_loss)``, averages by ``Wilder(period)``
    over the close-to-close changes. Defined from the ``period + 1``-th close on; 100 when there were no
    losses, 50 when the window saw no change at all."""

    __slots__ = ("_gain", "_last", "_loss", "value")

    def __init__(self, period: int = 14) -> None:
        self._gain = Wilder(period)
        self._loss = Wilder(period)
        self._last: float | None = None
        self.value: float | None = None

    def push(self, close: float) -> float | None:
        last = self._last
        self._last = close
        if last is None:
            return None
        change = close - last
        gain = self._gain.push(change if change > 0.0 else 0.0)
        loss = self._loss.push(-change if change < 0.0 else 0.0)
        if gain is None or loss is None:
            return None
        if loss == 0.0:
            self.value = 50.0 if gain == 0.0 else 100.0
        else:
            self.value = 100.0 - 100.0 / (1.0 + gain / loss)
        return self.value

    @property
    def ready(self) -> bool:
        return self.value is not None

    def reset(self) -> None:
        self._gain.reset()
        self._loss.reset()
        self._last = None
        self.value = None


class Atr:
    """Wilder's average true range: ``TR = max(high − low, |high − prev close|, |low − prev close|)``
    (``high − low`` on the first bar), smoothed by ``Wilder(period)``."""

    __slots__ = ("_prev_close", "_smooth")

    def __init__(self, period: int = 14) -> None:
        self._smooth = Wilder(period)
        self._prev_close: float | None = None

    def push(self, high: float, low: float, close: float) -> float | None:
        prev = self._prev_close
        self._prev_close = close
        true_range = high - low
        if prev is not None:
            true_range = max(true_range, abs(high - prev), abs(low - prev))
        return self._smooth.push(true_range)

    @property
    def value(self) -> float:
        return self._smooth.value

    @property
    def ready(self) -> bool:
        return self._smooth.ready

    def reset(self) -> None:
        self._smooth.reset()
        self._prev_close = None
