"""Pydantic at the boundary: domain objects to JSON-compatible payloads and back, validated."""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from pydantic import TypeAdapter

T = TypeVar("T")


@cache
def _adapter(cls: type[Any]) -> TypeAdapter[Any]:
    return TypeAdapter(cls)


def to_payload(obj: Any) -> Any:
    """A JSON-compatible dict of a domain object (enums as their values)."""
    return _adapter(type(obj)).dump_python(obj, mode="json")


def from_payload(cls: type[T], data: Any) -> T:
    """Validate ``data`` (e.g. a stored event payload) into ``cls``; raises ``pydantic.ValidationError``."""
    result: T = _adapter(cls).validate_python(data)
    return result
