"""Every agent of ais-agents-classic and ais-agents-intel through the whole pipeline on real candles:
its signals become risk-approved orders and fills at the paper venue (issue 4). The regime detector
trades nothing itself: its regimes reach shared state, the event store, arbitration and `ais status`."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from conftest import SHARED_DATA, run_ais, write_backtest_config

from ais.backtest import run_backtest

FIVE_MIN = SHARED_DATA / "binance-5m-2018-01"
FUTURES = SHARED_DATA / "binance-futures-2021-11"


def config(folder: Path, symbols: list[str], agents: str, data: str = 'bundled = "binance-5m-2018-01"',
           quote: str = "BTC", arbitration: str = "") -> str:
    """One agent (or a few) alone, every signal eligible (no minimum confidence), one guard."""
    path = write_backtest_config(
        folder,
        symbols=symbols,
        data=data,
        agents=agents,
        arbitration="min_confidence = 0.0\n" + textwrap.dedent(arbitration),
        guards="[guards.max_leverage]\nmax_leverage = 2.0\n",
        quote=quote,
        target_weight=0.2,
        max_weight=0.3,
    )
    return str(path)


CLASSIC = {
    "momentum": "",
    "mean_reversion": "",
    "rsi_divergence": "",
    "vwap_reversion": "",
    "volatility_breakout": "",
    "grid": "",
}


@pytest.mark.parametrize("plugin", sorted(CLASSIC))
def test_classic_agent_trades_through_the_pipeline(plugin: str, tmp_path: Path) -> None:
    agents = f"[agents.{plugin}]\n{CLASSIC[plugin]}"
    result = run_backtest(config(tmp_path, ["ETH/BTC", "LTC/BTC", "ADA/BTC"], agents))
    assert result.summary["signals"] > 0, f"{plugin} produced no signal on real data"
    assert result.summary["fills"] > 0, f"no signal of {plugin} became a fill"
    assert set(result.by_agent) == {plugin}
    assert result.summary["refused_tokens"] == 0


def test_pairs_trades_both_legs_together(tmp_path: Path) -> None:
    agents = """\
        [agents.pairs]
        legs = ["ETH/BTC", "LTC/BTC"]
        """
    path = config(tmp_path, ["ETH/BTC", "LTC/BTC"], agents)
    result = run_backtest(path)
    assert result.summary["fills"] > 0
    fills = run_ais("events", "--store", str(tmp_path / "events.sqlite"), "--type", "order.intent", "--json")
    intents = [event["payload"] for event in json.loads(fills.stdout)]
    by_time: dict[int, set[str]] = {}
    for intent in intents:
        by_time.setdefault(intent["ts"], set()).add(intent["symbol"])
    # legs are sent all or nothing: every cycle that sends one leg of the pair sends the other
    assert by_time and all(symbols == {"ETH/BTC", "LTC/BTC"} for symbols in by_time.values())


def test_funding_rate_agent_trades_the_perpetual(tmp_path: Path) -> None:
    symbol = "XRP/USDT:USDT"
    data = (
        f'files = {{ "{symbol}" = "{FUTURES / "XRP_USDT_USDT-5m.csv"}" }}\n'
        f'funding = {{ "{symbol}" = "{FUTURES / "XRP_USDT_USDT-8h-funding.csv"}" }}'
    )
    # the bundled XRP file holds 91 rates, 12 of them while its candles run: a short window
    agents = "[agents.funding_rate]\nwindow = 6\n"
    result = run_backtest(config(tmp_path, [symbol], agents, data=data, quote="USDT"))
    assert result.summary["signals"] > 0 and result.summary["fills"] > 0
    assert set(result.by_agent) == {"funding_rate"}


def test_regime_reaches_shared_state_arbitration_and_status(tmp_path: Path) -> None:
    agents = """\
        [agents.regime]
        [agents.mean_reversion]
        [agents.momentum]
        """
    # mean reversion is silenced in trends: the arbitration reads the published regime
    table = "regime_weights = { mean_reversion = { trending_up = 0.0, trending_down = 0.0 } }"
    path = config(tmp_path, ["ETH/BTC", "LTC/BTC", "ADA/BTC"], agents, arbitration=table)
    result = run_backtest(path)
    store = str(tmp_path / "events.sqlite")
    updates = run_ais("events", "--store", store, "--type", "shared.update", "--json")
    regimes = [event["payload"] for event in json.loads(updates.stdout)]
    assert {r["topic"] for r in regimes} == {"regime"}
    assert {r["value"] for r in regimes} >= {"trending_down", "ranging"}
    status = run_ais("status", "--store", store, "--json")
    shown = json.loads(status.stdout)["shared"]["regime"]
    assert set(shown) == {"ETH/BTC", "LTC/BTC", "ADA/BTC"}
    assert result.summary["fills"] > 0
