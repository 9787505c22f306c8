"""Standard risk guards for AIS: drawdown, daily loss, leverage, exposure, position weight, liquidity,
order notional and order rate.

Each guard is a plugin class in the entry-point group ``ais.guards``; see ``reasons`` for the stable
reason codes and docs/plugins/guards-standard.md for the user guide. Importing this package is cheap:
the guard modules are imported by core only when ais.toml enables them.
"""
