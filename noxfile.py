"""Developer sessions (uv backend). `nox` runs the default set: lint, typecheck, tests, plugins,
integration, docs. `nox -s bench` prints the benchmark figures. `PLUGINS=a,b nox -s plugins` filters."""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["lint", "typecheck", "tests", "plugins", "integration", "docs"]
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).parent
PLUGINS = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists())
SELECTED = [p for p in os.environ.get("PLUGINS", "").split(",") if p] or PLUGINS
TEST_DEPS = ["pytest>=8", "numpy>=1.26"]
#: the cross-package tests also drive a browser (the HTML report; Chromium from apt, see .ci/run) and
#: compare backtests with a peer framework (backtesting.py)
CROSS_DEPS = ["playwright>=1.45", "backtesting==0.6.6"]
PYTEST = ["pytest", "-q", "-p", "no:cacheprovider"]
#: plugins whose tests need others beside them (test-time only, not dependencies): the dask executor
#: runs real backtests on its cluster
PLUGIN_TEST_PEERS = {
    "ais-executor-dask": (
        "ais-data-replay", "ais-agents-classic", "ais-arbitration-weighted", "ais-exchange-paper"
    ),
}


def install_all(session: nox.Session, *, editable: bool = True) -> None:
    flag = ["-e"] if editable else []
    args = [*flag, "./core"]
    for plugin in PLUGINS:
        args += [*flag, f"./plugins/{plugin}"]
    session.install(*args, *TEST_DEPS)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff over the whole repository."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """mypy --strict on core."""
    session.install("mypy>=1.11", "-e", "./core", "pytest>=8")
    session.run("mypy", "--strict", "core/src/ais")


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """Core tests and cross-package tests (everything installed editable); slow ones excluded."""
    install_all(session)
    session.install(*CROSS_DEPS)
    session.run(*PYTEST, "-m", "not slow", "core/tests", "tests", *session.posargs)


@nox.session(python="3.11")
@nox.parametrize("plugin", SELECTED, ids=SELECTED)
def plugins(session: nox.Session, plugin: str) -> None:
    """Each plugin installed alone with core, as a user would (not editable), its own tests run:
    proves it declares its own dependencies."""
    extras = [f"./plugins/{name}" for name in PLUGIN_TEST_PEERS.get(plugin, ())]
    session.install("./core", f"./plugins/{plugin}", *extras, *TEST_DEPS)
    session.run(*PYTEST, f"plugins/{plugin}/tests", *session.posargs)


@nox.session(python="3.11")
def integration(session: nox.Session) -> None:
    """Everything installed together from wheels (not editable); the slow end-to-end tests."""
    install_all(session, editable=False)
    session.install(*CROSS_DEPS)
    session.run(*PYTEST, "-m", "slow", "tests", *session.posargs)


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """Docs checks: every hook and config key documented with its exact signature/name, links resolve."""
    install_all(session)
    session.run(*PYTEST, "tests/test_docs.py", *session.posargs)


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Benchmarks: prints figures (not part of the default set)."""
    # Byte-compile at install: start-up figures should not include compiling every module (some
    # environments set PYTHONDONTWRITEBYTECODE, so nothing would ever be cached).
    session.env["UV_COMPILE_BYTECODE"] = "1"
    install_all(session, editable=False)
    # The peers bench_backtest.py measures `ais backtest` against (each run in a child process).
    session.install("backtesting==0.6.6", "backtrader==1.9.78.123", "pandas>=2.2")
    for script in sorted((ROOT / "tests" / "bench").glob("bench_*.py")):
        session.run("python", str(script), *session.posargs)
