pytest_plugins = ["ais.testing"]
