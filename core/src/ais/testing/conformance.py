"""Conformance suites, one per plugin kind. A plugin's tests subclass the suite for its kind and
provide the fixture it names; every test below then runs against that plugin::

    from ais.testing.conformance import AgentContract

    class TestMomentum(AgentContract):
        @pytest.fixture
        def agent(self):
            return make_instance(Momentum, "fast", fast=5, slow=20)
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from ais.context import AgentContext, ArbitrationContext, GuardContext, RunContext, SharedState
from ais.domain.events import Event
from ais.domain.market import Candle, MarketSnapshot
from ais.domain.orders import Order, OrderType, Side, SubmitResult
from ais.domain.portfolio import PortfolioSnapshot
from ais.domain.risk import Action, RiskState, Verdict
from ais.domain.signals import Direction, Signal
from ais.extensions import ApiRoute, CliCommand
from ais.risk.tokens import Keyring, TokenError, sign, verify_token
from ais.testing.fakes import FakeMarket, host_with, synthetic_candles

_REASON = re.compile(r"^[A-Z][A-Z0-9_]*$")


def empty_portfolio(nav: float = 10_000.0, ts: int = 0) -> PortfolioSnapshot:
    return PortfolioSnapshot(ts, nav, nav, (), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, nav, 0.0, 0.0, nav)


def sample_order(
    symbol: str = "ETH/BTC", quantity: float = 0.1, side: Side = Side.BUY, venue: str = "test", n: int = 1
) -> Order:
    return Order(
        f"o-{n}",
        f"ais-test-{n}",
        venue,
        symbol,
        side,
        OrderType.MARKET,
        quantity,
        None,
        False,
        "test",
        1_515_542_400_000,
    )


class DataProviderContract:
    """For ``ais.data`` plugins. Provide ``provider`` (an instance) and ``symbols`` (it serves)."""

    @pytest.fixture
    def symbols(self) -> tuple[str, ...]:
        raise NotImplementedError("provide a `symbols` fixture: the symbols your provider serves")

    def _times(self, provider: Any, n: int = 50) -> list[int]:
        times: list[int] = []
        t = 0
        while len(times) < n:
            nxt = provider.ais_data_next_time(t)
            if nxt is None:
                break
            times.append(nxt)
            t = nxt
        return times

    def test_registers_with_host(self, provider: Any) -> None:
        host_with(("data", provider))

    def test_next_time_advances(self, provider: Any) -> None:
        times = self._times(provider)
        assert times, "ais_data_next_time returned None at the start: no data?"
        assert all(b > a for a, b in itertools.pairwise(times))

    def test_snapshot_has_no_look_ahead(self, provider: Any, symbols: tuple[str, ...]) -> None:
        for t in self._times(provider):
            snap = provider.ais_data_snapshot(symbols, t)
            if snap is None:
                continue
            assert isinstance(snap, MarketSnapshot)
            assert snap.ts == t
            for symbol, candle in snap.candles.items():
                assert symbol in symbols
                assert isinstance(candle, Candle)
                assert candle.ts + snap.bar_ms <= t, f"{symbol} bar at {candle.ts} not closed by {t}"

    def test_unknown_symbol_is_absent(self, provider: Any) -> None:
        times = self._times(provider, 1)
        snap = provider.ais_data_snapshot(("NO/SUCH",), times[0]) if times else None
        assert snap is None or "NO/SUCH" not in snap.candles

    def test_stream_equals_the_per_bar_hooks(self, provider: Any, symbols: tuple[str, ...]) -> None:
        """With ``ais_data_stream``: from the start and from the middle of the timeline, for the
        symbols, one of them, and an unknown one, the stream yields what the per-bar hooks give."""
        if not hasattr(provider, "ais_data_stream"):
            pytest.skip("provider has no ais_data_stream: the per-bar hooks are used")
        times = self._times(provider, 10**9)
        for after in (0, times[len(times) // 2] if times else 0):
            for wanted in (symbols, symbols[:1], ("NO/SUCH",)):
                expected = [
                    provider.ais_data_snapshot(wanted, t) or MarketSnapshot(t) for t in times if t > after
                ]
                stream = provider.ais_data_stream(wanted, after)
                if stream is None:
                    continue
                assert list(stream) == expected, f"stream of {wanted} after {after} differs"


class AgentContract:
    """For ``ais.agents`` plugins. Provide ``agent``; override ``market`` to feed your own candles."""

    @pytest.fixture
    def market(self) -> FakeMarket:
        return FakeMarket(
            {"AAA/USD": synthetic_candles(3000, seed=1), "BBB/USD": synthetic_candles(3000, seed=2)}
        )

    def _run(self, agent: Any, market: FakeMarket, symbols: Sequence[str] | None = None) -> list[Signal]:
        shared = SharedState()
        context = AgentContext(agent.name, shared)
        out: list[Signal] = []
        for snap in market.snapshots(symbols):
            out.extend(agent.ais_agent_signals(snap, context) or ())
        return out

    def test_registers_with_host(self, agent: Any) -> None:
        host_with(("agents", agent))

    def test_signals_are_valid(self, agent: Any, market: FakeMarket) -> None:
        signals = self._run(agent, market)
        assert signals, "the agent produced no signal on the contract's market; override `market`"
        for s in signals:
            assert isinstance(s, Signal)
            s.validate()
            assert s.symbol in market.candles
            assert s.rationale, "a signal needs a rationale"
            assert isinstance(s.direction, Direction)

    def test_signals_are_stamped_with_their_bar(self, agent: Any, market: FakeMarket) -> None:
        shared = SharedState()
        for snap in market.snapshots():
            for s in agent.ais_agent_signals(snap, AgentContext(agent.name, shared)) or ():
                assert s.ts <= snap.ts, "a signal may not come from the future"

    def test_symbols_do_not_influence_each_other(self, agent_factory: Any, market: FakeMarket) -> None:
        """Signals for one symbol are the same whether or not other symbols are traded alongside."""
        first = next(iter(market.candles))
        together = [s for s in self._run(agent_factory(), market) if s.symbol == first]
        alone = self._run(agent_factory(), market, [first])
        assert [(s.ts, s.direction, s.confidence) for s in together] == [
            (s.ts, s.direction, s.confidence) for s in alone
        ]

    @pytest.fixture
    def agent_factory(self, agent: Any) -> Any:
        """A callable returning a fresh agent with the same config (default: rebuild from ``agent``)."""
        return lambda: type(agent)(agent.name, agent.config)


class ArbitrationContract:
    """For ``ais.arbitration`` plugins. Provide ``arbitration``."""

    @staticmethod
    def signals() -> list[Signal]:
        def sig(agent: str, symbol: str, direction: Direction, conf: float) -> Signal:
            return Signal(symbol, direction, conf, 0.01, 3600, 0.9, f"{agent} view", 1, agent)

        return [
            sig("a", "AAA/USD", Direction.LONG, 0.9),
            sig("b", "AAA/USD", Direction.SHORT, 0.6),
            sig("a", "BBB/USD", Direction.SHORT, 0.8),
        ]

    def _context(self) -> ArbitrationContext:
        return ArbitrationContext({"a": 1.0, "b": 1.0}, SharedState())

    def test_registers_with_host(self, arbitration: Any) -> None:
        host_with(("arbitration", arbitration))

    def test_selects_a_subset(self, arbitration: Any) -> None:
        given = self.signals()
        chosen = arbitration.ais_arbitrate(given, self._context()) or []
        assert all(any(c is g for g in given) for c in chosen), "arbitration may not invent or alter signals"

    def test_one_winner_per_symbol(self, arbitration: Any) -> None:
        chosen = arbitration.ais_arbitrate(self.signals(), self._context()) or []
        singles = [c.symbol for c in chosen if c.group is None]
        assert len(singles) == len(set(singles))

    def test_nothing_in_nothing_out(self, arbitration: Any) -> None:
        assert not (arbitration.ais_arbitrate([], self._context()) or [])


class GuardContract:
    """For ``ais.guards`` plugins. Provide ``guard``; override ``benign_order`` / ``portfolio`` if the
    defaults (a 0.1 ETH/BTC buy at 0.1 on a 10,000 flat portfolio) are not benign for your guard."""

    @pytest.fixture
    def benign_order(self) -> Order:
        return sample_order()

    @pytest.fixture
    def portfolio(self) -> PortfolioSnapshot:
        return empty_portfolio()

    @pytest.fixture
    def context(self) -> GuardContext:
        candle = Candle(1_515_542_100_000, 0.1, 0.1, 0.1, 0.1, 1_000_000.0)
        market = MarketSnapshot(ts=1_515_542_400_000, candles={"ETH/BTC": candle}, bar_ms=300_000)
        return GuardContext(market, RiskState.ACTIVE, market.ts, "UTC")

    def test_registers_with_host(self, guard: Any) -> None:
        host_with(("guards", guard))

    def test_benign_order_passes(
        self, guard: Any, benign_order: Order, portfolio: PortfolioSnapshot, context: GuardContext
    ) -> None:
        if not hasattr(guard, "ais_guard_check"):
            pytest.skip("guard only assesses the portfolio")
        verdict = guard.ais_guard_check(benign_order, portfolio, context)
        assert isinstance(verdict, Verdict)
        assert verdict.action is Action.PASS, verdict

    def test_verdicts_are_well_formed(
        self, guard: Any, benign_order: Order, portfolio: PortfolioSnapshot, context: GuardContext
    ) -> None:
        verdicts = []
        if hasattr(guard, "ais_guard_check"):
            verdicts.append(guard.ais_guard_check(benign_order, portfolio, context))
        if hasattr(guard, "ais_guard_assess"):
            verdicts.append(guard.ais_guard_assess(portfolio, context))
        for v in verdicts:
            if v is None:
                continue
            assert isinstance(v, Verdict)
            if v.action is not Action.PASS:
                assert v.reason_code and _REASON.match(v.reason_code), v
                assert v.message


    def test_nav_floor_is_never_above_a_breach(self, guard: Any, context: GuardContext) -> None:
        """With ``ais_guard_nav_floor``: for fixed levels (peak NAV, the day's starting NAV), any NAV
        above the floor given at a quiet assessment is assessed quietly too (DESIGN: skipped cycles
        must not hide a breach)."""
        if not hasattr(guard, "ais_guard_nav_floor"):
            pytest.skip("guard gives no NAV floor: assessed every cycle")
        for peak, day_start in ((10_000.0, 10_000.0), (12_500.0, 10_000.0), (10_000.0, 9_000.0), (1.0, 0.97)):
            floor = guard.ais_guard_nav_floor(levels_portfolio(peak, peak, day_start), context)
            if floor is None:
                continue
            assert _quiet(guard.ais_guard_assess(levels_portfolio(peak, peak, day_start), context))
            navs = [peak * i / 400 for i in range(401)]
            navs += [floor * (1 + k * 1e-12) for k in range(-3, 4)] + [math.nextafter(floor, math.inf)]
            for nav in navs:
                if nav > floor and nav <= peak:
                    verdict = guard.ais_guard_assess(levels_portfolio(nav, peak, day_start), context)
                    assert _quiet(verdict), f"NAV {nav!r} is above the floor {floor!r} but: {verdict}"


def _quiet(verdict: Verdict | None) -> bool:
    return verdict is None or verdict.action is Action.PASS


def levels_portfolio(nav: float, peak: float, day_start: float, ts: int = 0) -> PortfolioSnapshot:
    """A flat portfolio at ``nav`` with the levels core derives from a peak and a day's start."""
    drawdown = 1.0 - nav / peak if peak > 0 else 0.0
    return PortfolioSnapshot(
        ts, nav, nav, (), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, peak, drawdown, nav - day_start, day_start
    )


class ExchangeContract:
    """For ``ais.exchanges`` plugins. Provide ``exchange`` (an ``ExchangeAdapter`` instance) and
    ``symbol`` it trades; ``prime(exchange)`` may feed it a market so a market order can fill."""

    @pytest.fixture
    def symbol(self) -> str:
        return "ETH/BTC"

    @pytest.fixture
    def keyring(self) -> Keyring:
        return Keyring.ephemeral()

    @pytest.fixture
    def started(self, exchange: Any, keyring: Keyring, symbol: str) -> Any:
        exchange.ais_startup(
            RunContext(
                "contract",
                "paper",
                (symbol,),
                "UTC",
                SharedState(),
                verify_token=lambda order: verify_token(order, keyring),
            )
        )
        self.prime(exchange, symbol)
        return exchange

    def prime(self, exchange: Any, symbol: str) -> None:
        candle = Candle(1_515_542_100_000, 0.1, 0.1, 0.1, 0.1, 1_000_000.0)
        exchange.ais_exchange_on_market(
            MarketSnapshot(ts=1_515_542_400_000, candles={symbol: candle}, bar_ms=300_000)
        )

    def _signed(self, keyring: Keyring, symbol: str, venue: str, n: int = 1) -> Order:
        order = sample_order(symbol, 0.1, venue=venue, n=n)
        return order.with_token(sign(order, keyring, int(time.time() * 1000), 300))

    def test_registers_with_host(self, exchange: Any) -> None:
        host_with(("exchanges", exchange))

    def test_refuses_unsigned_order(self, started: Any, symbol: str) -> None:
        with pytest.raises(TokenError):
            started.ais_exchange_submit(sample_order(symbol, venue=started.name))

    def test_refuses_tampered_order(self, started: Any, keyring: Keyring, symbol: str) -> None:
        order = self._signed(keyring, symbol, started.name)._replace(quantity=100.0)
        with pytest.raises(TokenError):
            started.ais_exchange_submit(order)

    def test_accepts_signed_order(self, started: Any, keyring: Keyring, symbol: str) -> None:
        order = self._signed(keyring, symbol, started.name)
        result = started.ais_exchange_submit(order)
        assert isinstance(result, SubmitResult)
        assert result.client_order_id == order.client_order_id

    def test_reads(self, started: Any, symbol: str) -> None:
        assert isinstance(dict(started.ais_exchange_balances()), dict)
        assert isinstance(list(started.ais_exchange_open_orders()), list)
        assert isinstance(list(started.ais_exchange_positions()), list)
        assert isinstance(list(started.ais_exchange_fills(0)), list)
        rules = started.ais_exchange_market_rules(symbol)
        assert rules is None or rules.lot_size > 0

    def test_cancel_is_idempotent(self, started: Any, symbol: str) -> None:
        assert isinstance(started.ais_exchange_cancel("ais-never-placed", symbol), bool)


EVENT_SAMPLES: list[tuple[str, dict[str, Any]]] = [
    ("decision", {"selected": []}),
    ("order.intent", {"client_order_id": "ais-x-1"}),
    ("order.submitted", {"client_order_id": "ais-x-1"}),
    ("order.fill", {"client_order_id": "ais-x-1", "price": 1.0, "quantity": 1.0}),
    ("risk.rejected", {"client_order_id": "ais-x-2", "reasons": ["MAX_ORDER_NOTIONAL"]}),
    ("risk.state", {"state": "halted", "reason": "test"}),
]


class IntegrationContract:
    """For ``ais.integrations`` plugins. Provide ``integration``."""

    def test_registers_with_host(self, integration: Any) -> None:
        host_with(("integrations", integration))

    def test_accepts_every_event_type(self, integration: Any) -> None:
        if not hasattr(integration, "ais_on_event"):
            pytest.skip("no event hook")
        for seq, (kind, payload) in enumerate(EVENT_SAMPLES, 1):
            integration.ais_on_event(Event(seq, 0, "contract", kind, payload))

    def test_contributions_are_well_formed(self, integration: Any) -> None:
        if hasattr(integration, "ais_cli_commands"):
            for command in integration.ais_cli_commands():
                assert isinstance(command, CliCommand)
                assert re.match(r"^[a-z][a-z0-9-]*$", command.name)
        if hasattr(integration, "ais_api_routes"):
            for route in integration.ais_api_routes():
                assert isinstance(route, ApiRoute)
                assert route.path.startswith("/")


# --- executors (``ais.executors``): the tasks below are module-level so that any executor can pickle
# them by reference; a worker process or a cluster worker imports them from here.


class ContractTaskError(ValueError):
    """What ``ExecutorContract``'s failing task raises, so its test can recognise it."""


def _square_after(task: tuple[int, float]) -> int:
    number, delay = task
    time.sleep(delay)
    return number * number


def _fail_on_three(task: int) -> int:
    if task == 3:
        raise ContractTaskError(f"task {task} failed on purpose")
    return task


def _identity(task: Any) -> Any:
    return task


def _scaled(factor: int, task: int) -> int:
    return factor * task


class ExecutorContract:
    """For ``ais.executors`` plugins (where ``ais sweep`` runs its backtests). Provide ``executor``:
    an instance, built as the CLI builds it (keyword options ``scheduler``, ``workers``); the
    fixture may yield it and close it afterwards (the suite also calls ``close()`` itself)."""

    def test_results_in_task_order(self, executor: Any) -> None:
        # the first tasks take longest, so a pool finishes them last: the order must still be kept
        tasks = [(n, 0.03 * (7 - n)) for n in range(8)]
        results = executor.map(_square_after, tasks)
        assert isinstance(results, Iterator), "map must return an iterator"
        assert list(results) == [n * n for n in range(8)]

    @staticmethod
    def _assert_is_task_error(error: BaseException) -> None:
        named = "ContractTaskError" in f"{type(error).__name__} {error}"
        assert isinstance(error, ContractTaskError) or named, (
            f"a task's exception must propagate as its type or an error naming it, got {error!r}"
        )

    def test_task_error_propagates(self, executor: Any) -> None:
        with pytest.raises(Exception) as info:  # noqa: PT011 (the type is checked below)
            list(executor.map(_fail_on_three, range(6)))
        self._assert_is_task_error(info.value)

    def test_usable_after_a_failed_task(self, executor: Any) -> None:
        with pytest.raises(Exception) as info:  # noqa: PT011 (the type is checked below)
            list(executor.map(_fail_on_three, range(6)))
        self._assert_is_task_error(info.value)
        assert list(executor.map(_identity, [1, 2])) == [1, 2]

    def test_tasks_and_results_arrive_unchanged(self, executor: Any) -> None:
        tasks: list[Any] = [
            {"config": "ais.toml", "overrides": {"agents.fast.fast": 12, "guards.x.limit": 0.5}},
            ("ais.toml", {"agents.fast.slow": 48}),
            (len, [1, 2]),  # a tuple led by a callable is data, not a task to evaluate
            [1.5, None, "text"],
            None,
        ]
        assert list(executor.map(_identity, tasks)) == tasks

    def test_module_level_callables(self, executor: Any) -> None:
        assert list(executor.map(abs, [-3, 4])) == [3, 4]
        assert list(executor.map(functools.partial(_scaled, 3), [1, 2, 5])) == [3, 6, 15]

    def test_no_tasks(self, executor: Any) -> None:
        assert list(executor.map(_identity, [])) == []

    def test_one_task(self, executor: Any) -> None:
        assert list(executor.map(_square_after, [(7, 0.0)])) == [49]

    def test_several_maps(self, executor: Any) -> None:
        for round_ in range(3):
            assert list(executor.map(_identity, [round_, round_ + 1])) == [round_, round_ + 1]

    def test_close_is_idempotent(self, executor: Any) -> None:
        assert list(executor.map(_identity, [1, 2, 3])) == [1, 2, 3]
        executor.close()
        executor.close()
