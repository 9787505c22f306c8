"""Classic strategy agents for AIS (``momentum``, ...).

Modules: ``momentum`` (the SMA crossover agent), ``rolling`` (O(1) running means), ``outcomes`` (an
agent's track record per symbol). Importing this package does no I/O.
"""
