"""ais.indicators against independent numpy computations over whole real series, to 1e-9 relative."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from ais.indicators import (
    Atr,
    DualMean,
    Ema,
    RollingExtremes,
    RollingMean,
    RollingMoments,
    RollingRegression,
    RollingSums,
    Rsi,
    Wilder,
    WindowMean,
)
from ais.testing.fakes import read_candles

RTOL = 1e-9


@pytest.fixture(scope="module")
def eth(shared_data: Path) -> np.ndarray:
    """ETH/BTC 5-minute candles (columns ts, open, high, low, close, volume)."""
    return np.array(read_candles(shared_data / "binance-5m-2018-01" / "ETH_BTC.csv"), dtype=float)


@pytest.fixture(scope="module")
def ltc(shared_data: Path) -> np.ndarray:
    return np.array(read_candles(shared_data / "binance-5m-2018-01" / "LTC_BTC.csv"), dtype=float)


def windows(values: np.ndarray, n: int) -> np.ndarray:
    return np.lib.stride_tricks.sliding_window_view(values, n)


def close_to(got: list[float], want: np.ndarray) -> None:
    np.testing.assert_allclose(np.array(got), want, rtol=RTOL, atol=0)


@pytest.mark.parametrize("n", [1, 12, 50])
def test_rolling_mean(eth: np.ndarray, n: int) -> None:
    closes = eth[:, 4]
    mean = RollingMean(n)
    got = [mean.push(c) for c in closes][n - 1 :]
    close_to(got, windows(closes, n).mean(axis=1))


@pytest.mark.parametrize("n", [1, 12, 50])
def test_window_mean_is_computed_when_read(eth: np.ndarray, n: int) -> None:
    quote = eth[:, 4] * eth[:, 5]
    window = WindowMean(n)
    got, full = [], []
    for q in quote:
        window.push(q)
        got.append(window.mean)
        full.append(window.full)
    close_to(got[n - 1 :], windows(quote, n).mean(axis=1))
    close_to(got[: n - 1], np.cumsum(quote[: n - 1]) / np.arange(1, n))  # warming up: what it has
    assert full == [i >= n - 1 for i in range(len(quote))]
    window.reset()
    assert (window.mean, window.full, len(window)) == (0.0, False, 0)


def test_rolling_mean_does_not_drift_over_a_long_run() -> None:
    rolling = RollingMean(7)
    values = [1e6 * math.sin(i) + (1e-3 if i % 3 else 1e9) for i in range(200_000)]
    for v in values:
        rolling.push(v)
    assert rolling.mean == pytest.approx(math.fsum(values[-7:]) / 7, rel=1e-12)


@pytest.mark.parametrize(("fast", "slow"), [(1, 2), (10, 50), (12, 48), (36, 144)])
def test_dual_mean(eth: np.ndarray, fast: int, slow: int) -> None:
    closes = eth[:, 4]
    means = DualMean(fast, slow)
    got_fast, got_slow = [], []
    for i, c in enumerate(closes):
        means.push(c)
        assert means.full == (i >= slow - 1)
        if means.full:
            got_fast.append(means.fast_mean)
            got_slow.append(means.slow_mean)
    close_to(got_fast, windows(closes, fast).mean(axis=1)[slow - fast :])
    close_to(got_slow, windows(closes, slow).mean(axis=1))
    means.reset()
    assert (means.count, means.full, means.fast_mean) == (0, False, 0.0)
    with pytest.raises(ValueError, match=">= 11"):
        DualMean(10, 10)


@pytest.mark.parametrize("n", [2, 20, 288])
def test_rolling_moments(eth: np.ndarray, n: int) -> None:
    closes = eth[:, 4]
    moments = RollingMoments(n)
    means, stds, sample = [], [], []
    for c in closes:
        moments.push(c)
        if moments.full:
            means.append(moments.mean)
            stds.append(moments.std)
            sample.append(moments.sample_variance)
    w = windows(closes, n).astype(np.longdouble)  # an exact-enough reference: 64-bit mantissa
    close_to(means, w.mean(axis=1))
    # A float64 price carries ±1e-16 of its level, so a window's dispersion cannot be known better
    # than that: compared to 1e-9 relative, or to 1e-12 of the price level for nearly flat windows.
    level = 1e-12 * float(closes.mean())
    np.testing.assert_allclose(stds, w.std(axis=1), rtol=RTOL, atol=level)
    np.testing.assert_allclose(np.sqrt(sample), np.sqrt(w.var(axis=1, ddof=1)), rtol=RTOL, atol=level)


def test_zscore_of_a_constant_window_is_zero() -> None:
    moments = RollingMoments(3)
    for _ in range(3):
        moments.push(5.0)
    assert moments.zscore(5.0) == 0.0
    assert moments.zscore(6.0) == 0.0


def test_rolling_sums_give_vwap(eth: np.ndarray) -> None:
    n = 48
    typical = (eth[:, 2] + eth[:, 3] + eth[:, 4]) / 3
    volume = eth[:, 5]
    sums = RollingSums(n, 2)
    got = []
    for p, v in zip(typical, volume, strict=True):
        sums.push(p * v, v)
        if sums.full:
            got.append(sums.sums[0] / sums.sums[1])
    want = windows(typical * volume, n).sum(axis=1) / windows(volume, n).sum(axis=1)
    close_to(got, want)


@pytest.mark.parametrize("n", [3, 100, 288])
def test_rolling_regression(eth: np.ndarray, ltc: np.ndarray, n: int) -> None:
    count = min(len(eth), len(ltc))
    x, y = ltc[:count, 4], eth[:count, 4]
    reg = RollingRegression(n)
    betas, alphas, r2s = [], [], []
    for a, b in zip(x, y, strict=True):
        reg.push(a, b)
        if reg.full:
            betas.append(reg.beta)
            alphas.append(reg.alpha)
            r2s.append(reg.r_squared)
    wx = windows(x, n).astype(np.longdouble)
    wy = windows(y, n).astype(np.longdouble)
    dx = wx - wx.mean(axis=1, keepdims=True)
    dy = wy - wy.mean(axis=1, keepdims=True)
    sxx, syy, sxy = (dx * dx).sum(axis=1), (dy * dy).sum(axis=1), (dx * dy).sum(axis=1)
    flat = (sxx == 0) | (syy == 0)  # no dispersion: the implementation answers 0 rather than NaN
    with np.errstate(invalid="ignore", divide="ignore"):
        beta = np.where(sxx == 0, 0, sxy / sxx)
        r2 = np.where(flat, 0, sxy**2 / (sxx * syy))
    alpha = wy.mean(axis=1) - beta * wx.mean(axis=1)
    close_to(betas, beta)
    close_to(alphas, alpha)
    np.testing.assert_allclose(r2s, r2, rtol=RTOL, atol=1e-12)


@pytest.mark.parametrize("n", [1, 20, 55])
def test_rolling_extremes(eth: np.ndarray, n: int) -> None:
    ext = RollingExtremes(n)
    highs, lows = [], []
    for row in eth:
        ext.push(row[2], row[3])
        if ext.full:
            highs.append(ext.high)
            lows.append(ext.low)
    assert highs == list(windows(eth[:, 2], n).max(axis=1))
    assert lows == list(windows(eth[:, 3], n).min(axis=1))


def reference_smoothing(values: np.ndarray, period: int, alpha: float) -> np.ndarray:
    out = np.empty(len(values) - period + 1)
    out[0] = values[:period].mean()
    for i, x in enumerate(values[period:], start=1):
        out[i] = out[i - 1] + alpha * (x - out[i - 1])
    return out


@pytest.mark.parametrize("period", [1, 10, 26])
def test_ema_and_wilder(eth: np.ndarray, period: int) -> None:
    closes = eth[:, 4]
    ema, wilder = Ema(period), Wilder(period)
    got_e = [v for c in closes if (v := ema.push(c)) is not None]
    got_w = [v for c in closes if (v := wilder.push(c)) is not None]
    close_to(got_e, reference_smoothing(closes, period, 2 / (period + 1)))
    close_to(got_w, reference_smoothing(closes, period, 1 / period))


def test_rsi(eth: np.ndarray) -> None:
    period = 14
    closes = eth[:, 4]
    rsi = Rsi(period)
    got = [v for c in closes if (v := rsi.push(c)) is not None]
    change = np.diff(closes)
    gain = reference_smoothing(np.where(change > 0, change, 0.0), period, 1 / period)
    loss = reference_smoothing(np.where(change < 0, -change, 0.0), period, 1 / period)
    want = 100 - 100 / (1 + gain / loss)
    assert len(got) == len(closes) - period
    close_to(got, want)


def test_atr(eth: np.ndarray) -> None:
    period = 14
    high, low, close = eth[:, 2], eth[:, 3], eth[:, 4]
    atr = Atr(period)
    got = [v for h, lo, c in zip(high, low, close, strict=True) if (v := atr.push(h, lo, c)) is not None]
    prev = np.concatenate([[np.nan], close[:-1]])
    tr = np.nanmax(np.stack([high - low, np.abs(high - prev), np.abs(low - prev)]), axis=0)
    tr[0] = high[0] - low[0]
    close_to(got, reference_smoothing(tr, period, 1 / period))


def test_reset_forgets_the_window() -> None:
    moments = RollingMoments(3)
    for x in (1.0, 2.0, 3.0):
        moments.push(x)
    moments.reset()
    for x in (10.0, 20.0, 30.0):
        moments.push(x)
    assert moments.mean == pytest.approx(20.0)
    ext = RollingExtremes(2)
    ext.push(100.0, 100.0)
    ext.reset()
    ext.push(1.0, 1.0)
    assert ext.high == 1.0 and ext.count == 1
    rsi = Rsi(2)
    for c in (1.0, 2.0, 3.0):
        rsi.push(c)
    rsi.reset()
    assert rsi.push(5.0) is None and not rsi.ready


@pytest.mark.parametrize("cls", [RollingMean, WindowMean, RollingSums, RollingExtremes])
def test_window_size_is_validated(cls: type) -> None:
    with pytest.raises(ValueError, match="window size"):
        cls(0) if cls is not RollingSums else cls(0, 1)
