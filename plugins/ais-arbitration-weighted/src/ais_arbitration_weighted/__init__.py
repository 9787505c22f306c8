"""Weighted arbitration for AIS: score = agent weight × regime multiplier × confidence × expected return
× liquidity, one winner per symbol per cycle, pair legs (``Signal.group``) all or nothing.

The plugin class is ``ais_arbitration_weighted.arbitration:WeightedArbitration`` (entry point
``weighted`` in ``ais.arbitration``); scoring is in ``scoring``. Importing this package is cheap.
"""
