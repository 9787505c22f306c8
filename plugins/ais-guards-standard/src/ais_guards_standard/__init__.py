"""standard risk guards: drawdown, daily loss, leverage, exposure, position weight, liquidity, order notional, order rate"""
