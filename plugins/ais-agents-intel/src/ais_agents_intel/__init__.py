"""Market-intelligence agents for AIS: ``funding_rate`` (crowded positioning from perpetual funding) and
``regime`` (per-symbol market regime, published in the shared state). Importing this package does no I/O.
"""
