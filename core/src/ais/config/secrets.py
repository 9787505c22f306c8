"""Secrets are references, never literals: ``{ env = "NAME" }`` or ``{ file = "path" }``.

A plugin's config model declares a field of type ``Secret``; the value is read only when
``reveal()`` is called, and every dump of the config shows a redaction instead of the value.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

from ais.errors import SecretError


class Secret:
    """A reference to a secret held in an environment variable or a file."""

    __slots__ = ("ref", "source")

    def __init__(self, source: str, ref: str) -> None:
        if source not in ("env", "file"):
            raise ValueError(f"secret source must be 'env' or 'file' (got {source!r})")
        self.source = source
        self.ref = ref

    def reveal(self) -> str:
        """The secret's value. Raises ``SecretError`` (one line, exit 4) if it cannot be read."""
        if self.source == "env":
            value = os.environ.get(self.ref)
            if not value:
                raise SecretError(f"secret not set: set the environment variable {self.ref}")
            return value
        try:
            return Path(self.ref).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretError(f"secret file {self.ref} cannot be read: {exc.strerror}") from None

    def redacted(self) -> str:
        return f"<redacted: {self.source} {self.ref}>"

    def __repr__(self) -> str:
        return f"Secret({self.source}={self.ref!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and (other.source, other.ref) == (self.source, self.ref)

    def __hash__(self) -> int:
        return hash((self.source, self.ref))

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return core_schema.no_info_plain_validator_function(
            _validate_secret,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda s: s.redacted(), when_used="always"
            ),
        )


_LITERAL = (
    "secret_literal",
    'must be a secret reference { env = "NAME" } or { file = "path" }, not a literal value',
)


def _validate_secret(value: Any) -> Secret:
    if isinstance(value, Secret):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((source, ref),) = value.items()
        if source in ("env", "file") and isinstance(ref, str) and ref:
            return Secret(source, ref)
    raise PydanticCustomError(*_LITERAL)
