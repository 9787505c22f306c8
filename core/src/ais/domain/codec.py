"""Pydantic at the boundary: stored payloads (JSON) validated back into domain objects."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import TypeAdapter

T = TypeVar("T")

_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(cls: type[Any]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        adapter = _ADAPTERS[cls] = TypeAdapter(cls)
    return adapter


def from_payload(cls: type[T], data: Any) -> T:
    """Validate ``data`` (e.g. a stored event payload) into ``cls``; raises ``pydantic.ValidationError``."""
    result: T = _adapter(cls).validate_python(data)
    return result
