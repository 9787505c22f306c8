"""weighted arbitration: weight x confidence x expected return x liquidity, one winner per symbol"""
