"""Order management: the status machine (``status``) and the manager that verifies tokens, journals
intents and talks to exchanges (``manager``)."""
