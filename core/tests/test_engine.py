"""The cycle end to end in-process, with the test kit's fakes: orders are signed, journaled before
they are sent, filled and booked; failures are isolated and recorded; shadow never places orders."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from ais import Plugin, PluginConfig, hookimpl
from ais.domain import Direction, MarketSnapshot, RiskState, Signal, Verdict
from ais.engine.runner import Run, RunOptions
from ais.errors import SecretError, UsageError
from ais.store.events import EventStore
from ais.testing.fakes import FakeExchange, FakeMarket, host_with, synthetic_candles

SECRET = "s" * 40
CONFIG = """
[ais]
mode = "{mode}"
symbols = ["AAA/USD"]

[portfolio]
initial_cash = 10000.0
target_weight = 0.5
max_weight = 0.5

[data.market]
[agents.flip]
[agents.broken]
[arbitration.first]
[guards.cap]
[exchanges.fake]
"""


class Flip(Plugin[PluginConfig]):
    """Long on even hours, short on odd ones: trades often."""

    @hookimpl
    def ais_agent_signals(self, snapshot: MarketSnapshot, context: Any) -> list[Signal]:
        out = []
        for symbol in snapshot.candles:
            if snapshot.ts % 3_600_000 == 0:
                d = Direction.LONG if (snapshot.ts // 3_600_000) % 2 == 0 else Direction.SHORT
                out.append(Signal(symbol, d, 1.0, 0.01, 3600, 1.0, "flip", snapshot.ts))
        return out


class Broken(Plugin[PluginConfig]):
    @hookimpl
    def ais_agent_signals(self, snapshot: MarketSnapshot, context: Any) -> list[Signal]:
        if snapshot.ts % 3_600_000 == 0:
            raise RuntimeError("agent bug")
        return []


class First(Plugin[PluginConfig]):
    @hookimpl
    def ais_arbitrate(self, signals: Any, context: Any) -> list[Signal]:
        return list(signals[:1])


class Cap(Plugin[PluginConfig]):
    limit = 6000.0

    @hookimpl
    def ais_guard_check(self, order: Any, portfolio: Any, context: Any) -> Verdict:
        price = context.market.price(order.symbol) or 0.0
        if order.quantity * price > self.limit:
            return Verdict.reject(self.name, "TOO_BIG", "over the cap")
        return Verdict.ok(self.name)


def make(
    tmp_path: Path,
    mode: str = "paper",
    exchange: FakeExchange | None = None,
    guard: Any = None,
    bars: int = 600,
) -> tuple[Run, FakeExchange]:
    config = tmp_path / "ais.toml"
    config.write_text(CONFIG.format(mode=mode))
    venue = exchange or FakeExchange("fake")
    host = host_with(
        ("data", FakeMarket({"AAA/USD": synthetic_candles(bars)}, name="market")),
        ("agents", Flip("flip", PluginConfig())),
        ("agents", Broken("broken", PluginConfig())),
        ("arbitration", First("first", PluginConfig())),
        ("guards", guard or Cap("cap", PluginConfig())),
        ("exchanges", venue),
    )
    return Run(RunOptions(config=str(config), store=str(tmp_path / "events.sqlite")), host=host), venue


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIS_RISK_HMAC_SECRET", SECRET)


def test_paper_cycle_trades_and_journals(tmp_path: Path) -> None:
    run, venue = make(tmp_path)
    summary = run.execute()
    assert summary["cycles"] == 600
    assert summary["orders"] > 3 and summary["fills"] == summary["orders"]
    assert summary["agent_errors"] == 10  # the broken agent, once an hour, skipped and recorded
    store = EventStore(tmp_path / "events.sqlite", readonly=True)
    assert store.verify()[1] is None
    events = list(store.events())
    types = [e.type for e in events]
    # every order's intent is stored before the venue hears of it
    for placed in venue.placed:
        intent = types.index(
            "order.intent",
            next(
                i for i, e in enumerate(events) if e.payload.get("client_order_id") == placed.client_order_id
            ),
        )
        submitted = next(
            i
            for i, e in enumerate(events)
            if e.type == "order.submitted" and e.payload["client_order_id"] == placed.client_order_id
        )
        assert intent < submitted
    errors = [e.payload for e in events if e.type == "agent.error"]
    assert errors[0] == {"agent": "agents.broken", "error": "RuntimeError: agent bug"}
    assert len({p.client_order_id for p in venue.placed}) == len(venue.placed)


def test_guard_rejections_are_counted_by_reason(tmp_path: Path) -> None:
    cap = Cap("cap", PluginConfig())
    cap.limit = 1000.0
    run, venue = make(tmp_path, guard=cap)
    summary = run.execute()
    assert summary["orders"] == 0 and not venue.placed
    assert summary["rejections"]["TOO_BIG"] > 0


def test_shadow_never_places_orders(tmp_path: Path) -> None:
    run, venue = make(tmp_path, mode="shadow", exchange=FakeExchange("fake", forbid_orders=True))
    summary = run.execute()
    assert summary["orders"] > 0 and summary["fills"] == summary["orders"]
    assert venue.placed == []


def test_missing_secret_refuses_before_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIS_RISK_HMAC_SECRET")
    with pytest.raises(SecretError, match="AIS_RISK_HMAC_SECRET"):
        make(tmp_path)
    assert not (tmp_path / "events.sqlite").exists()


def test_backtest_needs_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIS_RISK_HMAC_SECRET")
    run, _ = make(tmp_path, mode="backtest")
    assert run.execute()["orders"] > 0


@pytest.mark.parametrize("env", [{}, {"AIS_ENABLE_LIVE_TRADING": "1"}])
def test_live_needs_both_gates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    config = tmp_path / "ais.toml"
    config.write_text(CONFIG.format(mode="live"))
    with pytest.raises(UsageError, match="live"):
        Run(RunOptions(config=str(config), store=str(tmp_path / "s.sqlite"), live=not env))
    assert not (tmp_path / "s.sqlite").exists()


class Halter(Plugin[PluginConfig]):
    @hookimpl
    def ais_guard_check(self, order: Any, portfolio: Any, context: Any) -> Verdict:
        return Verdict.ok(self.name)

    @hookimpl
    def ais_guard_assess(self, portfolio: Any, context: Any) -> Verdict | None:
        from ais.domain import Action

        if context.now_ms >= self.at:
            return Verdict(self.name, Action.HALT, "TEST_HALT", "told to halt")
        return None

    at = 0


def test_kill_switch_halts_cancels_and_persists(tmp_path: Path) -> None:
    halter = Halter("halter", PluginConfig())
    start = synthetic_candles(1)[0].ts
    halter.at = start + 200 * 60_000
    venue = FakeExchange("fake")
    run, _ = make(tmp_path, exchange=venue, guard=halter)
    summary = run.execute()
    assert summary["risk_state"] == "halted"
    store = EventStore(tmp_path / "events.sqlite", readonly=True)
    halted_at = next(e for e in store.events(types=("risk.state",))).seq
    assert not list(store.events(types=("order.intent",), after_seq=halted_at))
    assert summary["rejections"].get("RISK_HALTED", 0) > 0
    # a new run on the same store starts halted and trades nothing
    run2, venue2 = make(tmp_path, exchange=FakeExchange("fake"), guard=Cap("cap", PluginConfig()))
    assert run2.risk.state is RiskState.HALTED
    assert run2.execute()["orders"] == 0 and not venue2.placed


class FlakyMarket(FakeMarket):
    @hookimpl
    def ais_data_snapshot(self, symbols: tuple[str, ...], now_ms: int) -> MarketSnapshot | None:
        if now_ms > self.times[100]:
            raise OSError("feed went away")
        return super().ais_data_snapshot(symbols, now_ms)


def test_a_failing_data_provider_stops_the_run_recorded(tmp_path: Path) -> None:
    from ais.errors import PluginError

    config = tmp_path / "ais.toml"
    config.write_text(CONFIG.format(mode="paper"))
    host = host_with(
        ("data", FlakyMarket({"AAA/USD": synthetic_candles(300)}, name="market")),
        ("agents", Flip("flip", PluginConfig())),
        ("arbitration", First("first", PluginConfig())),
        ("guards", Cap("cap", PluginConfig())),
        ("exchanges", FakeExchange("fake")),
    )
    run = Run(RunOptions(config=str(config), store=str(tmp_path / "events.sqlite")), host=host)
    with pytest.raises(PluginError, match=r"data.market: ais_data_snapshot failed: OSError: feed went away"):
        run.execute()
    store = EventStore(tmp_path / "events.sqlite", readonly=True)
    end = store.last("run.end")
    assert end is not None and end.payload["completed"] is False
    assert store.last("run.error") is not None


class BadAssess(Halter):
    @hookimpl
    def ais_guard_assess(self, portfolio: Any, context: Any) -> Verdict | None:
        return "fine"  # type: ignore[return-value]


def test_a_guard_returning_garbage_halts(tmp_path: Path) -> None:
    run, _ = make(tmp_path, guard=BadAssess("bad", PluginConfig()), bars=50)
    summary = run.execute()
    assert summary["risk_state"] == "halted"
    store = EventStore(tmp_path / "events.sqlite", readonly=True)
    state = store.last("risk.state")
    assert state is not None and state.payload["codes"] == ["GUARD_ERROR"]


def test_failed_startup_writes_nothing(tmp_path: Path) -> None:
    from ais.errors import PluginError

    class NoStart(Cap):
        @hookimpl
        def ais_startup(self, context: Any) -> None:
            raise ConnectionError("venue unreachable")

    run, _ = make(tmp_path, guard=NoStart("cap", PluginConfig()))
    with pytest.raises(PluginError, match=r"guards\.cap: ais_startup failed: ConnectionError"):
        run.execute()
    assert not (tmp_path / "events.sqlite").exists()


def test_a_used_token_is_refused_after_a_restart(tmp_path: Path) -> None:
    from ais.domain import Order
    from ais.domain.codec import from_payload

    first, _ = make(tmp_path, bars=200)
    first.execute()
    store = EventStore(tmp_path / "events.sqlite", readonly=True)
    intent = next(store.events(types=("order.intent",)))
    used = from_payload(Order, intent.payload)
    second, venue = make(tmp_path, exchange=FakeExchange("fake"))
    store2 = second._start()  # a new process: plugins started, store opened, state rebuilt
    second.clock.now = intent.ts  # the token's own time: only single use can refuse it
    assert second.oms.submit(used) is None
    store2.close()
    assert not venue.placed
    assert second.oms.refused == 1


class LiveFeed(Plugin[PluginConfig]):
    """A feed with no recorded timeline (no ``ais_data_next_time``): the run uses the wall clock."""

    calls: ClassVar[list[int]] = []

    @hookimpl
    def ais_data_snapshot(self, symbols: tuple[str, ...], now_ms: int) -> MarketSnapshot | None:
        LiveFeed.calls.append(now_ms)
        from ais.domain import Candle

        bar = Candle(now_ms - 60_000, 100.0, 101.0, 99.0, 100.0, 1000.0)
        return MarketSnapshot(now_ms, dict.fromkeys(symbols, bar))


def test_wall_clock_cycles_every_interval(tmp_path: Path) -> None:

    config = tmp_path / "ais.toml"
    config.write_text(
        CONFIG.format(mode="paper").replace(
            'symbols = ["AAA/USD"]', 'symbols = ["AAA/USD"]\ncycle_interval = 0.05'
        )
    )
    LiveFeed.calls = []
    host = host_with(
        ("data", LiveFeed("market", PluginConfig())),
        ("agents", Flip("flip", PluginConfig())),
        ("arbitration", First("first", PluginConfig())),
        ("guards", Cap("cap", PluginConfig())),
        ("exchanges", FakeExchange("fake")),
    )
    run = Run(RunOptions(config=str(config), store=str(tmp_path / "events.sqlite"), cycles=4), host=host)
    assert run.clock.kind == "wall"
    summary = run.execute()
    assert summary["cycles"] == 4 and summary["end_reason"] == "--cycles 4 reached"
    assert len(LiveFeed.calls) == 4
    gaps = [b - a for a, b in zip(LiveFeed.calls, LiveFeed.calls[1:], strict=False)]
    # the first cycle runs at once, then one per 50 ms boundary: never back to back (a lower bound
    # only, which a slow machine cannot break)
    assert all(g >= 30 for g in gaps[1:]), gaps


class NavStop(Cap):
    """Halts when NAV ≤ ``level``; counts its assessments. No NAV floor: assessed every cycle."""

    level = -1.0

    def __init__(self, name: str, config: PluginConfig) -> None:
        super().__init__(name, config)
        self.assessed: list[int] = []

    @hookimpl
    def ais_guard_assess(self, portfolio: Any, context: Any) -> Verdict | None:
        from ais.domain import Action

        self.assessed.append(context.now_ms)
        if not portfolio.nav > self.level:
            return Verdict(self.name, Action.HALT, "NAV_STOP", f"NAV {portfolio.nav} <= {self.level}")
        return None


class FlooredNavStop(NavStop):
    """The same guard, giving its breach level as its NAV floor."""

    @hookimpl
    def ais_guard_nav_floor(self, portfolio: Any, context: Any) -> float | None:
        return self.level


class BrokenFloor(NavStop):
    @hookimpl
    def ais_guard_nav_floor(self, portfolio: Any, context: Any) -> float | None:
        raise ValueError("no floor today")


def _halted_at(tmp_path: Path, guard: NavStop) -> tuple[int | None, list[tuple[str, str, float]]]:
    tmp_path.mkdir()
    run, venue = make(tmp_path, guard=guard, bars=2000)
    run.execute()
    store = EventStore(tmp_path / "events.sqlite", readonly=True)
    halt = store.last("risk.state")
    return (halt.ts if halt else None), [(o.symbol, o.side.value, o.quantity) for o in venue.placed]


def test_a_nav_floor_skips_assessments_but_never_a_breach(tmp_path: Path) -> None:
    # where NAV goes without a stop: the lowest NAV of the first half becomes the stop level
    free = NavStop("stop", PluginConfig())
    (tmp_path / "free").mkdir()
    run, _ = make(tmp_path / "free", guard=free, bars=2000)
    navs: list[float] = []
    run.on_bar = lambda now: navs.append(run.ledger.nav)
    run.execute()
    assert len(free.assessed) == 2000
    level = min(navs[:1000])
    cycle_of_breach = navs.index(level)

    every = NavStop("stop", PluginConfig())
    every.level = level
    floored = FlooredNavStop("stop", PluginConfig())
    floored.level = level
    reference = _halted_at(tmp_path / "every", every)
    skipping = _halted_at(tmp_path / "floored", floored)
    assert reference[0] is not None  # the stop trips at the cycle NAV first reaches it ...
    assert skipping == reference  # ... floor or not, and every order before it is the same
    assert every.assessed[cycle_of_breach] == reference[0]
    # far fewer assessments before the breach; every one after it (halted: no floor is asked)
    before = [t for t in floored.assessed if t < reference[0]]
    assert len(before) < cycle_of_breach // 2
    assert floored.assessed[-1] == every.assessed[-1]


def test_a_failing_nav_floor_means_assessed_every_cycle(tmp_path: Path) -> None:
    guard = BrokenFloor("stop", PluginConfig())
    run, _ = make(tmp_path, guard=guard, bars=300)
    run.execute()
    assert len(guard.assessed) == 300


class StreamingMarket(FakeMarket):
    """The same market, also as one stream of snapshots (``ais_data_stream``); ``fail_after``: the
    stream raises after that many snapshots; ``stall``: it repeats the first time."""

    fail_after: int | None = None
    stall = False
    streamed = 0

    @hookimpl
    def ais_data_stream(self, symbols: tuple[str, ...], after_ms: int) -> Any:
        for n, t in enumerate(t for t in self.times if t > after_ms):
            if n == self.fail_after:
                raise OSError("feed went away")
            self.streamed += 1
            yield self.ais_data_snapshot(symbols, self.times[0] if self.stall and n else t)


def _streaming_run(tmp_path: Path, market: FakeMarket, mode: str = "paper") -> Run:
    config = tmp_path / "ais.toml"
    config.write_text(CONFIG.format(mode=mode))
    host = host_with(
        ("data", market),
        ("agents", Flip("flip", PluginConfig())),
        ("arbitration", First("first", PluginConfig())),
        ("guards", Cap("cap", PluginConfig())),
        ("exchanges", FakeExchange("fake")),
    )
    return Run(RunOptions(config=str(config), store=str(tmp_path / "events.sqlite")), host=host)


def test_a_data_stream_runs_the_same_cycles_as_the_per_bar_hooks(tmp_path: Path) -> None:
    candles = {"AAA/USD": synthetic_candles(900)}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    per_bar = _streaming_run(tmp_path / "a", FakeMarket(candles)).execute()
    streaming = StreamingMarket(candles)
    streamed = _streaming_run(tmp_path / "b", streaming).execute()
    assert streaming.streamed == 900  # the run read the stream, not the per-bar hooks
    different = {"run_id", "store"}
    assert {k: v for k, v in streamed.items() if k not in different} == {
        k: v for k, v in per_bar.items() if k not in different
    }


@pytest.mark.parametrize(
    ("fail_after", "stall", "message"),
    [
        (100, False, r"data\.market: ais_data_stream failed: OSError: feed went away"),
        (None, True, r"data\.market: ais_data_stream gave time \d+ after \d+ \(must advance\)"),
    ],
)
def test_a_failing_data_stream_stops_the_run_named_and_recorded(
    tmp_path: Path, fail_after: int | None, stall: bool, message: str
) -> None:
    from ais.errors import PluginError

    market = StreamingMarket({"AAA/USD": synthetic_candles(300)})
    market.fail_after, market.stall = fail_after, stall
    with pytest.raises(PluginError, match=message):
        _streaming_run(tmp_path, market).execute()
    store = EventStore(tmp_path / "events.sqlite", readonly=True)
    end = store.last("run.end")
    assert end is not None and end.payload["completed"] is False
    assert store.verify()[1] is None
