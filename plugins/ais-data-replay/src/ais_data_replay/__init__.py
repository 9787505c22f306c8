"""AIS data provider ``replay``: recorded candles and funding rates (CSV/Parquet) served as a market feed.

Modules: ``provider`` (the plugin class and its hooks), ``config`` (its ais.toml keys), ``market``
(loading a configured market), ``readers`` (CSV/Parquet files), ``series`` (cursored look-ups),
``samples`` (the bundled sample markets). Importing this package does no I/O.
"""
