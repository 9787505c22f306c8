"""Golden results: the trade list of a reference backtest is fingerprinted, and a change fails.

The reference: the bundled market (nine BTC-quoted pairs, 5-minute candles, 2018-01-10 .. 2018-01-30)
with the configuration below (written by this test, so a change of the default ``ais.toml`` does not
move it): two ``momentum`` agents, weighted arbitration, every standard guard, the paper venue with
fees and slippage. Its trades (symbol, agent, side, entry/exit time, entry/exit price and quantity
rounded to 10 significant digits, open or closed) are written one per line and hashed (sha256) into
``tests/golden/<NAME>.sha256``; ``tests/golden/<NAME>.json`` holds the headline figures and the per
symbol counts, so a failure shows what moved.

A change of fill model, sizing, guards, arbitration or agent arithmetic that alters any trade fails
here. If the change is deliberate, rewrite the files and commit them with the change:

    AIS_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden_backtest.py

A backtest signs its orders with a random per-run HMAC key: the trades must not depend on it, which
the second test checks by running the reference twice (two keys, two run ids) and comparing.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ais.backtest import BacktestResult, Trade, run_backtest

GOLDEN = Path(__file__).parent / "golden"
NAME = "backtest_momentum_9pairs"
UPDATE_ENV = "AIS_UPDATE_GOLDEN"
FORMAT = "ais-trades-v1"

REFERENCE_TOML = """
[ais]
mode = "backtest"
symbols = ["ETH/BTC", "LTC/BTC", "XMR/BTC", "ZEC/BTC", "DASH/BTC", "ETC/BTC", "ADA/BTC", "XLM/BTC", "TRX/BTC"]
timezone = "UTC"

[store]
path = "{store}"

[risk]
token_ttl = 300

[portfolio]
initial_cash = 1.0
quote_currency = "BTC"
target_weight = 0.10
max_weight = 0.15

[data.market]
plugin = "replay"
bundled = "binance-5m-2018-01"

[agents.fast_momentum]
plugin = "momentum"
weight = 1.0
fast = 12
slow = 48

[agents.slow_momentum]
plugin = "momentum"
weight = 0.6
fast = 36
slow = 144

[arbitration.weighted]
min_confidence = 0.05

[guards.daily_loss]
max_daily_loss = 0.05

[guards.max_drawdown]
max_drawdown = 0.12
action = "reduce"

[guards.max_leverage]
max_leverage = 1.0

[guards.max_position_weight]
max_weight = 0.15

[guards.min_liquidity]
max_volume_share = 0.05

[guards.max_order_notional]
max_notional = 0.12

[guards.order_rate]
max_orders = 6
per_seconds = 3600

[exchanges.paper]
balances = { BTC = 1.0 }
fee_bps = 10
slippage_bps = 5
max_volume_share = 0.1
"""


def g10(x: float) -> str:
    """A float rounded to 10 significant digits, written the same way on every platform."""
    return f"{x:.10g}"


def trade_line(t: Trade) -> str:
    return ",".join(
        (
            t.symbol,
            t.agent,
            "long" if t.direction > 0 else "short",
            str(t.entry_ts),
            str(t.exit_ts),
            g10(t.entry_price),
            g10(t.exit_price),
            g10(t.quantity),
            "open" if t.open else "closed",
        )
    )


def fingerprint(trades: list[Trade]) -> str:
    text = "\n".join([FORMAT, *(trade_line(t) for t in trades)]) + "\n"
    return hashlib.sha256(text.encode()).hexdigest()


def headline(result: BacktestResult) -> dict[str, Any]:
    m = result.metrics
    s = result.summary
    return {
        "format": FORMAT,
        "trades": len(result.trades),
        "open_trades": sum(t.open for t in result.trades),
        "cycles": s["cycles"],
        "signals": s["signals"],
        "orders": s["orders"],
        "fills": s["fills"],
        "rejections": s["rejections"],
        "final_equity": g10(m["final_equity"]),
        "total_return": g10(m["total_return"]),
        "max_drawdown": g10(m["max_drawdown"]),
        "fees": g10(m["fees"]),
        "trades_by_symbol": dict(sorted(Counter(t.symbol for t in result.trades).items())),
        "trades_by_agent": dict(sorted(Counter(t.agent for t in result.trades).items())),
        "first_trade": trade_line(result.trades[0]) if result.trades else None,
        "last_trade": trade_line(result.trades[-1]) if result.trades else None,
    }


@dataclass
class Reference:
    result: BacktestResult
    key: bytes
    run_id: str


def run_reference(folder: Path) -> Reference:
    folder.mkdir(parents=True, exist_ok=True)
    store = folder / "events.sqlite"
    config = folder / "ais.toml"
    config.write_text(REFERENCE_TOML.replace("{store}", str(store)))
    keys: list[bytes] = []
    result = run_backtest(str(config), store=str(store), before=lambda run: keys.append(run.keyring.key))
    return Reference(result, keys[0], result.summary["run_id"])


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> tuple[Reference, Reference]:
    base = tmp_path_factory.mktemp("golden")
    return run_reference(base / "first"), run_reference(base / "second")


def test_trade_list_matches_the_golden_fingerprint(references: tuple[Reference, Reference]) -> None:
    result = references[0].result
    assert len(result.trades) >= 20, "the reference backtest should trade: a golden of nothing proves nothing"
    digest = fingerprint(result.trades)
    figures = headline(result)
    digest_file = GOLDEN / f"{NAME}.sha256"
    figures_file = GOLDEN / f"{NAME}.json"
    if os.environ.get(UPDATE_ENV) == "1":
        GOLDEN.mkdir(exist_ok=True)
        digest_file.write_text(digest + "\n")
        figures_file.write_text(json.dumps(figures, indent=2) + "\n")
        return
    how = (
        f"if the change is deliberate, run `{UPDATE_ENV}=1 .venv/bin/python -m pytest "
        f"tests/test_golden_backtest.py` and commit tests/golden/{NAME}.*"
    )
    if not digest_file.exists():
        pytest.fail(f"no golden fingerprint at {digest_file}: {how}")
    expected = digest_file.read_text().strip()
    if digest == expected:
        return
    recorded = json.loads(figures_file.read_text()) if figures_file.exists() else {}
    moved = [
        f"  {key}: {recorded.get(key)!r} -> {value!r}"
        for key, value in figures.items()
        if recorded.get(key) != value
    ]
    pytest.fail(
        f"the reference backtest's trades changed (sha256 {expected[:12]}… -> {digest[:12]}…); "
        + ("headline figures that moved:\n" + "\n".join(moved) if moved else "headline figures are equal")
        + f"\n{how}"
    )


def test_trades_do_not_depend_on_the_run_key(references: tuple[Reference, Reference]) -> None:
    first, second = references
    assert first.key != second.key  # a fresh random HMAC key per run
    assert first.run_id != second.run_id
    lines_a = [trade_line(t) for t in first.result.trades]
    lines_b = [trade_line(t) for t in second.result.trades]
    assert lines_a == lines_b
    # not only rounded: the same floats, bit for bit
    assert [t.as_row() for t in first.result.trades] == [t.as_row() for t in second.result.trades]
    assert first.result.summary["final_equity"] == second.result.summary["final_equity"]
