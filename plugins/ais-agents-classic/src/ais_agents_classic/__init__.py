"""Classic strategy agents for AIS: momentum, mean reversion, RSI divergence, VWAP reversion, volatility
breakout, grid and pairs.

One module per agent; ``outcomes`` keeps an agent's track record per symbol (what calibrates confidence
and expected return). Indicators come from ``ais.indicators``. Importing this package does no I/O.
"""
