"""AIS core: the contracts (hook specifications, domain types, config) and the host that runs plugins.

Importing ``ais`` is cheap (nothing but the version): every other name is loaded on first access,
so ``ais plugins list`` and ``--version`` start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ais._version import __version__

if TYPE_CHECKING:
    from ais.config.secrets import Secret
    from ais.markers import PLUGIN_API_VERSION, hookimpl
    from ais.plugins.base import Plugin, PluginConfig

__all__ = ["PLUGIN_API_VERSION", "Plugin", "PluginConfig", "Secret", "__version__", "hookimpl"]

_LAZY = {
    "PLUGIN_API_VERSION": "ais.markers",
    "hookimpl": "ais.markers",
    "Plugin": "ais.plugins.base",
    "PluginConfig": "ais.plugins.base",
    "Secret": "ais.config.secrets",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ais' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
