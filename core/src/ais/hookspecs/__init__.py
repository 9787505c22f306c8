"""Hook specifications, one module per capability kind.

Each kind has an entry-point group (``ais.<kind>``). Core's plugin host (``ais.plugins.host``) is the
only code that dispatches these hooks; see docs/reference/hooks.md for each hook's contract.
"""

from __future__ import annotations

from types import ModuleType

from ais.hookspecs import agents, arbitration, data, exchanges, guards, integrations, lifecycle

#: kind -> (entry-point group, spec module). The kinds a plugin can be.
KINDS: dict[str, tuple[str, ModuleType]] = {
    "data": ("ais.data", data),
    "agents": ("ais.agents", agents),
    "arbitration": ("ais.arbitration", arbitration),
    "guards": ("ais.guards", guards),
    "exchanges": ("ais.exchanges", exchanges),
    "integrations": ("ais.integrations", integrations),
}

#: Every spec module, including the lifecycle hooks any plugin may implement.
SPEC_MODULES: tuple[ModuleType, ...] = (lifecycle, *(module for _, module in KINDS.values()))


def hook_names(module: ModuleType) -> list[str]:
    """The ``ais_*`` hook names a spec module declares, in source order."""
    return [name for name in vars(module) if name.startswith("ais_")]
