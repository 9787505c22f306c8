"""The control-plane HTTP API (``ais api``): status, events, kill and re-arm, plus the routes enabled
integrations contribute through ``ais_api_routes``."""
