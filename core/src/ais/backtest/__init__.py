"""Backtesting: a run on a simulated clock through the one pipeline, measured and reported."""

from ais.backtest.equity import EquityCurve
from ais.backtest.run import BacktestResult, run_backtest
from ais.backtest.trades import Trade

__all__ = ["BacktestResult", "EquityCurve", "Trade", "run_backtest"]
