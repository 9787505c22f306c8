"""Import exactly the plugins ais.toml enables (stevedore), check them, and build one object per
configured instance. Failures are collected per plugin and named, never raised half-way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from ais._version import __version__
from ais.config.loader import AisConfig, InstanceSpec, validate_options
from ais.config.messages import did_you_mean
from ais.errors import ConfigError, SecretError
from ais.markers import PLUGIN_API_VERSION
from ais.plugins.base import PluginConfig
from ais.plugins.catalog import GROUPS, PluginInfo, find, installed_plugins, plugins_disabled


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be used, with everything a person needs to find it."""

    instance: str
    plugin: str
    kind: str
    distribution: str
    version: str
    message: str

    def line(self) -> str:
        return (
            f"{self.instance}: {self.kind} plugin {self.plugin!r} "
            f"({self.distribution} {self.version}): {self.message}"
        )


@dataclass
class LoadedInstance:
    """A configured instance: its table, where its plugin comes from, and the object registered."""

    spec: InstanceSpec
    info: PluginInfo
    config: BaseModel
    obj: Any


def resolve_infos(config: AisConfig, catalog: list[PluginInfo]) -> dict[str, PluginInfo]:
    """Instance key -> installed plugin, for every enabled instance. An unknown or ambiguous plugin
    name is a config error (exit 2) naming the key and the nearest installed name."""
    resolved: dict[str, PluginInfo] = {}
    for spec in config.all_enabled():
        matches = find(spec.kind, spec.plugin, catalog)
        if not matches:
            names = [p.name for p in catalog if p.kind == spec.kind]
            raise ConfigError(
                f"{config.source}: {spec.key}.plugin: no installed {spec.kind} plugin named "
                f"{spec.plugin!r}{did_you_mean(spec.plugin, names)}"
            )
        if len(matches) > 1:
            dists = ", ".join(f"{m.distribution} {m.version}" for m in matches)
            raise ConfigError(
                f"{config.source}: {spec.key}.plugin: {spec.plugin!r} is provided by several "
                f"distributions ({dists}); uninstall all but one"
            )
        resolved[spec.key] = matches[0]
    return resolved


def _api_problem(factory: Any, info: PluginInfo) -> str | None:
    declared = getattr(factory, "ais_api_version", None)
    if not isinstance(declared, str):
        return "declares no ais_api_version (subclass ais.Plugin or set ais_api_version = '1.0')"
    if declared.split(".")[0] != PLUGIN_API_VERSION.split(".")[0]:
        return (
            f"built for AIS plugin API {declared}, but ais-core {__version__} provides "
            f"{PLUGIN_API_VERSION}; upgrade or uninstall {info.distribution}"
        )
    return None


def _import_factories(
    infos: dict[str, PluginInfo],
) -> tuple[dict[tuple[str, str], Any], dict[tuple[str, str], str]]:
    """(kind, plugin name) -> the loaded entry-point object, and -> the import error message."""
    from stevedore import NamedExtensionManager

    loaded: dict[tuple[str, str], Any] = {}
    errors: dict[tuple[str, str], str] = {}
    wanted: dict[str, set[str]] = {}
    for info in infos.values():
        wanted.setdefault(info.kind, set()).add(info.name)
    for kind, names in wanted.items():

        def failed(_manager: Any, entrypoint: Any, exc: BaseException, kind: str = kind) -> None:
            errors[(kind, entrypoint.name)] = f"failed to import: {type(exc).__name__}: {exc}"

        manager: Any = NamedExtensionManager(
            GROUPS[kind],
            names=sorted(names),
            on_load_failure_callback=failed,
            on_missing_entrypoints_callback=lambda missing: None,
        )
        for ext in manager:
            loaded[(kind, ext.name)] = ext.plugin
    return loaded, errors


def load_instances(
    config: AisConfig, catalog: list[PluginInfo] | None = None
) -> tuple[list[LoadedInstance], list[PluginFailure]]:
    """Import the enabled plugins and build one object per enabled instance, in ais.toml order.

    Config errors in an instance's keys raise ``ConfigError`` (exit 2); plugins that cannot be used
    (import error, API version, constructor error, ``AIS_NO_PLUGINS``) come back as failures.
    """
    catalog = installed_plugins() if catalog is None else catalog
    infos = resolve_infos(config, catalog)
    failures: list[PluginFailure] = []

    def fail(spec: InstanceSpec, info: PluginInfo, message: str) -> None:
        failures.append(
            PluginFailure(spec.key, info.name, info.kind, info.distribution, info.version, message)
        )

    if plugins_disabled():
        for spec in config.all_enabled():
            fail(spec, infos[spec.key], "not loaded: AIS_NO_PLUGINS=1 disables every plugin")
        return [], failures

    factories, import_errors = _import_factories(infos)
    instances: list[LoadedInstance] = []
    for spec in config.all_enabled():
        info = infos[spec.key]
        key = (info.kind, info.name)
        if key in import_errors or key not in factories:
            fail(spec, info, import_errors.get(key, "entry point could not be loaded"))
            continue
        factory = factories[key]
        problem = _api_problem(factory, info)
        if problem is not None:
            fail(spec, info, problem)
            continue
        model = getattr(factory, "Config", PluginConfig)
        options = validate_options(config, spec, model)  # ConfigError propagates: exit 2
        try:
            obj = factory(spec.name, options)
        except (ConfigError, SecretError):
            raise  # the plugin found a config or secret problem: its own one line and exit code
        except Exception as exc:  # a plugin's constructor is its own code: isolate and name it
            fail(spec, info, f"failed to start: {type(exc).__name__}: {exc}")
            continue
        instances.append(LoadedInstance(spec, info, options, obj))
    return instances, failures
