"""``ais backtest``, ``ais sweep`` and ``ais walk-forward`` end to end: the real CLI in subprocesses,
the bundled market (real Binance candles), real SQLite stores."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest
from conftest import NINE_PAIRS, SHARED_DATA, one_line_error, run_ais, write_backtest_config

from ais.backtest.run import read_trades
from ais.testing import read_candles

SYMBOLS = NINE_PAIRS


def write_config(
    folder: Path,
    *,
    symbols: list[str] = SYMBOLS,
    data: str = 'bundled = "binance-5m-2018-01"',
    fee_bps: float = 10,
    slippage_bps: float = 5,
    research: str = "",
) -> Path:
    return write_backtest_config(
        folder, symbols=symbols, data=data, fee_bps=fee_bps, slippage_bps=slippage_bps, extra=research
    )


@pytest.fixture(scope="module")
def nine_pairs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("bt")
    config = write_config(folder)
    result = run_ais(
        "backtest", "--config", str(config), "--json", "--trades", str(folder / "trades.csv"),
        "--equity", str(folder / "equity.csv"), "--monte-carlo", "100", "--seed", "5", secret=False,
    )
    assert result.returncode == 0, result.stderr
    return folder, json.loads(result.stdout)


def test_backtest_of_nine_pairs_measures_itself(nine_pairs: tuple[Path, dict]) -> None:
    _, out = nine_pairs
    m = out["metrics"]
    assert m["bars"] == 5760 and out["counts"]["cycles"] == 5760
    assert m["start"] == "2018-01-10T05:00:00Z" and m["end"] == "2018-01-30T04:55:00Z"
    assert out["counts"]["fills"] > 20 and m["trades"] > 10
    assert set(out["by_agent"]) == {"fast_momentum", "slow_momentum"}
    assert set(out["by_symbol"]) <= set(SYMBOLS) and len(out["by_symbol"]) >= 5
    assert sum(m["rejections"].values()) > 0, "the order-rate guard throttles some orders"
    for key in ("cagr", "volatility", "sharpe", "sortino", "max_drawdown", "calmar", "win_rate",
                "profit_factor", "average_trade", "exposure_time", "turnover", "fees"):
        assert isinstance(m[key], float), key
    # every unit of P&L is attributed: trades (open ones marked at the last close) add up to the result
    pnl = sum(row["pnl"] for row in out["by_agent"].values())
    assert pnl == pytest.approx(m["final_equity"] - m["initial_equity"], rel=1e-9, abs=1e-12)
    assert sum(row["pnl"] for row in out["by_symbol"].values()) == pytest.approx(pnl, rel=1e-9, abs=1e-12)
    assert out["monthly_returns"] == {"2018-01": pytest.approx(m["total_return"], rel=1e-12)}
    mc = out["monte_carlo"]
    assert mc["seed"] == 5 and mc["trades"]["runs"] == 100 and mc["blocks"]["runs"] == 100


def test_backtest_exports_and_store(nine_pairs: tuple[Path, dict]) -> None:
    folder, out = nine_pairs
    with (folder / "trades.csv").open() as handle:
        trades = list(csv.DictReader(handle))
    assert len(trades) == out["metrics"]["trades"] + out["metrics"]["open_trades"]
    assert sum(float(t["pnl"]) for t in trades) == pytest.approx(
        out["metrics"]["final_equity"] - out["metrics"]["initial_equity"], rel=1e-9
    )
    with (folder / "equity.csv").open() as handle:
        equity = list(csv.DictReader(handle))
    assert len(equity) == 5760
    assert float(equity[-1]["nav"]) == pytest.approx(out["metrics"]["final_equity"], rel=1e-15)
    deepest = max(float(r["drawdown"]) for r in equity)
    assert deepest == pytest.approx(out["metrics"]["max_drawdown"], rel=1e-12)
    # the same pipeline as paper and live: every order signed by the risk engine, journaled, chained
    db = sqlite3.connect(folder / "events.sqlite")
    rows = db.execute("SELECT payload FROM events WHERE type='order.intent'")
    tokens = [json.loads(payload)["token"] for (payload,) in rows]
    assert tokens and all(isinstance(t, str) and t for t in tokens)
    assert run_ais("audit", "verify", "--store", str(folder / "events.sqlite")).returncode == 0
    # the round trips built during the run are those the stored events give, read back and decoded
    (run_id,) = db.execute("SELECT run_id FROM events WHERE type = 'run.start'").fetchone()
    stored = read_trades(folder / "events.sqlite", run_id, {})  # closed ones only
    closed = [t for t in trades if t["open"] == "False"]
    assert len(stored) == len(closed) > 10
    for mine, theirs in zip(closed, stored, strict=True):
        assert (mine["symbol"], mine["agent"], float(mine["entry_price"]), float(mine["exit_price"])) == (
            theirs.symbol, theirs.agent, theirs.entry_price, theirs.exit_price
        )
        assert float(mine["pnl"]) == pytest.approx(theirs.pnl, rel=1e-12, abs=1e-15)


def _cut_market(folder: Path, symbols: list[str], last_open: int | None = None) -> str:
    """CSV copies of real candles (optionally cut after the bar opening at ``last_open``)."""
    files = {}
    for symbol in symbols:
        name = symbol.replace("/", "_") + ".csv"
        lines = (SHARED_DATA / "binance-5m-2018-01" / name).read_text().splitlines()
        kept = [lines[0]]
        kept += [ln for ln in lines[1:] if last_open is None or int(ln.split(",")[0]) <= last_open]
        (folder / name).write_text("\n".join(kept) + "\n")
        files[symbol] = str(folder / name)
    return "files = " + json.dumps(files).replace('":', '" =').replace("{", "{ ").replace("}", " }")


def _events(store: Path, *types: str) -> list[tuple[int, str, dict]]:
    db = sqlite3.connect(store)
    marks = ",".join("?" * len(types))
    rows = db.execute(f"SELECT ts, type, payload FROM events WHERE type IN ({marks}) ORDER BY seq", types)
    return [(ts, kind, json.loads(payload)) for ts, kind, payload in rows]


def test_no_future_data_reaches_the_agents(tmp_path: Path) -> None:
    """The same backtest on the full data and on data cut at T decides identically up to T: nothing
    after T can have influenced a decision made at T."""
    symbols = ["ETH/BTC", "LTC/BTC", "ADA/BTC"]
    eth = read_candles(SHARED_DATA / "binance-5m-2018-01" / "ETH_BTC.csv")
    cut = eth[3000].ts
    runs = {}
    for name, last_open in (("full", None), ("cut", cut)):
        folder = tmp_path / name
        folder.mkdir()
        config = write_config(folder, symbols=symbols, data=_cut_market(folder, symbols, last_open))
        result = run_ais("backtest", "--config", str(config), "--json", secret=False)
        assert result.returncode == 0, result.stderr
        runs[name] = _events(folder / "events.sqlite", "decision", "order.intent", "risk.rejected")
    horizon = cut + 300_000  # the cut's last bar closes here
    full = [(ts, kind, p.get("signals"), p.get("symbol"), p.get("quantity")) for ts, kind, p in runs["full"]
            if ts <= horizon]
    short = [(ts, kind, p.get("signals"), p.get("symbol"), p.get("quantity")) for ts, kind, p in runs["cut"]]
    assert len(short) > 20
    assert full == short


def test_market_orders_fill_at_the_next_bars_open(tmp_path: Path) -> None:
    """A decision on the close of bar t (cycle time = t's close) fills at the open of bar t+1."""
    write_config(tmp_path, symbols=["ETH/BTC", "ZEC/BTC"], fee_bps=0, slippage_bps=0)
    result = run_ais("backtest", "--config", str(tmp_path / "ais.toml"), "--json", secret=False)
    assert result.returncode == 0, result.stderr
    folder = SHARED_DATA / "binance-5m-2018-01"
    opens = {
        symbol: {c.ts: c.open for c in read_candles(folder / f"{symbol.replace('/', '_')}.csv")}
        for symbol in ("ETH/BTC", "ZEC/BTC")
    }
    intents = {p["client_order_id"]: ts for ts, _, p in _events(tmp_path / "events.sqlite", "order.intent")}
    fills = _events(tmp_path / "events.sqlite", "order.fill")
    assert len(fills) > 5
    for _, _, fill in fills:
        decided_at = intents[fill["client_order_id"]]
        # the bar that opens when the deciding bar closes
        assert fill["price"] == opens[fill["symbol"]][decided_at], fill
        assert fill["fill_ts"] >= decided_at


def test_from_to_window(tmp_path: Path) -> None:
    config = write_config(tmp_path, symbols=["ETH/BTC"])
    window = ("--from", "2018-01-15", "--to", "2018-01-16")
    result = run_ais("backtest", "--config", str(config), *window, "--json", secret=False)
    assert result.returncode == 0, result.stderr
    m = json.loads(result.stdout)["metrics"]
    assert m["start"] == "2018-01-15T00:05:00Z" and m["end"] == "2018-01-17T00:00:00Z"
    assert m["bars"] == 2 * 288


def test_backtest_errors_are_one_line_and_keep_the_store(tmp_path: Path) -> None:
    config = write_config(tmp_path, symbols=["ETH/BTC"])
    store = tmp_path / "events.sqlite"
    assert run_ais("backtest", "--config", str(config), "--to", "2018-01-12", secret=False).returncode == 0
    before = _events(store, "run.start", "run.end", "order.fill")
    cases = [
        (["--from", "2018-02-31"], "--from '2018-02-31': not a date"),
        (["--from", "2018-01-20", "--to", "2018-01-19"], "--to 2018-01-19 is before --from 2018-01-20"),
        (["--from", "2019-01-01"], "no bar in the --from/--to window"),
        (["--report", str(tmp_path / "missing" / "r.html")], "folder"),
        (["--trades", str(tmp_path)], "is a folder"),
        (["--monte-carlo", "0"], "--monte-carlo must be a positive"),
    ]
    for args, message in cases:
        result = run_ais("backtest", "--config", str(config), *args, secret=False)
        assert result.returncode == 2, (args, result.stderr)
        assert message in one_line_error(result)
    after = _events(store, "run.start", "run.end", "order.fill")
    assert after[: len(before)] == before, "nothing already stored is lost"
    assert run_ais("audit", "verify", "--store", str(store)).returncode == 0


RESEARCH = """\
[research]
metric = "sharpe"
train_days = 6
test_days = 4
[research.params]
"agents.fast_momentum.fast" = [6, 12]
"agents.fast_momentum.slow" = [24, 48]
"""


def test_sweep_ranks_every_parameter_set(tmp_path: Path) -> None:
    config = write_config(tmp_path, symbols=["ETH/BTC", "LTC/BTC", "ADA/BTC"], research=RESEARCH)
    result = run_ais("sweep", "--config", str(config), "--json", "--workers", "2",
                     "--csv", str(tmp_path / "sweep.csv"), secret=False)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    rows = out["rows"]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4]
    fast, slow = "agents.fast_momentum.fast", "agents.fast_momentum.slow"
    tried = [(r["params"][fast], r["params"][slow]) for r in rows]
    assert sorted(tried) == [(6, 24), (6, 48), (12, 24), (12, 48)]
    sharpes = [r["metrics"]["sharpe"] for r in rows]
    assert sharpes == sorted(sharpes, reverse=True)
    # one of them is the plain backtest with those parameters: same numbers in another process
    best = rows[0]["params"]
    (tmp_path / "alone.toml").write_text(
        config.read_text()
        .replace("fast = 12\nslow = 48", f"fast = {best['agents.fast_momentum.fast']}\n"
                 f"slow = {best['agents.fast_momentum.slow']}", 1)
    )
    alone = run_ais("backtest", "--config", str(tmp_path / "alone.toml"), "--json", secret=False)
    assert json.loads(alone.stdout)["metrics"]["sharpe"] == pytest.approx(sharpes[0], rel=1e-12)
    serial = run_ais(
        "sweep", "--config", str(config), "--json", "--executor", "serial", "--metric", "max_drawdown",
        secret=False,
    )
    drawdowns = [r["metrics"]["max_drawdown"] for r in json.loads(serial.stdout)["rows"]]
    assert drawdowns == sorted(drawdowns)
    with (tmp_path / "sweep.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert [int(r["rank"]) for r in table] == [1, 2, 3, 4] and "agents.fast_momentum.fast" in table[0]


def test_random_search_is_seeded(tmp_path: Path) -> None:
    random_search = 'metric = "sharpe"\nsearch = "random"\nsamples = 2\nseed = 3'
    research = RESEARCH.replace('metric = "sharpe"', random_search)
    config = write_config(tmp_path, symbols=["ETH/BTC"], research=research)
    picks = []
    for _ in range(2):
        result = run_ais("sweep", "--config", str(config), "--json", "--executor", "serial",
                         "--from", "2018-01-20", "--to", "2018-01-22", secret=False)
        assert result.returncode == 0, result.stderr
        rows = json.loads(result.stdout)["rows"]
        picks.append(sorted(json.dumps(r["params"], sort_keys=True) for r in rows))
    assert picks[0] == picks[1] and len(picks[0]) == 2


def test_walk_forward_picks_in_sample_and_stitches_out_of_sample(tmp_path: Path) -> None:
    config = write_config(tmp_path, symbols=["ETH/BTC", "LTC/BTC", "ADA/BTC"], research=RESEARCH)
    result = run_ais("walk-forward", "--config", str(config), "--json", "--workers", "2",
                     "--equity", str(tmp_path / "oos.csv"), secret=False)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    windows = out["windows"]
    assert len(windows) == 4  # 20 days: train 6 + test 4, stepping by 4
    growth = 1.0
    for w in windows:
        growth *= 1 + w["out_of_sample"]["total_return"]
    assert out["out_of_sample"]["total_return"] == pytest.approx(growth - 1, rel=1e-9, abs=1e-12)
    # the first window's choice is the sweep's best on the same training window (bars closing in
    # [05:00 on the 10th, 05:00 on the 16th): --from is exclusive, --to inclusive)
    first = windows[0]
    sweep = run_ais("sweep", "--config", str(config), "--json", "--executor", "serial",
                    "--from", "2018-01-10T04:59:59.999", "--to", "2018-01-16T04:59:59.999", secret=False)
    best = json.loads(sweep.stdout)["rows"][0]
    assert best["params"] == first["params"]
    assert best["metrics"]["sharpe"] == pytest.approx(first["in_sample"], rel=1e-12)
    with (tmp_path / "oos.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == out["out_of_sample"]["bars"]


def test_research_errors_are_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, symbols=["ETH/BTC"], research=RESEARCH)
    cases = [
        (["sweep", "--metric", "luck"], "unknown metric 'luck'"),
        (["sweep", "--executor", "nope"], "--executor nope: no such executor"),
        (["sweep", "--workers", "0"], "--workers must be a positive integer"),
        (["walk-forward", "--train-days", "30"], "too short for a 30-day training window"),
        (["walk-forward", "--test-days", "-1"], "--test-days must be > 0"),
    ]
    for args, message in cases:
        result = run_ais(*args, "--config", str(config), secret=False)
        assert result.returncode == 2, (args, result.stderr)
        assert message in one_line_error(result)
    typo = RESEARCH.replace("fast_momentum.fast", "nosuch.fast")
    bad = write_config(tmp_path, symbols=["ETH/BTC"], research=typo)
    result = run_ais("sweep", "--config", str(bad), secret=False)
    assert result.returncode == 2 and "agents.nosuch.fast: no table [agents.nosuch]" in one_line_error(result)
    # a value the plugin refuses, found in a worker process: still one line naming the key
    refused = '"agents.fast_momentum.fast" = [6, -1]'
    bad.write_text(bad.read_text().replace('"agents.nosuch.fast" = [6, 12]', refused))
    result = run_ais("sweep", "--config", str(bad), "--workers", "2", secret=False)
    assert result.returncode == 2
    assert "agents.fast_momentum.fast: must be an integer > 0 (got -1)" in one_line_error(result)
    bad.write_text(bad.read_text().replace(refused, '"fast" = [6, 12]'))
    result = run_ais("sweep", "--config", str(bad), secret=False)
    assert result.returncode == 2 and "<kind>.<instance>.<key>" in one_line_error(result)


def test_sweep_without_parameters_runs_the_configuration_once(tmp_path: Path) -> None:
    config = write_config(tmp_path, symbols=["ETH/BTC"])
    window = ("--executor", "serial", "--to", "2018-01-12")
    result = run_ais("sweep", "--config", str(config), *window, secret=False)
    assert result.returncode == 0, result.stderr
    assert "[research.params] is empty: one backtest" in result.stderr
    assert result.stdout.startswith("sweep: 1 backtest (grid search)")
