"""Crash recovery and the kill switch, with the real CLI, the real plugins and real data.

- `kill -9` of `ais run` at random points, 20 times: each restart resumes the run from the store,
  reconciles with the (durable) paper venue, and the run finishes with no client order id journaled or
  sent twice and an intact hash chain.
- A daily-loss limit crossed during the January 2018 sell-off trips the kill switch: HALTED, open orders
  cancelled, no order after it, still HALTED after a restart, trading again only after `ais rearm`.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import AIS, SECRET, run_ais

CRASH_CONFIG = """
[ais]
mode = "paper"
symbols = ["AAA/USD", "BBB/USD"]

[store]
path = "{store}"

[portfolio]
initial_cash = 100000.0
quote_currency = "USD"
target_weight = 0.3
max_weight = 0.3

[data.market]
plugin = "replay"
files = {{ "AAA/USD" = "{aaa}", "BBB/USD" = "{bbb}" }}

[agents.fast]
plugin = "momentum"
fast = 5
slow = 20

[arbitration.weighted]

[guards.max_order_notional]
max_notional = 1000000.0

[exchanges.paper]
balances = {{ USD = 100000.0 }}
max_volume_share = 0.02
state = "{venue}"
"""


def write_market(path: Path, bars: int, seed: int) -> Path:
    """A long deterministic one-minute market: long enough that 20 kills land mid-run."""
    from ais.testing.fakes import synthetic_candles

    with path.open("w") as out:
        out.write("timestamp,open,high,low,close,volume\n")
        for c in synthetic_candles(bars, seed=seed):
            out.write(f"{c.ts},{c.open},{c.high},{c.low},{c.close},{c.volume}\n")
    return path


def events(store: Path, kind: str) -> list[dict]:
    out = run_ais("events", "--type", kind, "--json", "--store", str(store))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.slow
def test_kill_9_at_random_points_then_finish(tmp_path: Path) -> None:
    store, venue = tmp_path / "events.sqlite", tmp_path / "venue.sqlite"
    config = tmp_path / "ais.toml"
    config.write_text(
        CRASH_CONFIG.format(
            store=store,
            venue=venue,
            aaa=write_market(tmp_path / "a.csv", 60_000, 1),
            bbb=write_market(tmp_path / "b.csv", 60_000, 2),
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIS_")} | {"AIS_RISK_HMAC_SECRET": SECRET}
    rng = random.Random(20180117)
    deadline = time.monotonic() + 300
    kills = 0
    for _ in range(20):
        if time.monotonic() > deadline:
            break
        proc = subprocess.Popen(
            [AIS, "run", "--config", str(config)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 1.8))  # start-up takes ~0.8 s: some kills land in it, most mid-run
        if proc.poll() is not None:
            break  # the run finished: a new `ais run` would start a new run, not resume this one
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        kills += 1
    assert kills >= 10, "the run finished before it could be killed often: make the test market longer"
    status = json.loads(run_ais("status", "--json", "--store", str(store)).stdout)
    if status["run_open"]:
        final = run_ais("run", "--config", str(config), "--json")
        assert final.returncode == 0, final.stderr
        summary = json.loads(final.stdout)
        assert summary["resumed"] and summary["end_reason"] == "completed"
        assert summary["reconcile_mismatches"] == []
    ends = events(store, "run.end")
    assert len(ends) == 1 and ends[0]["payload"]["completed"]
    assert ends[0]["payload"]["summary"]["orders"] > 20
    assert not events(store, "reconcile.mismatch")

    verify = run_ais("audit", "verify", "--store", str(store))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    intents = events(store, "order.intent")
    per_coid = Counter(e["payload"]["client_order_id"] for e in intents)
    assert max(per_coid.values()) == 1, "a client order id was journaled twice"
    submitted = Counter(e["payload"]["client_order_id"] for e in events(store, "order.submitted"))
    assert max(submitted.values()) == 1
    at_venue = [row[0] for row in sqlite3.connect(venue).execute("SELECT client_order_id FROM orders")]
    assert set(at_venue) <= set(per_coid), "the venue has an order that was never journaled"
    resumed = events(store, "run.resume")
    assert resumed, "no restart resumed the run"


KILL_CONFIG = """
[ais]
mode = "paper"
symbols = ["ETH/BTC", "LTC/BTC", "XMR/BTC", "ZEC/BTC", "DASH/BTC", "ETC/BTC", "ADA/BTC", "XLM/BTC", "TRX/BTC"]

[store]
path = "{store}"

[portfolio]
initial_cash = 1.0
quote_currency = "BTC"
target_weight = 0.6
max_weight = 0.6

[data.market]
plugin = "replay"
bundled = "binance-5m-2018-01"

[agents.trend]
plugin = "momentum"
fast = 6
slow = 24
allow_short = false

[arbitration.weighted]

[guards.daily_loss]
max_daily_loss = 0.02

[exchanges.paper]
balances = {{ BTC = 1.0 }}
max_volume_share = 0.001
"""


def test_daily_loss_trips_the_kill_switch_on_the_2018_crash(tmp_path: Path) -> None:
    store = tmp_path / "events.sqlite"
    config = tmp_path / "ais.toml"
    config.write_text(KILL_CONFIG.format(store=store))
    first = run_ais("run", "--config", str(config), "--json")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["risk_state"] == "halted"

    states = events(store, "risk.state")
    assert [(s["payload"]["state"], s["payload"]["by"]) for s in states] == [("halted", "guard")]
    assert states[0]["payload"]["codes"] == ["DAILY_LOSS"]
    halted_seq = states[0]["seq"]
    kill = events(store, "risk.kill_switch")
    assert len(kill) == 1 and kill[0]["payload"]["cancelled"] >= 1
    cancelled = [e for e in events(store, "order.cancelled") if e["seq"] > halted_seq]
    assert len(cancelled) == kill[0]["payload"]["cancelled"]
    assert not [e for e in events(store, "order.intent") if e["seq"] > halted_seq], "an order after HALTED"
    assert summary["rejections"].get("RISK_HALTED", 0) > 0

    again = json.loads(run_ais("run", "--config", str(config), "--json").stdout)
    assert again["risk_state"] == "halted" and again["orders"] == 0  # survives a restart

    assert run_ais("rearm", "--reason", "loss reviewed", "--store", str(store)).returncode == 0
    after = json.loads(run_ais("run", "--config", str(config), "--json", "--cycles", "1500").stdout)
    assert after["orders"] > 0
    rearm = events(store, "risk.state")[-1]["payload"]
    assert rearm == {"state": "active", "previous": "halted", "reason": "loss reviewed", "by": "operator"}
