"""Market-intelligence agents for AIS: ``funding_rate`` (crowded positioning from perpetual funding) and
``regime`` (per-symbol market regime, published in the shared state). Importing this package does no I/O.

One module per agent; ``common`` accepts a symbol's next bar and scores liquidity, ``outcomes`` keeps the
funding agent's track record per symbol. Indicators come from ``ais.indicators``. This distribution is
independent of ``ais-agents-classic`` (it imports nothing from it).
"""
