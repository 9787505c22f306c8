"""Turning pydantic validation errors into the one line a person reads:
``ais.toml: agents.fast.lookback: must be an integer > 0 (got -3)``."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

_TYPE_WORDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}

_COMPARE = {
    "greater_than": (">", "gt"),
    "greater_than_equal": (">=", "ge"),
    "less_than": ("<", "lt"),
    "less_than_equal": ("<=", "le"),
}


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a candidate is close, else ``""``."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def show(value: Any) -> str:
    """A value as it would look in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "a table"
    return repr(value)


def _annotation_at(model: type[BaseModel] | None, loc: Sequence[int | str]) -> Any:
    annotation: Any = model
    for part in loc:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return None
            annotation = field.annotation
        else:
            args = typing.get_args(annotation)
            annotation = args[-1] if args else None
    return annotation


def _type_word(annotation: Any) -> str | None:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        words = [w for a in typing.get_args(annotation) if a is not type(None) if (w := _type_word(a))]
        return words[0] if len(words) == 1 else None
    return _TYPE_WORDS.get(annotation)


def describe(error: ErrorDetails, model: type[BaseModel] | None) -> str:
    """The "what is expected" part of one pydantic error."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    # never echo what was given for a secret: that is the secret
    got = f" (got {show(error['input'])})" if kind not in ("missing", "secret_literal") else ""
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        siblings: list[str] = []
        parent = _annotation_at(model, error["loc"][:-1])
        if isinstance(parent, type) and issubclass(parent, BaseModel):
            siblings = list(parent.model_fields)
        return "unknown key" + did_you_mean(key, siblings)
    if kind in _COMPARE:
        op, name = _COMPARE[kind]
        word = _type_word(_annotation_at(model, error["loc"])) or "a number"
        limit = ctx.get(name)
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        return f"must be {word} {op} {limit}{got}"
    if kind.startswith("int_"):
        return f"must be an integer{got}"
    if kind.startswith("float_"):
        return f"must be a number{got}"
    if kind.startswith("bool_"):
        return f"must be true or false{got}"
    if kind == "string_pattern_mismatch":
        return f"must match {ctx.get('pattern')}{got}"
    if kind.startswith("string_") and kind != "string_too_short":
        return f"must be a string{got}"
    if kind == "string_too_short":
        return f"must not be empty{got}"
    if kind in ("list_type", "tuple_type"):
        return f"must be a list{got}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a table{got}"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s){got}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}{got}"
    message = error["msg"].removeprefix("Value error, ")
    return message[:1].lower() + message[1:] + ("" if "(got" in message else got)


def first_error_line(
    source: str, prefix: Sequence[str], exc: ValidationError, model: type[BaseModel] | None
) -> str:
    """``<file>: <dotted.path>: <what is expected>`` for the first error, noting how many more."""
    errors = exc.errors()
    first = errors[0]
    # pydantic marks an invalid dict key with a "[key]" location segment: the key itself names it
    path = ".".join([*prefix, *(str(p) for p in first["loc"] if p != "[key]")])
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    where = f"{path}: " if path else ""
    return f"{source}: {where}{describe(first, model)}{more}"
