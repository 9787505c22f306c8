"""Cross-package and end-to-end tests: the real ``ais`` CLI in subprocesses, real SQLite stores,
third-party plugins built and installed with pip-compatible tooling into temporary folders."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

pytest_plugins = ["ais.testing"]

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
AIS = str(Path(sys.executable).with_name("ais"))
SECRET = "test-secret-0123456789abcdef0123456789abcdef"


def run_ais(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 300,
    secret: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run the real ``ais`` command; never inherits a secret unless ``secret``."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AIS_")}
    if secret:
        full_env["AIS_RISK_HMAC_SECRET"] = SECRET
    full_env.update(env or {})
    return subprocess.run(
        [AIS, *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout
    )


@pytest.fixture
def ais_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_ais


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a failed command (and proof there is no traceback)."""
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def build_plugin(tmp_path: Path, dist: str, kind: str, entry: str, source: str) -> Path:
    """Write a third-party plugin project (its own pyproject, one module) and install it with
    ``uv pip install --target`` (pip semantics; uv for speed). Returns the folder to put on PYTHONPATH."""
    package = dist.replace("-", "_")
    project = tmp_path / "src-" + dist if False else tmp_path / f"project-{dist}"
    (project / package).mkdir(parents=True)
    (project / package / "__init__.py").write_text(textwrap.dedent(source))
    (project / "pyproject.toml").write_text(
        textwrap.dedent(f"""
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [project]
        name = "{dist}"
        version = "1.2.3"
        dependencies = []

        [project.entry-points."ais.{kind}"]
        {entry} = "{package}:Plugin"
        """)
    )
    target = tmp_path / "site"
    uv = shutil.which("uv")
    cmd = (
        [uv, "pip", "install", "--python", sys.executable, "--no-deps", "--target", str(target), str(project)]
        if uv
        else [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(project)]
    )
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    return target


MOMENTUM_AGENTS = """\
[agents.fast_momentum]
plugin = "momentum"
fast = 12
slow = 48
[agents.slow_momentum]
plugin = "momentum"
weight = 0.6
fast = 36
slow = 144
"""

#: two guards that bite on the bundled market (some orders are throttled), so rejections show
SOME_GUARDS = """\
[guards.max_position_weight]
max_weight = 0.15
[guards.order_rate]
max_orders = 6
per_seconds = 3600
"""

NINE_PAIRS = [
    "ETH/BTC", "LTC/BTC", "XMR/BTC", "ZEC/BTC", "DASH/BTC", "ETC/BTC", "ADA/BTC", "XLM/BTC", "TRX/BTC"
]


def write_backtest_config(
    folder: Path,
    *,
    symbols: list[str] = NINE_PAIRS,
    data: str = 'bundled = "binance-5m-2018-01"',
    agents: str = MOMENTUM_AGENTS,
    arbitration: str = "min_confidence = 0.05",
    guards: str = SOME_GUARDS,
    quote: str = "BTC",
    target_weight: float = 0.10,
    max_weight: float = 0.15,
    fee_bps: float = 10,
    slippage_bps: float = 5,
    extra: str = "",
) -> Path:
    """A backtest ``ais.toml`` in ``folder`` (its store beside it, ``events.sqlite``): by default the
    default configuration's market and momentum agents, the weighted arbitration, two guards, and the
    paper venue with fees and slippage. Each part can be replaced; ``extra`` is appended as is."""
    path = folder / "ais.toml"
    head = textwrap.dedent(
        f"""\
        [ais]
        mode = "backtest"
        symbols = {json.dumps(symbols)}
        [store]
        path = "{folder / 'events.sqlite'}"
        [portfolio]
        initial_cash = 1.0
        quote_currency = "{quote}"
        target_weight = {target_weight}
        max_weight = {max_weight}
        [data.market]
        plugin = "replay"
        """
    )
    venue = textwrap.dedent(
        f"""\
        [exchanges.paper]
        balances = {{ {quote} = 1.0 }}
        fee_bps = {fee_bps}
        slippage_bps = {slippage_bps}
        """
    )
    parts = [
        head + data + "\n",
        textwrap.dedent(agents),
        "[arbitration.weighted]\n" + textwrap.dedent(arbitration),
        textwrap.dedent(guards),
        venue,
        textwrap.dedent(extra),
    ]
    path.write_text("\n".join(part.rstrip("\n") + "\n" for part in parts if part.strip()))
    return path
