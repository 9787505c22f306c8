"""The pluggy markers and the plugin API version core publishes."""

from __future__ import annotations

import pluggy

PROJECT_NAME = "ais"

#: The plugin API version. A plugin declares the version it was built for in its
#: ``ais_api_version`` class attribute; a different major version is refused at load time.
PLUGIN_API_VERSION = "1.0"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
