"""Backtest measurements: metrics against numpy on a real price path, round trips from events,
Monte Carlo determinism."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ais.backtest.equity import EquityCurve
from ais.backtest.metrics import attribution, compute_metrics, drawdown, monthly_returns
from ais.backtest.montecarlo import monte_carlo, percentile
from ais.backtest.run import BacktestResult
from ais.backtest.trades import Trade, trades_from_events
from ais.domain.events import Event
from ais.testing import read_candles

np = pytest.importorskip("numpy")
BAR = 300_000


@pytest.fixture(scope="module")
def eth_curve(shared_data: Path) -> EquityCurve:
    """ETH/BTC closes as if they were a NAV: a real, bumpy path with a deep drawdown."""
    candles = read_candles(shared_data / "binance-5m-2018-01" / "ETH_BTC.csv")
    curve = EquityCurve(candles[0].open)
    for c in candles:
        curve.ts.append(c.ts + BAR)
        curve.nav.append(c.close)
        curve.gross.append(c.close if c.ts % (2 * BAR) else 0.0)
    return curve


def test_metrics_match_numpy(eth_curve: EquityCurve) -> None:
    m = compute_metrics(eth_curve, [])
    nav = np.asarray(eth_curve.nav, dtype=float)
    before = np.concatenate([[eth_curve.initial], nav[:-1]])
    r = nav / before - 1
    per_year = 365.25 * 86_400_000 / BAR
    assert eth_curve.bar_ms == BAR
    assert m["bars"] == len(nav)
    assert m["total_return"] == pytest.approx(nav[-1] / eth_curve.initial - 1, rel=1e-12)
    assert m["volatility"] == pytest.approx(r.std(ddof=1) * math.sqrt(per_year), rel=1e-9)
    assert m["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(per_year), rel=1e-9)
    downside = np.sqrt(np.mean(np.minimum(r, 0) ** 2))
    assert m["sortino"] == pytest.approx(r.mean() / downside * math.sqrt(per_year), rel=1e-9)
    peaks = np.maximum.accumulate(np.concatenate([[eth_curve.initial], nav]))[1:]
    assert m["max_drawdown"] == pytest.approx(np.max(1 - nav / peaks), rel=1e-12)
    years = (eth_curve.ts[-1] - eth_curve.ts[0] + BAR) / (365.25 * 86_400_000)
    cagr = (nav[-1] / eth_curve.initial) ** (1 / years) - 1
    assert m["cagr"] == pytest.approx(cagr, rel=1e-9)
    assert m["calmar"] == pytest.approx(cagr / m["max_drawdown"], rel=1e-9)
    assert m["exposure_time"] == pytest.approx(np.mean(np.asarray(eth_curve.gross) > 0), rel=1e-12)


def test_drawdown_duration_counts_time_under_water_only() -> None:
    hour = 3_600_000
    ts = [i * hour for i in range(1, 9)]
    # under water from 2h (recovered at 5h), again from 6h to the end
    nav = [100, 101, 90, 95, 101, 102, 99, 100]
    dd = drawdown(ts, nav, 100.0)
    assert dd.depth == pytest.approx(1 - 90 / 101)
    assert dd.peak_ts == 2 * hour and dd.trough_ts == 3 * hour
    assert dd.duration_ms == 3 * hour  # 2h -> 5h; the last spell (6h -> 8h) is shorter
    rising = drawdown(ts, [100 + i for i in range(8)], 100.0)
    assert (rising.depth, rising.duration_ms) == (0.0, 0)


def test_flat_curve_has_undefined_ratios_not_errors() -> None:
    curve = EquityCurve(1.0)
    for i in range(10):
        curve.ts.append(i * BAR)
        curve.nav.append(1.0)
        curve.gross.append(0.0)
    m = compute_metrics(curve, [])
    assert m["sharpe"] is None and m["sortino"] is None and m["calmar"] is None
    assert m["win_rate"] is None and m["profit_factor"] is None
    assert compute_metrics(EquityCurve(1.0), [])["bars"] == 0


def test_monthly_returns_chain_to_the_total(eth_curve: EquityCurve) -> None:
    months = monthly_returns(eth_curve)
    assert list(months) == ["2018-01"]
    curve = EquityCurve(100.0)
    day = 86_400_000
    start = 1_514_764_800_000  # 2018-01-01
    for i, value in enumerate([101.0, 102.0, 99.0, 110.0]):
        curve.ts.append(start + i * 20 * day)  # Jan 1, Jan 21, Feb 10, Mar 2
        curve.nav.append(value)
    months = monthly_returns(curve)
    assert months == pytest.approx({"2018-01": 0.02, "2018-02": 99 / 102 - 1, "2018-03": 110 / 99 - 1})
    assert math.prod(1 + v for v in months.values()) == pytest.approx(1.10)


def _events(*rows: tuple[str, dict[str, object]]) -> list[Event]:
    return [Event(i + 1, i, "run", kind, payload) for i, (kind, payload) in enumerate(rows)]


def _fill(
    coid: str, side: str, qty: float, price: float, fee: float = 0.0, ts: int = 0
) -> tuple[str, dict[str, object]]:
    return (
        "order.fill",
        {"client_order_id": coid, "symbol": "AAA/USD", "side": side, "quantity": qty, "price": price,
         "fee": fee, "fill_ts": ts, "venue": "paper", "trade_id": coid + str(ts)},
    )


def _intent(coid: str, agent: str) -> tuple[str, dict[str, object]]:
    return ("order.intent", {"client_order_id": coid, "strategy": agent, "symbol": "AAA/USD"})


def test_round_trips_with_scaling_partial_exit_and_flip() -> None:
    events = _events(
        _intent("a1", "trend"), _fill("a1", "buy", 2.0, 10.0, fee=0.2, ts=1),
        _intent("a2", "trend"), _fill("a2", "buy", 2.0, 12.0, fee=0.2, ts=2),  # scale in: entry 11
        _intent("b1", "revert"), _fill("b1", "sell", 1.0, 13.0, fee=0.1, ts=3),  # partial exit
        _intent("b2", "revert"), _fill("b2", "sell", 5.0, 14.0, fee=0.5, ts=4),  # close 3, open short 2
        _intent("c1", "trend"), _fill("c1", "buy", 2.0, 13.0, fee=0.2, ts=5),  # close the short
    )
    trades = trades_from_events(events)
    assert len(trades) == 2
    long, short = trades
    assert (long.direction, long.agent, long.quantity, long.entry_price) == (1, "trend", 4.0, 11.0)
    assert long.exit_price == pytest.approx((13.0 + 3 * 14.0) / 4)
    assert long.fees == pytest.approx(0.2 + 0.2 + 0.1 + 0.5 * 3 / 5)
    assert long.pnl == pytest.approx((long.exit_price - 11.0) * 4 - long.fees)
    assert (short.direction, short.agent, short.entry_ts, short.exit_ts) == (-1, "revert", 4, 5)
    assert short.fees == pytest.approx(0.5 * 2 / 5 + 0.2)
    assert short.pnl == pytest.approx((14.0 - 13.0) * 2 - short.fees)
    # every unit of money is accounted for: the trades' P&L is the cash the fills moved
    cash = -2 * 10 - 2 * 12 + 13 + 5 * 14 - 2 * 13 - (0.2 + 0.2 + 0.1 + 0.5 + 0.2)
    assert long.pnl + short.pnl == pytest.approx(cash)


def test_open_trade_is_marked_at_the_last_price() -> None:
    events = _events(_intent("a1", "trend"), _fill("a1", "sell", 3.0, 10.0, fee=0.3, ts=1))
    assert trades_from_events(events) == []
    (trade,) = trades_from_events(events, {"AAA/USD": (9, 8.0)})
    assert trade.open and trade.exit_ts == 9 and trade.exit_price == 8.0
    assert trade.pnl == pytest.approx(2.0 * 3 - 0.3)
    assert trade.return_pct == pytest.approx(trade.pnl / 30.0)


def test_attribution_adds_up() -> None:
    trades = [
        Trade("A", "x", 1, 1.0, 0, 10.0, 1, 11.0, 1.0, 0.1),
        Trade("B", "x", -1, 1.0, 0, 10.0, 1, 12.0, -2.0, 0.1),
        Trade("A", "y", 1, 1.0, 0, 10.0, 1, 10.5, 0.5, 0.1, open=True),
    ]
    by_agent = attribution(trades, "agent")
    assert list(by_agent) == ["y", "x"]  # best P&L first
    expected = {"trades": 2, "open_trades": 0, "wins": 1, "pnl": -1.0, "fees": 0.2, "win_rate": 0.5}
    assert by_agent["x"] == expected
    by_symbol = attribution(trades, "symbol")
    assert by_symbol["A"]["pnl"] == pytest.approx(1.5) and by_symbol["A"]["open_trades"] == 1


def test_percentile_is_numpys_linear() -> None:
    values = sorted([3.0, 1.0, 4.0, 1.5, 9.0, 2.6, 5.0])
    for q in (0, 5, 25, 50, 75, 95, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), rel=1e-12)


def test_monte_carlo_is_seeded(eth_curve: EquityCurve) -> None:
    moves = [1, -2, 3, -1, 2]
    trades = [Trade("A", "x", 1, 1.0, i, 10.0, i + 1, 10.0 + d, d, 0.0) for i, d in enumerate(moves)]
    result = BacktestResult({}, {}, {}, {}, {}, trades, eth_curve)
    first = monte_carlo(result, runs=50, seed=7)
    assert first == monte_carlo(result, runs=50, seed=7)
    assert first != monte_carlo(result, runs=50, seed=8)
    blocks = first["blocks"]
    assert blocks["block"] == math.ceil(math.sqrt(len(eth_curve)))
    p = blocks["final_return"]
    assert p["p5"] <= p["p25"] <= p["p50"] <= p["p75"] <= p["p95"]
    # resampling whole blocks of the same returns: every draw ends between the worst and best case
    assert p["p5"] > -1 and first["trades"]["trades"] == 5
    # with one block the size of the series, every draw is a rotation: same product, same final return
    whole = monte_carlo(result, runs=5, seed=1, block=len(eth_curve))["blocks"]["final_return"]
    assert whole["p5"] == pytest.approx(eth_curve.nav[-1] / eth_curve.initial - 1, rel=1e-9)
    with pytest.raises(ValueError, match="runs"):
        monte_carlo(result, runs=0)

