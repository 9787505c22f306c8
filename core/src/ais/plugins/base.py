"""What a plugin class is: constructed once per configured instance with its validated config."""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from ais.markers import PLUGIN_API_VERSION


class PluginConfig(BaseModel):
    """Base of every plugin's config model: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


C = TypeVar("C", bound=PluginConfig)


class Plugin(Generic[C]):
    """Base class for plugins.

    The entry point names the class. Core builds one object per ``[<kind>.<instance>]`` table:
    ``cls(name, config)`` with ``config`` an instance of ``cls.Config`` validated from the table, then
    registers it with pluggy. Hooks are methods marked ``@hookimpl``.

    Subclassing is optional: any class with ``Config``, ``ais_api_version`` and that
    constructor works.
    """

    #: The plugin API version this plugin is built for; another major version is refused.
    ais_api_version: ClassVar[str] = PLUGIN_API_VERSION
    #: The config model for this plugin's keys in ais.toml.
    Config: ClassVar[type[PluginConfig]] = PluginConfig

    def __init__(self, name: str, config: C) -> None:
        self.name = name
        self.config: C = config

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
