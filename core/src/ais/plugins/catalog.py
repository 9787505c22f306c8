"""What is installed, from package metadata only: nothing here imports a plugin.

The scan reads ``*.dist-info/entry_points.txt`` along ``sys.path`` directly instead of importing
``importlib.metadata`` (which alone costs ~80 ms): ``ais plugins list`` must start fast. The rules are
``importlib.metadata``'s: first distribution of a name on ``sys.path`` wins.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass

#: kind -> entry-point group (kept here, import-free, so listing needs neither pluggy specs nor pydantic)
#: ``executors`` are not configured in ais.toml: ``ais sweep --executor NAME`` picks one
GROUPS: dict[str, str] = {
    kind: f"ais.{kind}"
    for kind in ("data", "agents", "arbitration", "guards", "exchanges", "integrations", "executors")
}


def plugins_disabled() -> bool:
    """``AIS_NO_PLUGINS=1`` turns off every entry-point plugin (for debugging a broken install)."""
    return os.environ.get("AIS_NO_PLUGINS", "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class PluginInfo:
    """An installed plugin: an entry point in one of the AIS groups."""

    name: str
    kind: str
    group: str
    value: str
    distribution: str
    version: str


_KIND_OF_GROUP = {group: kind for kind, group in GROUPS.items()}


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _name_version(meta_dir: str, entry: str) -> tuple[str, str]:
    """Name and version from METADATA's header (falls back on the folder name)."""
    name, _, version = entry.rsplit(".", 1)[0].partition("-")
    for meta in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(meta_dir, meta), encoding="utf-8") as handle:
                for line in handle:
                    if line.startswith("Name:"):
                        name = line[5:].strip()
                    elif line.startswith("Version:"):
                        version = line[8:].strip()
                    elif not line.strip():
                        break
            break
        except OSError:
            continue
    return name, version


def _entry_points(text: str) -> list[tuple[str, str, str]]:
    """(group, name, value) of the AIS groups in an entry_points.txt."""
    found = []
    group = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            group = line.strip("[]").strip()
            continue
        if group in _KIND_OF_GROUP and "=" in line:
            name, _, value = line.partition("=")
            found.append((group, name.strip(), value.strip()))
    return found


def installed_plugins() -> list[PluginInfo]:
    """Every AIS entry point installed, sorted by kind then name."""
    found: list[PluginInfo] = []
    seen: set[str] = set()
    for base in sys.path:
        try:
            entries = sorted(os.listdir(base or "."))
        except OSError:
            continue
        for entry in entries:
            if not entry.endswith((".dist-info", ".egg-info")):
                continue
            meta_dir = os.path.join(base or ".", entry)
            key = _normalize(entry.rsplit(".", 1)[0].partition("-")[0])
            if key in seen:
                continue
            seen.add(key)
            try:
                with open(os.path.join(meta_dir, "entry_points.txt"), encoding="utf-8") as handle:
                    text = handle.read()
            except OSError:
                continue
            if "[ais." not in text:
                continue
            name, version = _name_version(meta_dir, entry)
            for group, ep_name, value in _entry_points(text):
                found.append(PluginInfo(ep_name, _KIND_OF_GROUP[group], group, value, name, version))
    return sorted(found, key=lambda p: (list(GROUPS).index(p.kind), p.name, p.distribution))


def find(kind: str, name: str, catalog: list[PluginInfo]) -> list[PluginInfo]:
    """The installed plugins of ``kind`` called ``name`` (more than one is a conflict)."""
    return [p for p in catalog if p.kind == kind and p.name == name]
