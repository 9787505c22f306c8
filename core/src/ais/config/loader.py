"""ais.toml → a validated ``AisConfig``: core sections by core's models, instance tables split into
core keys (``plugin``, ``enabled``, ``weight``) and the plugin's own keys (validated once the plugin
class is loaded, by ``validate_options``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ais.config.messages import did_you_mean, first_error_line, show
from ais.config.models import (
    COMMON_KEYS,
    CORE_SECTIONS,
    INSTANCE_SECTIONS,
    AisSection,
    PortfolioSection,
    ResearchSection,
    RiskSection,
    RoutingSection,
    StoreSection,
)
from ais.config.toml import config_path, read_toml
from ais.errors import ConfigError


@dataclass(frozen=True)
class InstanceSpec:
    """One ``[<kind>.<name>]`` table."""

    kind: str
    name: str
    plugin: str
    enabled: bool
    options: Mapping[str, Any]
    weight: float = 1.0

    @property
    def key(self) -> str:
        return f"{self.kind}.{self.name}"


@dataclass(frozen=True)
class AisConfig:
    source: str
    ais: AisSection
    store: StoreSection
    risk: RiskSection
    portfolio: PortfolioSection
    routing: RoutingSection
    research: ResearchSection = field(default_factory=ResearchSection)
    #: dotted keys set on top of the file (``ais sweep``, walk-forward), recorded with the run
    overrides: Mapping[str, Any] = field(default_factory=dict)
    instances: dict[str, list[InstanceSpec]] = field(default_factory=dict)

    def enabled(self, kind: str) -> list[InstanceSpec]:
        """The enabled instances of ``kind``, in ais.toml order."""
        return [spec for spec in self.instances.get(kind, []) if spec.enabled]

    def all_enabled(self) -> list[InstanceSpec]:
        return [spec for kind in INSTANCE_SECTIONS for spec in self.enabled(kind)]

    def venue_for(self, symbol: str) -> str | None:
        """The exchange instance that trades ``symbol`` (a lone exchange routes everything)."""
        venue = self.routing.symbols.get(symbol, self.routing.default)
        if venue is None:
            exchanges = self.enabled("exchanges")
            if len(exchanges) == 1:
                return exchanges[0].name
        return venue


def _validate(source: str, prefix: list[str], model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(first_error_line(source, prefix, exc, model)) from None


def _table(source: str, path: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: {path}: must be a table (got {show(value)})")
    return value


def apply_overrides(source: str, raw: dict[str, Any], overrides: Mapping[str, Any]) -> None:
    """Set each dotted key (``agents.momentum.fast``) in the raw document; the instance table must
    exist (a typo must not silently add a new instance)."""
    for dotted, value in overrides.items():
        *path, last = dotted.split(".")
        table = raw
        for depth, part in enumerate(path):
            child = table.get(part)
            if not isinstance(child, dict):
                where = ".".join(path[: depth + 1])
                raise ConfigError(f"{source}: {dotted}: no table [{where}] to set it in")
            table = child
        table[last] = value


def load_config(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> AisConfig:
    """Read and validate ais.toml (see ``config_path`` for which file), with ``overrides`` (dotted
    keys) applied before validation. Raises ``ConfigError``."""
    file = config_path(str(path) if path is not None else None)
    source = str(file)
    raw = read_toml(file)
    if overrides:
        apply_overrides(source, raw, overrides)
    known = [*CORE_SECTIONS, *INSTANCE_SECTIONS]
    for key in raw:
        if key not in known:
            raise ConfigError(f"{source}: {key}: unknown section{did_you_mean(key, known)}")
    if "ais" not in raw:
        raise ConfigError(f"{source}: ais: section is required (with at least `symbols = [...]`)")
    sections = {
        name: _validate(source, [name], model, _table(source, name, raw.get(name, {})))
        for name, model in CORE_SECTIONS.items()
    }
    instances: dict[str, list[InstanceSpec]] = {}
    for kind in INSTANCE_SECTIONS:
        specs = []
        for name, table in _table(source, kind, raw.get(kind, {})).items():
            table = _table(source, f"{kind}.{name}", table)
            common_model = COMMON_KEYS[kind]
            common_keys = set(common_model.model_fields)
            common = _validate(
                source,
                [kind, name],
                common_model,
                {"plugin": name} | {k: v for k, v in table.items() if k in common_keys},
            )
            options = {k: v for k, v in table.items() if k not in common_keys}
            specs.append(
                InstanceSpec(
                    kind=kind,
                    name=name,
                    plugin=common.plugin,
                    enabled=common.enabled,
                    options=options,
                    weight=getattr(common, "weight", 1.0),
                )
            )
        instances[kind] = specs
    return AisConfig(source=source, instances=instances, overrides=dict(overrides or {}), **sections)


def validate_options(config: AisConfig, spec: InstanceSpec, model: type[BaseModel]) -> BaseModel:
    """The plugin's config model validated against the instance's own keys (exit 2 on error)."""
    try:
        return model.model_validate(dict(spec.options))
    except ValidationError as exc:
        raise ConfigError(first_error_line(config.source, [spec.kind, spec.name], exc, model)) from None


def check_capabilities(config: AisConfig) -> None:
    """The cross-section rules a run needs; each failure is one ``ConfigError`` line."""
    src = config.source
    exchanges = [s.name for s in config.enabled("exchanges")]
    if not config.enabled("data"):
        raise ConfigError(f"{src}: data: enable at least one data provider ([data.<name>])")
    if not exchanges:
        raise ConfigError(f"{src}: exchanges: enable at least one exchange ([exchanges.<name>])")
    arbitration = config.enabled("arbitration")
    if len(arbitration) != 1 and config.enabled("agents"):
        names = ", ".join(s.name for s in arbitration) or "none"
        raise ConfigError(
            f"{src}: arbitration: exactly one arbitration instance must be enabled (found: {names})"
        )
    if config.ais.mode != "backtest" and not config.enabled("guards"):
        raise ConfigError(
            f"{src}: guards: mode {config.ais.mode} needs at least one enabled guard ([guards.<name>])"
        )
    for symbol, venue in config.routing.symbols.items():
        if venue not in exchanges:
            raise ConfigError(
                f"{src}: routing.symbols.{symbol}: no enabled exchange instance {venue!r}"
                f"{did_you_mean(venue, exchanges)}"
            )
    if config.routing.default is not None and config.routing.default not in exchanges:
        raise ConfigError(
            f"{src}: routing.default: no enabled exchange instance {config.routing.default!r}"
            f"{did_you_mean(config.routing.default, exchanges)}"
        )
    for symbol in config.ais.symbols:
        if config.venue_for(symbol) is None:
            raise ConfigError(
                f"{src}: routing: symbol {symbol!r} has no exchange (set routing.default or routing.symbols)"
            )
