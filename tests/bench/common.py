"""Shared set-up for the benchmarks: deterministic market files and configs in a temp folder."""

from __future__ import annotations

import csv
import math
import random
import resource
import sys
import time
from pathlib import Path

BAR_MS = 60_000
START_MS = 1_514_764_800_000  # 2018-01-01


def write_market(path: Path, bars: int, seed: int = 42) -> Path:
    """``bars`` deterministic one-minute candles: a seeded random walk with trending regimes."""
    rng = random.Random(seed)
    price, drift = 100.0, 0.0
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["timestamp", "open", "high", "low", "close", "volume"])
        for i in range(bars):
            if i % 2000 == 0:
                drift = rng.choice((-1.0, 0.0, 1.0)) * 0.0002
            close = price * math.exp(drift + rng.gauss(0.0, 0.001))
            high = max(price, close) * (1 + abs(rng.gauss(0, 0.0003)))
            low = min(price, close) * (1 - abs(rng.gauss(0, 0.0003)))
            out.writerow(
                [
                    START_MS + i * BAR_MS,
                    f"{price:.6f}",
                    f"{high:.6f}",
                    f"{low:.6f}",
                    f"{close:.6f}",
                    f"{1000 + rng.random() * 500:.3f}",
                ]
            )
            price = close
    return path


def peak_rss_mb() -> float:
    """Peak resident set size of this process, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, n: int, unit: str, seconds: float) -> str:
    return f"{label:<48} {n / seconds:>12,.0f} {unit}/s   ({n:,} in {seconds:.3f} s)"


def now() -> float:
    return time.perf_counter()


def header(title: str) -> None:
    print(f"\n== {title} (python {sys.version.split()[0]}) ==", flush=True)
