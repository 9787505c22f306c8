"""Docs are checked against the code (datasette's meta-tests): every hook has a reference section with
its exact signature and at least one test that exercises it; every core config key is documented;
relative links resolve. ``python tests/test_docs.py --write`` regenerates the generated references."""

from __future__ import annotations

import inspect
import re
import sys
import textwrap
from pathlib import Path

import pytest

from ais.config.models import COMMON_KEYS, CORE_SECTIONS
from ais.hookspecs import KINDS, SPEC_MODULES, hook_names, lifecycle

ROOT = Path(__file__).resolve().parents[1]
HOOKS_MD = ROOT / "docs" / "reference" / "hooks.md"
CONFIG_MD = ROOT / "docs" / "configuration.md"


def all_hooks() -> list[tuple[str, str, object]]:
    """(kind, hook name, function) for every hook spec."""
    out = [("lifecycle", name, getattr(lifecycle, name)) for name in hook_names(lifecycle)]
    for kind, (_, module) in KINDS.items():
        out += [(kind, name, getattr(module, name)) for name in hook_names(module)]
    return out


def signature(function: object) -> str:
    sig = inspect.signature(function)  # type: ignore[arg-type]
    return f"def {function.__name__}{sig}".replace("'", "")  # type: ignore[attr-defined]


def render_hooks() -> str:
    parts = [
        "# Hook reference\n\n",
        "Generated from the hook specifications in `core/src/ais/hookspecs/` "
        "(`python tests/test_docs.py --write`); a test fails when a hook lacks its section or a test.\n\n",
        "Plugins implement hooks as methods marked `@hookimpl` (`from ais import hookimpl`); an "
        "implementation may take a subset of the arguments. Core calls them in ais.toml order.\n",
    ]
    current = None
    for kind, name, function in all_hooks():
        if kind != current:
            current = kind
            group = KINDS[kind][0] if kind in KINDS else "any kind"
            parts.append(f"\n## {kind} (`{group}`)\n")
        doc = textwrap.dedent(inspect.getdoc(function) or "").strip()
        doc = doc.replace("Example::", "Example:").replace(".. versionadded:: ", "Added in API ")
        doc = re.sub(
            r"Example:\n\n((?:    .*\n?|\n)+)",
            lambda m: "Example:\n\n```python\n" + textwrap.dedent(m.group(1)).strip() + "\n```\n\n",
            doc + "\n",
        )
        parts.append(f"\n### `{name}`\n\n```python\n{signature(function)}\n```\n\n{doc.strip()}\n")
    return "".join(parts)


def render_config() -> str:
    parts = [
        "# Configuration reference (`ais.toml`)\n\n",
        "Generated from core's config models (`python tests/test_docs.py --write`); the sections of the\n"
        "plugins are documented on each plugin's page under `docs/plugins/`.\n\n",
        "`ais.toml` is found by `--config PATH`, else `$AIS_CONFIG`, else `./ais.toml`. Unknown keys are\n"
        "errors; every error names the file and the dotted key path on one line (exit code 2).\n"
        'Secrets are never literal: a secret field takes `{ env = "NAME" }` or `{ file = "path" }`.\n',
    ]

    def table(model: type) -> str:
        rows = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
        for key, field in model.model_fields.items():  # type: ignore[attr-defined]
            default = (
                "required"
                if field.is_required()
                else ("{}" if field.default_factory is not None else repr(field.default).replace("'", '"'))
            )
            annotation = str(field.annotation).replace("typing.", "")
            annotation = re.sub(r"<class '(\w+)'>", r"\1", annotation).replace("|", "\\|")
            rows.append(f"| `{key}` | `{annotation}` | `{default}` | {field.description or ''} |")
        return "\n".join(rows) + "\n"

    for name, model in CORE_SECTIONS.items():
        parts.append(f"\n## `[{name}]`\n\n{(model.__doc__ or '').strip()}\n\n{table(model)}")
    parts.append(
        "\n## Plugin instances: `[<kind>.<instance>]`\n\n"
        "One table per configured instance, for the kinds `data`, `agents`, `arbitration`, `guards`,\n"
        "`exchanges` and `integrations`. The keys below are core's; every other key goes to the plugin's\n"
        "own config model. Instances of one kind run in the order they appear in the file.\n\n"
        + table(COMMON_KEYS["guards"])
        + "\nAgents also take:\n\n"
        + table(COMMON_KEYS["agents"]).split("\n", 2)[2]
    )
    return "".join(parts)


def test_every_hook_has_a_reference_section_with_its_signature() -> None:
    text = HOOKS_MD.read_text()
    for _, name, function in all_hooks():
        assert f"### `{name}`" in text, f"docs/reference/hooks.md lacks a section for {name}"
        assert signature(function) in text, f"docs/reference/hooks.md has an outdated signature for {name}"


def test_every_hook_has_a_test() -> None:
    sources = "".join(
        p.read_text()
        for folder in ("core/tests", "tests", "plugins")
        for p in (ROOT / folder).rglob("test_*.py")
    )
    sources += (ROOT / "core/src/ais/testing/conformance.py").read_text()
    missing = [name for _, name, _ in all_hooks() if name not in sources]
    assert not missing, f"hooks with no test exercising them: {missing}"


def test_every_core_config_key_is_documented() -> None:
    text = CONFIG_MD.read_text()
    for section, model in CORE_SECTIONS.items():
        assert f"## `[{section}]`" in text
        for key in model.model_fields:
            assert f"| `{key}` |" in text, f"docs/configuration.md lacks [{section}].{key}"
    for key in COMMON_KEYS["agents"].model_fields:
        assert f"| `{key}` |" in text


def test_spec_modules_cover_every_kind() -> None:
    assert len(SPEC_MODULES) == len(KINDS) + 1


@pytest.mark.parametrize(
    "page",
    [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md", ROOT / "CONTRIBUTING.md"],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_relative_links_resolve(page: Path) -> None:
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to missing {target}"


def test_each_plugin_has_a_readme_and_a_docs_page() -> None:
    for plugin in (ROOT / "plugins").iterdir():
        if (plugin / "pyproject.toml").exists():
            assert (plugin / "README.md").exists(), plugin.name
            page = ROOT / "docs" / "plugins" / (plugin.name.removeprefix("ais-") + ".md")
            assert page.exists(), f"{plugin.name} has no docs page {page.relative_to(ROOT)}"


if __name__ == "__main__" and "--write" in sys.argv:
    HOOKS_MD.parent.mkdir(parents=True, exist_ok=True)
    HOOKS_MD.write_text(render_hooks())
    CONFIG_MD.write_text(render_config())
    print(f"wrote {HOOKS_MD.relative_to(ROOT)} and {CONFIG_MD.relative_to(ROOT)}")
