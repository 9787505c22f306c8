"""Pydantic at the boundary: domain objects to JSON-compatible payloads and back, validated."""

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


def to_payload(obj: Any) -> Any:
    """A JSON-compatible dict of a domain object (enums as their values)."""
    return _adapter(type(obj)).dump_python(obj, mode="json")


def from_payload(cls: type[T], data: Any) -> T:
    """Validate ``data`` (e.g. a stored event payload) into ``cls``; raises ``pydantic.ValidationError``."""
    result: T = _adapter(cls).validate_python(data)
    return result
