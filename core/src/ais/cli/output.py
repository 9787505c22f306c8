"""Printing for people (aligned tables, TOML) and for programs (JSON)."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A plain aligned text table with a header row."""
    cells = [[str(c).upper() for c in columns]] + [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return '""'
    if isinstance(value, Mapping):  # unset (None) keys are left out: TOML has no null
        return (
            "{ "
            + ", ".join(f"{_key(k)} = {_toml_value(v)}" for k, v in value.items() if v is not None)
            + " }"
        )
    if isinstance(value, Sequence):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def to_toml(document: Mapping[str, Any], nested: tuple[str, ...] = ()) -> str:
    """TOML text for a resolved config: ``[section]`` tables, and for each name in ``nested`` one
    ``[kind.instance]`` table per entry. ``None`` values (unset optional keys) become comments,
    since TOML has no null."""
    out: list[str] = []

    def emit(header: str, body: Mapping[str, Any]) -> None:
        out.append(f"[{header}]")
        for k, v in body.items():
            out.append(f"# {_key(k)} is not set" if v is None else f"{_key(k)} = {_toml_value(v)}")
        out.append("")

    for name, body in document.items():
        if name in nested:
            for instance, table in body.items():
                emit(f"{_key(name)}.{_key(instance)}", table)
        else:
            emit(_key(name), body)
    return "\n".join(out).rstrip() + "\n"
