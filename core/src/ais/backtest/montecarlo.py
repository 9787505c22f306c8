"""Monte Carlo resampling of a backtest: how much of its result is the order luck put things in.

Two seeded bootstraps, each giving the distribution of the final return and the maximum drawdown:

- **trades**: the closed trades' P&L (quote currency, after fees) drawn with replacement, as many as
  there were, added to the initial equity in the drawn order;
- **blocks**: a circular block bootstrap of the bar returns (blocks of ``block`` consecutive bars,
  default ⌈√n⌉, keep the short-range dependence of returns), compounded.

Same seed, same numbers: everything is drawn from one ``random.Random(seed)``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from ais.backtest.metrics import bar_returns
from ais.backtest.run import BacktestResult

PERCENTILES = (5, 25, 50, 75, 95)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation between order statistics
    (numpy's default method)."""
    n = len(sorted_values)
    if n == 0:
        return math.nan
    position = (n - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, n - 1)
    frac = position - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * frac


def _summary(finals: list[float], drawdowns: list[float]) -> dict[str, Any]:
    finals.sort()
    drawdowns.sort()
    n = len(finals)
    return {
        "final_return": {f"p{q}": percentile(finals, q) for q in PERCENTILES}
        | {"mean": math.fsum(finals) / n, "probability_of_loss": sum(f < 0 for f in finals) / n},
        "max_drawdown": {f"p{q}": percentile(drawdowns, q) for q in PERCENTILES},
    }


def trade_bootstrap(pnls: Sequence[float], initial: float, runs: int, rng: random.Random) -> dict[str, Any]:
    n = len(pnls)
    finals: list[float] = []
    drawdowns: list[float] = []
    choices = rng.choices
    for _ in range(runs):
        equity = peak = initial
        worst = 0.0
        for pnl in choices(pnls, k=n):
            equity += pnl
            if equity > peak:
                peak = equity
            elif peak > 0:
                dd = 1.0 - equity / peak
                if dd > worst:
                    worst = dd
        finals.append(equity / initial - 1.0)
        drawdowns.append(worst)
    return {"runs": runs, "trades": n} | _summary(finals, drawdowns)


def block_bootstrap(returns: Sequence[float], block: int, runs: int, rng: random.Random) -> dict[str, Any]:
    n = len(returns)
    growth = [1.0 + r for r in returns]
    doubled = growth + growth[:block]  # circular: a block may wrap around the end
    blocks = -(-n // block)
    finals: list[float] = []
    drawdowns: list[float] = []
    randrange = rng.randrange
    for _ in range(runs):
        equity = peak = 1.0
        worst = 0.0
        left = n
        for _b in range(blocks):
            start = randrange(n)
            take = block if left >= block else left
            left -= take
            for g in doubled[start : start + take]:
                equity *= g
                if equity > peak:
                    peak = equity
                else:
                    dd = 1.0 - equity / peak
                    if dd > worst:
                        worst = dd
        finals.append(equity - 1.0)
        drawdowns.append(worst)
    return {"runs": runs, "bars": n, "block": block} | _summary(finals, drawdowns)


def monte_carlo(
    result: BacktestResult, runs: int = 1000, seed: int = 0, block: int | None = None
) -> dict[str, Any]:
    """Both bootstraps of ``result`` (``None`` for one that has nothing to resample)."""
    if runs <= 0:
        raise ValueError(f"Monte Carlo runs must be > 0 (got {runs})")
    rng = random.Random(seed)
    curve = result.curve
    pnls = [t.pnl for t in result.trades if not t.open]
    returns = bar_returns(curve.nav, curve.initial)
    size = block if block is not None else max(1, math.ceil(math.sqrt(len(returns))))
    if size <= 0:
        raise ValueError(f"Monte Carlo block must be > 0 bars (got {size})")
    return {
        "seed": seed,
        "trades": trade_bootstrap(pnls, curve.initial, runs, rng) if pnls else None,
        "blocks": block_bootstrap(returns, min(size, len(returns)), runs, rng) if returns else None,
    }
