"""Setting up a run from ais.toml and running it to the end: the one code path of every mode.

Order of start-up checks (each refusal is one line and an exit code, before anything is written):
config (2) → live gates (2) → plugins (3) → risk secret (4) → store → recovery → reconciliation.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from ais.config.loader import AisConfig, check_capabilities, load_config
from ais.context import RunContext, SharedState
from ais.domain.events import Event
from ais.domain.market import MarketSnapshot
from ais.domain.orders import Order
from ais.domain.risk import RiskState
from ais.engine.clock import SimulatedClock, WallClock, advance
from ais.engine.coordinator import Coordinator, RunStats
from ais.engine.recovery import inspect_file, rebuild, reconcile
from ais.errors import AisError, PluginError, UsageError
from ais.oms.manager import OrderManager
from ais.plugins.host import PluginHost
from ais.portfolio.allocator import Allocator
from ais.portfolio.ledger import Ledger
from ais.risk.engine import RiskEngine
from ais.risk.tokens import Keyring, verify_token
from ais.store.events import EventStore

LIVE_ENV = "AIS_ENABLE_LIVE_TRADING"


@dataclass
class RunOptions:
    config: str | None = None
    store: str | None = None
    cycles: int | None = None
    live: bool = False
    mode: str | None = None  # override [ais].mode (``ais backtest``)
    progress: bool = True
    #: dotted ais.toml keys set on top of the file (sweeps, walk-forward)
    overrides: dict[str, Any] = field(default_factory=dict)
    #: simulated clock only: trade the bars closing in [start_ms, end_ms]; agents first see the bars
    #: closing from ``warmup_from_ms`` up to ``start_ms`` without trading (their warm-up)
    start_ms: int | None = None
    end_ms: int | None = None
    warmup_from_ms: int | None = None


def config_hash(config: AisConfig) -> str:
    digest = hashlib.sha256(Path(config.source).read_bytes())
    if config.overrides:
        digest.update(json.dumps(dict(config.overrides), sort_keys=True).encode())
    return digest.hexdigest()[:16]


def check_live_gates(mode: str, live_flag: bool) -> None:
    if mode != "live":
        return
    if not live_flag:
        raise UsageError("mode is live: pass --live to confirm real trading")
    if os.environ.get(LIVE_ENV) != "1":
        raise UsageError(f"mode is live: set {LIVE_ENV}=1 to allow real trading")


def keyring_for(mode: str) -> Keyring:
    """Backtests sign with a random per-run key; every other mode needs the configured secret."""
    return Keyring.ephemeral() if mode == "backtest" else Keyring.from_env()


class Run:
    """One run: everything wired, ready for ``execute()``."""

    def __init__(self, options: RunOptions, host: PluginHost | None = None) -> None:
        """``host``: plugins already registered (embedding, tests); default: load what ais.toml enables."""
        config = load_config(options.config, options.overrides)
        mode = options.mode or config.ais.mode
        check_capabilities(config)
        check_live_gates(mode, options.live)
        if host is None:
            host = PluginHost.from_config(config)
        host.raise_failures()
        keyring = keyring_for(mode)
        self.config = config
        self.mode = mode
        self.options = options
        self.host = host
        self.keyring = keyring
        self.store_path = Path(options.store or config.store.path)
        backtest = mode == "backtest"
        # Read what the store knows without creating it: a run that refuses to start writes nothing.
        found = inspect_file(self.store_path)
        self._found = found
        digest = config_hash(config)
        resume = found.unfinished_run if found.unfinished_config == digest and not backtest else None
        self._superseded = found.unfinished_run if found.unfinished_run and resume is None else None
        self.store: EventStore | None = None
        self.run_id = resume or time.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(4)
        self.resumed = resume is not None
        self.shared = SharedState(on_change=self._shared_changed)
        simulated = backtest or host.has_timeline()
        self.clock: SimulatedClock | WallClock = (
            SimulatedClock(host.timeline_source()) if simulated else WallClock(config.ais.cycle_interval)
        )
        self.ledger = Ledger(config.portfolio.initial_cash, config.ais.timezone)
        self.exchanges = {name: host.exchange(name) for name in host.exchange_names()}
        self.oms = OrderManager(
            keyring=keyring,
            exchanges=self.exchanges,
            record=self.record,
            now_ms=self.clock.now_ms,
            durable_intents=not backtest,
            shadow=mode == "shadow",
            shadow_price=self._price,
            used_tokens=found.used_tokens,
        )
        self.oms.on_fill = self.ledger.apply_fill
        self.risk = RiskEngine(
            host,
            keyring,
            ttl_s=config.risk.token_ttl,
            timezone=config.ais.timezone,
            record=self.record,
            state=found.risk_state,
        )
        self.risk.state_reason = found.risk_reason
        self.stats = RunStats()
        self.initial_equity = config.portfolio.initial_cash
        self.coordinator = Coordinator(
            run_id=self.run_id,
            symbols=tuple(config.ais.symbols),
            host=host,
            ledger=self.ledger,
            allocator=Allocator(config.portfolio.target_weight, config.portfolio.max_weight),
            risk=self.risk,
            oms=self.oms,
            exchanges=self.exchanges,
            venue_for=config.venue_for,
            shared=self.shared,
            record=self.record,
            checkpoint_each_cycle=not backtest,
            stats=self.stats,
        )
        self._operator_seq = 0
        self._polled_at = 0.0
        self._digest = digest
        self.mismatches: list[str] = []
        #: called after each cycle with its time (ms), e.g. to record the equity curve of a backtest
        self.on_bar: Callable[[int], None] | None = None
        #: called with ``(type, ts, payload)`` of each event this run records, after it is appended to
        #: the store (a backtest builds its round trips from it)
        self.on_record: Callable[[str, int, dict[str, Any]], None] | None = None
        windowed = (options.start_ms, options.end_ms, options.warmup_from_ms) != (None, None, None)
        if windowed and not isinstance(self.clock, SimulatedClock):
            raise UsageError("--from/--to need a replayed market (a data provider with a timeline)")

    # -- recording ----------------------------------------------------------------------------

    def _open_store(self) -> EventStore:
        store = EventStore(
            self.store_path,
            batch_size=self.config.store.batch_size if self.mode == "backtest" else 64,
            durable_sync={"live": "FULL", "backtest": "OFF"}.get(self.mode, "NORMAL"),
            on_stored=self._deliver if self.host.has_event_listeners() else None,
        )
        self._operator_seq = store.last_seq()
        if self._superseded:
            store.append(
                "run.end",
                {"completed": False, "reason": "superseded by a new run"},
                int(time.time() * 1000),
                self._superseded,
                durable=True,
            )
        return store

    def record(
        self,
        type_: str,
        payload: dict[str, Any],
        ts: int | None = None,
        *,
        durable: bool = False,
        flush: bool = False,
    ) -> None:
        assert self.store is not None, "the store opens when the run starts"
        if ts is None:
            ts = self.clock.now_ms()
        self.store.append(type_, payload, ts, self.run_id, durable=durable or flush)
        if self.on_record is not None:
            self.on_record(type_, ts, payload)

    def _deliver(self, events: list[Event]) -> None:
        for event in events:
            if event.type == "integration.error":
                continue  # never feed an integration's own failure back to it
            for key, exc in self.host.on_event(event):
                assert self.store is not None
                self.store.append(
                    "integration.error",
                    {"integration": key, "event_seq": event.seq, "error": f"{type(exc).__name__}: {exc}"},
                    event.ts,
                    self.run_id,
                )

    def _shared_changed(self, topic: str, symbol: str, value: Any) -> None:
        self.record("shared.update", {"topic": topic, "symbol": symbol, "value": value})

    def _price(self, symbol: str) -> float | None:
        snap = self.coordinator.snapshot
        price = snap.price(symbol) if snap is not None else None
        return price if price is not None else self.ledger.prices.get(symbol)

    def _verify(self, order: Order) -> None:
        verify_token(order, self.keyring, self.clock.now_ms())

    # -- running ------------------------------------------------------------------------------

    def _start(self) -> EventStore:
        """Start the plugins, then open the store (a failed start writes nothing), then rebuild a
        resumed run or begin a new one, then reconcile."""
        config = self.config
        try:
            self.host.startup(
                RunContext(
                    run_id=self.run_id,
                    mode=self.mode,
                    symbols=tuple(config.ais.symbols),
                    timezone=config.ais.timezone,
                    shared=self.shared,
                    verify_token=self._verify,
                    extra={"store_path": str(self.store_path), "config_source": config.source},
                )
            )
        except BaseException:
            self.host.shutdown()
            raise
        store = self.store = self._open_store()
        if self.resumed:
            events = list(store.events(run_id=self.run_id))
            seq, last_ts = rebuild(events, self.ledger, self.oms, self.stats)
            self.coordinator.order_seq = seq
            self.initial_equity = self.ledger.initial_cash
            self.record("run.resume", {"after_ts": last_ts, "orders": seq}, ts=last_ts, durable=True)
            self._catch_up(last_ts)
            self.mismatches = reconcile(self.oms, self.ledger, self.record)
        else:
            self.record(
                "run.start",
                {
                    "mode": self.mode,
                    "config": config.source,
                    "config_hash": self._digest,
                    "symbols": list(config.ais.symbols),
                    "clock": self.clock.kind,
                    "initial_cash": config.portfolio.initial_cash,
                    "risk_state": self.risk.state.value,
                    "overrides": dict(config.overrides),
                    "window": [self.options.start_ms, self.options.end_ms],
                },
                ts=int(time.time() * 1000),
                durable=True,
            )
            if self.mode in ("paper", "live"):
                self._adopt_venue_book()
            self._enter_window()
        if self.risk.state is RiskState.HALTED:
            self.coordinator.kill_switch_tripped()  # halted before: nothing may stay open at a venue
        if self.mismatches and self.mode == "live" and self.risk.state is not RiskState.HALTED:
            self.risk.transition(
                RiskState.HALTED,
                "reconciliation mismatch: " + "; ".join(self.mismatches[:3]),
                by="reconciliation",
            )
        store.flush()
        return store

    def _adopt_venue_book(self) -> None:
        """A new run continues the account the venues hold: their positions, and their balance of the
        quote currency as cash (else ``initial_cash``). Recorded so a resumed run rebuilds the same."""
        quote = self.config.portfolio.quote_currency
        positions: list[dict[str, Any]] = []
        cash: float | None = None
        for name, venue in self.exchanges.items():
            for p in venue.positions():
                if p.quantity:
                    positions.append(
                        {"venue": name, "symbol": p.symbol, "quantity": p.quantity, "avg_price": p.avg_price}
                    )
            balance = dict(venue.balances()).get(quote)
            if balance is not None:
                cash = (cash or 0.0) + balance
        if cash is None and not positions:
            return
        start_cash = self.config.portfolio.initial_cash if cash is None else cash
        self.record("portfolio.adopted", {"cash": start_cash, "positions": positions}, durable=True)
        self.ledger.adopt(start_cash, positions)
        self.initial_equity = self.ledger.initial_cash

    def _enter_window(self) -> None:
        """Check that the ``--from/--to`` window has a bar, then move the simulated clock to its start
        (the agents first warm up on the bars from ``warmup_from_ms``, if given)."""
        options = self.options
        start, end = options.start_ms, options.end_ms
        if not isinstance(self.clock, SimulatedClock) or (start is None and end is None):
            return
        head = self.host.next_time((start if start is not None else 0) - 1)
        if head is None or (end is not None and head > end):
            raise UsageError("the data have no bar in the --from/--to window")
        first = options.warmup_from_ms if options.warmup_from_ms is not None else start
        if first is not None:
            self.clock.now = first - 1
            if options.warmup_from_ms is not None and start is not None:
                self._catch_up(start - 1)

    def _catch_up(self, until_ts: int) -> None:
        """Feed the agents the bars already traded so their indicators are where they were; nothing
        is traded, marked or sent during catch-up."""
        if not isinstance(self.clock, SimulatedClock):
            return
        agents = self.host.agent_runner(SharedState())
        symbols = tuple(self.config.ais.symbols)
        while True:
            now = self.clock.tick()
            if now is None or now > until_ts:
                break
            snapshot = self.host.snapshot(symbols, now)
            agents(snapshot)
            for symbol, candle in snapshot.candles.items():
                self.ledger.prices[symbol] = candle.close
        # rewind one step: the loop consumed the first bar after until_ts
        self.clock = SimulatedClock(self.host.timeline_source(), until_ts)
        self.oms.now_ms = self.clock.now_ms

    def _poll_operator(self) -> None:
        """Apply risk-state changes an operator recorded from elsewhere (``ais kill``, the API).
        Under a replayed market the cycles are fast: look at most every half second of real time."""
        now = time.monotonic()
        if isinstance(self.clock, SimulatedClock) and now - self._polled_at < 0.5:
            return
        self._polled_at = now
        assert self.store is not None
        for event in self.store.events(types=("risk.state",), after_seq=self._operator_seq):
            self._operator_seq = event.seq
            if event.run_id != self.run_id:
                self.coordinator.operator_state(
                    RiskState(event.payload["state"]), event.payload.get("reason", "")
                )

    def execute(self, on_cycle: Callable[[int, int], None] | None = None) -> dict[str, Any]:
        """Run to the end of the data, ``--cycles``, or a signal; return the summary. A failure in
        the cycle (a plugin that breaks its contract) ends the run: recorded, then raised."""
        reason = "completed"
        failure: BaseException | None = None
        with _signals(lambda: self.clock.stop()):
            try:
                self._start()
                # what exists now (modules, plugins, the loaded market) lives as long as the run: the
                # collector need not walk it again at each full collection
                gc.freeze()
                try:
                    n = self._loop(on_cycle)
                finally:
                    gc.unfreeze()
                limit = self.options.cycles
                if self.clock.stopped:
                    reason = "stopped by signal"
                elif limit is not None and n >= limit:
                    reason = f"--cycles {limit} reached"
            except Exception as exc:  # fail closed: stop trading, say why, keep the record
                if self.store is None:
                    raise  # the plugins could not start: nothing was written, nothing to close
                failure = exc
                reason = f"failed: {exc}"
                self.record("run.error", {"error": f"{type(exc).__name__}: {exc}"})
            finally:
                if self.store is not None:
                    for key, error in self.host.shutdown():
                        self.record(
                            "plugin.error",
                            {
                                "plugin": key,
                                "hook": "ais_shutdown",
                                "error": f"{type(error).__name__}: {error}",
                            },
                        )
        store = self.store
        assert store is not None
        summary = self.summary(reason)
        self.record(
            "run.end",
            {"completed": reason == "completed", "reason": reason, "summary": summary},
            durable=True,
        )
        store.close()
        if failure is not None:
            if isinstance(failure, AisError):
                raise failure
            raise AisError(f"run stopped: {type(failure).__name__}: {failure}") from failure
        return summary

    def _loop(self, on_cycle: Callable[[int, int], None] | None) -> int:
        """The cycles, one per clock tick. The hot loop: everything it touches is a local."""
        cycle = self.coordinator.cycle
        clock = self.clock
        limit = self.options.cycles if self.options.cycles is not None else -1
        poll = self._poll_operator if self.mode != "backtest" else None
        on_bar = self.on_bar
        n = 0
        if isinstance(clock, SimulatedClock):
            now = clock.now_ms()
            end = self.options.end_ms if self.options.end_ms is not None else sys.maxsize
            stream = self.host.snapshot_stream(self.coordinator.symbols, now)
            if stream is not None:
                return self._stream_loop(stream, now, end, limit, on_cycle)
            next_time = clock.next_time_source
            while n != limit and not clock.stopped:
                try:  # zero-cost unless raised; the check below keeps time moving forward
                    nxt = next_time(now)
                except Exception:
                    nxt = advance(clock.source_key, next_time, now)  # raises, naming the provider
                if nxt is None or nxt > end:
                    break
                if nxt <= now:
                    raise PluginError(f"{clock.source_key}: returned next time {nxt} <= {now} (must advance)")
                now = clock.now = nxt
                if poll is not None:
                    poll()
                cycle(now)
                if on_bar is not None:
                    on_bar(now)
                n += 1
                if on_cycle is not None and (n & 255) == 0:
                    on_cycle(n, now)
            return n
        while n != limit:
            tick = clock.tick()
            if tick is None:
                break
            if poll is not None:
                poll()
            cycle(tick)
            if on_bar is not None:
                on_bar(tick)
            n += 1
            if on_cycle is not None:
                on_cycle(n, tick)
        return n

    def _stream_loop(
        self,
        stream: tuple[str, Iterator[MarketSnapshot]],
        now: int,
        end: int,
        limit: int,
        on_cycle: Callable[[int, int], None] | None,
    ) -> int:
        """``_loop`` under the simulated clock when the data come as one stream of snapshots
        (``ais_data_stream``): a cycle per snapshot, with the checks the per-bar path makes."""
        key, snapshots = stream
        cycle = self.coordinator.cycle
        clock = self.clock
        assert isinstance(clock, SimulatedClock)
        poll = self._poll_operator if self.mode != "backtest" else None
        on_bar = self.on_bar
        n = 0
        while n != limit and not clock.stopped:
            try:
                snapshot = next(snapshots, None)
            except Exception as exc:
                raise PluginError(f"{key}: ais_data_stream failed: {type(exc).__name__}: {exc}") from exc
            if snapshot is None:
                break
            nxt = snapshot.ts
            if nxt > end:
                break
            if nxt <= now:
                raise PluginError(f"{key}: ais_data_stream gave time {nxt} after {now} (must advance)")
            now = clock.now = nxt
            if poll is not None:
                poll()
            cycle(now, snapshot)
            if on_bar is not None:
                on_bar(now)
            n += 1
            if on_cycle is not None and (n & 255) == 0:
                on_cycle(n, now)
        return n

    def summary(self, reason: str) -> dict[str, Any]:
        s = self.stats
        ledger = self.ledger
        initial = self.initial_equity
        return {
            "run_id": self.run_id,
            "mode": self.mode,
            "resumed": self.resumed,
            "end_reason": reason,
            "store": str(self.store_path),
            "cycles": s.cycles,
            "signals": s.signals,
            "decisions": s.decisions,
            "orders": s.orders,
            "fills": ledger.fill_count,
            "rejections": dict(sorted(s.rejections.items())),
            "refused_tokens": self.oms.refused,
            "agent_errors": s.agent_errors,
            "fees": ledger.fees,
            "initial_equity": initial,
            "final_equity": ledger.nav,
            "return": ledger.nav / initial - 1.0,
            "max_drawdown": ledger.max_drawdown,
            "risk_state": self.risk.state.value,
            "reconcile_mismatches": self.mismatches,
            "first_bar": s.first_ts,
            "last_bar": s.last_ts,
        }


@contextmanager
def _signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGINT/SIGTERM: stop after the current cycle, then flush and exit 0."""

    if threading.current_thread() is not threading.main_thread():
        yield  # a run inside a worker thread (a dask worker): the hosting process owns the signals
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stop()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def summary_json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=2)
