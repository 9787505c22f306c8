"""Plugins: ``catalog`` lists what is installed (metadata only), ``loader`` imports what ais.toml
enables, ``host`` is the one typed facade that dispatches hooks, ``base`` is what plugins subclass."""
