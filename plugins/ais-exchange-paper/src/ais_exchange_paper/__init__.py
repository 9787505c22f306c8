"""simulated venue with a documented fill model (slippage, fees, partial fills, limit orders)"""
