"""The plugin host: the one typed facade over pluggy. Nothing else in AIS calls ``pm.hook``.

Hook implementations are resolved once (per configuration) into plain callables ordered as in
ais.toml, so the per-bar path pays a function call, not a pluggy dispatch (DESIGN §9), while each
call stays isolated the way its hook's contract says.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pluggy

from ais.config.loader import AisConfig
from ais.context import AgentContext, ArbitrationContext, GuardContext, RunContext, SharedState
from ais.domain.events import Event
from ais.domain.market import Candle, FundingRate, MarketSnapshot, OrderBook, Ticker
from ais.domain.orders import Fill, MarketRules, OpenOrder, Order, SubmitResult
from ais.domain.portfolio import PortfolioSnapshot, Position
from ais.domain.risk import Action, Verdict
from ais.domain.signals import Signal
from ais.errors import PluginError
from ais.extensions import ApiRoute, CliCommand
from ais.hookspecs import KINDS, SPEC_MODULES, hook_names, lifecycle
from ais.markers import PROJECT_NAME
from ais.plugins.loader import LoadedInstance, PluginFailure, load_instances

V = TypeVar("V")

log = logging.getLogger("ais.hooks")

Call = Callable[..., Any]

#: Hooks a plugin of each kind must implement (at least one of each tuple).
REQUIRED_HOOKS: dict[str, tuple[str, ...]] = {
    "data": ("ais_data_snapshot",),
    "agents": ("ais_agent_signals",),
    "arbitration": ("ais_arbitrate",),
    "guards": ("ais_guard_check", "ais_guard_assess"),
    "exchanges": ("ais_exchange_submit",),
    "integrations": ("ais_on_event", "ais_cli_commands", "ais_api_routes"),
}
_LIFECYCLE_HOOKS = frozenset(hook_names(lifecycle))
_KIND_OF_HOOK = {name: kind for kind, (_, mod) in KINDS.items() for name in hook_names(mod)}


def _trace_enabled() -> bool:
    return os.environ.get("AIS_TRACE_HOOKS", "") not in ("", "0")


@dataclass(frozen=True)
class ExchangeHandle:
    """One exchange instance's hooks, resolved."""

    name: str
    submit: Callable[[Order], SubmitResult]
    cancel: Callable[[str, str], bool]
    open_orders: Callable[[], Sequence[OpenOrder]]
    balances: Callable[[], Mapping[str, float]]
    positions: Callable[[], Sequence[Position]]
    fills: Callable[[int], Sequence[Fill]]
    market_rules: Callable[[str], MarketRules | None]
    on_market: Callable[[MarketSnapshot], None]


class PluginHost:
    """Registers the configured plugin instances and dispatches their hooks in ais.toml order."""

    def __init__(self, instances: Sequence[LoadedInstance] = ()) -> None:
        self._pm = pluggy.PluginManager(PROJECT_NAME)
        for module in SPEC_MODULES:
            self._pm.add_hookspecs(module)
        self.instances: dict[str, LoadedInstance] = {}
        self.failures: list[PluginFailure] = []
        self._order: list[str] = []
        for instance in instances:
            self.register(instance)
        self._resolved: dict[str, list[tuple[str, Call]]] = {}
        self._assess_calls: list[tuple[str, Call]] = []
        self._floor_calls: dict[str, Call] = {}

    # -- set-up -------------------------------------------------------------------------------

    @classmethod
    def from_config(cls, config: AisConfig) -> PluginHost:
        """Load and register every enabled instance; failures are kept in ``host.failures``."""
        instances, failures = load_instances(config)
        host = cls(instances)
        host.failures[:0] = failures
        return host

    def register(self, instance: LoadedInstance) -> None:
        """Register one instance after checking its hooks; a problem becomes a named failure."""
        key = instance.spec.key
        problem = self._hook_problem(instance)
        if problem is None:
            try:
                self._pm.register(instance.obj, name=key)
            except pluggy.PluginValidationError as exc:
                problem = f"invalid hook implementation: {exc}"
        if problem is not None:
            info = instance.info
            self.failures.append(
                PluginFailure(key, info.name, info.kind, info.distribution, info.version, problem)
            )
            return
        self.instances[key] = instance
        self._order.append(key)
        self._resolved = {}

    def _hook_problem(self, instance: LoadedInstance) -> str | None:
        kind = instance.spec.kind
        implemented = {
            name
            for name in dir(type(instance.obj))
            if name.startswith("ais_") and self._pm.parse_hookimpl_opts(instance.obj, name) is not None
        }
        for name in sorted(implemented):
            if name in _LIFECYCLE_HOOKS:
                continue
            owner = _KIND_OF_HOOK.get(name)
            if owner is None:
                from ais.config.messages import did_you_mean

                return f"unknown hook {name!r}{did_you_mean(name, [*_KIND_OF_HOOK, *_LIFECYCLE_HOOKS])}"
            if owner != kind:
                return f"implements {owner} hook {name!r} but is configured as {kind}"
        if not implemented & set(REQUIRED_HOOKS[kind]):
            return f"implements none of {', '.join(REQUIRED_HOOKS[kind])}"
        return None

    def raise_failures(self) -> None:
        """Fail closed: a run refuses to start if any enabled plugin failed (exit code 3)."""
        if self.failures:
            extra = f" (+{len(self.failures) - 1} more)" if len(self.failures) > 1 else ""
            raise PluginError(self.failures[0].line() + extra)

    def keys(self, kind: str) -> list[str]:
        """Instance keys of ``kind`` in ais.toml order."""
        return [k for k in self._order if self.instances[k].spec.kind == kind]

    def hooks_of(self, key: str) -> list[str]:
        """The hook names an instance implements (for ``ais plugins doctor``)."""
        obj = self.instances[key].obj
        return sorted(c.name for c in self._pm.get_hookcallers(obj) or [])

    # -- resolution ---------------------------------------------------------------------------

    def _calls(self, hook: str) -> list[tuple[str, Call]]:
        """(instance key, callable) for every implementation of ``hook``, in ais.toml order."""
        cached = self._resolved.get(hook)
        if cached is not None:
            return cached
        caller = getattr(self._pm.hook, hook)
        spec_args = tuple(caller.spec.argnames) if caller.spec else ()
        by_key = {impl.plugin_name: impl for impl in caller.get_hookimpls()}
        calls: list[tuple[str, Call]] = []
        for key in self._order:
            impl = by_key.get(key)
            if impl is None:
                continue
            call = _positional(impl.function, tuple(impl.argnames), spec_args)
            if _trace_enabled():
                call = _traced(hook, key, call)
            calls.append((key, call))
        self._resolved[hook] = calls
        return calls

    # -- lifecycle ----------------------------------------------------------------------------

    def startup(self, context: RunContext) -> None:
        for key, call in self._calls("ais_startup"):
            try:
                call(context)
            except Exception as exc:
                raise PluginError(f"{key}: ais_startup failed: {type(exc).__name__}: {exc}") from None

    def shutdown(self) -> list[tuple[str, Exception]]:
        errors: list[tuple[str, Exception]] = []
        for key, call in reversed(self._calls("ais_shutdown")):
            try:
                call()
            except Exception as exc:
                errors.append((key, exc))
        return errors

    # -- data ---------------------------------------------------------------------------------

    def snapshot_source(self) -> tuple[str, Callable[[tuple[str, ...], int], MarketSnapshot | None]]:
        """(instance key, function) for the per-bar path: with one provider, its hook itself (the
        caller names the instance if it raises); with several, ``snapshot``, which merges."""
        calls = self._calls("ais_data_snapshot")
        if len(calls) != 1:
            return "data", self.snapshot
        return calls[0]

    def snapshot_stream(
        self, symbols: tuple[str, ...], after_ms: int
    ) -> tuple[str, Iterator[MarketSnapshot]] | None:
        """(instance key, iterator) of ``ais_data_stream`` when one provider alone gives both the
        snapshots and the timeline and implements it; else ``None`` (the per-bar hooks are used)."""
        streams = self._calls("ais_data_stream")
        if len(streams) != 1:
            return None
        key, call = streams[0]
        sources = self._calls("ais_data_snapshot") + self._calls("ais_data_next_time")
        if [k for k, _ in sources] != [key, key]:
            return None
        try:
            snapshots = call(symbols, after_ms)
            return None if snapshots is None else (key, iter(snapshots))
        except Exception as exc:
            raise _failed(key, "ais_data_stream", exc) from exc

    def snapshot(self, symbols: tuple[str, ...], now_ms: int) -> MarketSnapshot:
        """The merged snapshot of every provider (first provider in ais.toml wins per symbol)."""
        calls = self._calls("ais_data_snapshot")
        if len(calls) == 1:
            only = calls[0][1](symbols, now_ms)
            return only if only is not None else MarketSnapshot(ts=now_ms)
        candles: dict[str, Candle] = {}
        tickers: dict[str, Ticker] = {}
        books: dict[str, OrderBook] = {}
        funding: dict[str, FundingRate] = {}
        bar_ms: int | None = None
        gaps: set[str] = set()
        for key, call in calls:
            try:
                part = call(symbols, now_ms)
            except Exception as exc:
                raise _failed(key, "ais_data_snapshot", exc) from exc
            if part is None:
                continue
            if not candles:
                bar_ms = part.bar_ms  # the bar length of the first provider with candles
            _keep_first(candles, part.candles)
            _keep_first(tickers, part.tickers)
            _keep_first(books, part.books)
            _keep_first(funding, part.funding)
            gaps |= part.gaps
        return MarketSnapshot(
            now_ms, candles, tickers, books, funding, 60_000 if bar_ms is None else bar_ms, frozenset(gaps)
        )

    def has_timeline(self) -> bool:
        """True if a data provider replays recorded time (``ais_data_next_time``): simulated clock."""
        return bool(self._calls("ais_data_next_time"))

    def timeline_source(self) -> tuple[str, Callable[[int], int | None]]:
        """(instance key, function) for the per-bar path: with one provider, its hook itself (the
        caller checks that time advances and names the instance if it raises); with several,
        ``next_time``, which checks both."""
        calls = self._calls("ais_data_next_time")
        if len(calls) != 1:
            return "data", self.next_time
        return calls[0]

    def next_time(self, after_ms: int) -> int | None:
        """The earliest next bar time over all providers; ``None`` when all are exhausted."""
        times = []
        for key, call in self._calls("ais_data_next_time"):
            try:
                t = call(after_ms)
            except Exception as exc:
                raise _failed(key, "ais_data_next_time", exc) from exc
            if t is not None:
                times.append(t)
        for t in times:
            if t <= after_ms:
                raise PluginError(f"a data provider returned next time {t} <= {after_ms} (must advance)")
        return min(times) if times else None

    # -- agents and arbitration ----------------------------------------------------------------

    def agent_calls(self, shared: SharedState) -> list[AgentCall]:
        """Each agent's ``ais_agent_signals`` with what running it needs, in ais.toml order:
        ``(key, instance name, call, context)``. The coordinator runs them in its cycle (no call of
        its own per bar); ``run_agents`` runs them anywhere else."""
        return [
            (key, self.instances[key].spec.name, call, AgentContext(self.instances[key].spec.name, shared))
            for key, call in self._calls("ais_agent_signals")
        ]

    def agent_runner(
        self, shared: SharedState
    ) -> Callable[[MarketSnapshot], tuple[list[Signal], list[tuple[str, Exception]]]]:
        """A function that runs every agent on a snapshot: (valid signals, (agent, error) pairs)."""
        calls = self.agent_calls(shared)
        return lambda snapshot: run_agents(calls, snapshot)

    def arbitrate(self, signals: Sequence[Signal], context: ArbitrationContext) -> list[Signal]:
        calls = self._calls("ais_arbitrate")
        if not calls or not signals:
            return []
        key, call = calls[0]
        try:
            chosen = call(signals, context)
        except Exception as exc:
            raise _failed(key, "ais_arbitrate", exc) from exc
        return list(chosen) if chosen else []

    def agent_weights(self) -> dict[str, float]:
        return {self.instances[k].spec.name: self.instances[k].spec.weight for k in self.keys("agents")}

    # -- guards -------------------------------------------------------------------------------

    def guard_checks(
        self, order: Order, portfolio: PortfolioSnapshot, context: GuardContext
    ) -> list[Verdict]:
        """Every guard's verdict, in ais.toml order. A guard that raises rejects (fail closed)."""
        verdicts: list[Verdict] = []
        for key, call in self._calls("ais_guard_check"):
            try:
                verdict = call(order, portfolio, context)
                if not isinstance(verdict, Verdict):
                    raise TypeError(f"returned {type(verdict).__name__}, not a Verdict")
            except Exception as exc:
                verdict = Verdict(key, Action.REJECT, "GUARD_ERROR", f"{type(exc).__name__}: {exc}")
            verdicts.append(verdict)
        return verdicts

    def guard_assessments(self, portfolio: PortfolioSnapshot, context: GuardContext) -> list[Verdict]:
        """Portfolio verdicts that ask for a state change. A guard that raises halts (fail closed)."""
        verdicts: list[Verdict] | None = None
        passed = Action.PASS
        for key, call in self._assess_calls or self._calls("ais_guard_assess"):
            try:
                verdict = call(portfolio, context)
                if verdict is None:
                    continue  # the usual answer: nothing to do, nothing allocated
                if not isinstance(verdict, Verdict):
                    raise TypeError(f"returned {type(verdict).__name__}, not a Verdict or None")
            except Exception as exc:
                verdict = Verdict(key, Action.HALT, "GUARD_ERROR", f"{type(exc).__name__}: {exc}")
            if verdict.action is not passed:
                if verdicts is None:
                    verdicts = []
                verdicts.append(verdict)
        return verdicts if verdicts is not None else []

    def guard_nav_floor(self, portfolio: PortfolioSnapshot, context: GuardContext) -> float:
        """The NAV above which no assessing guard's answer can change (``ais_guard_nav_floor``): the
        highest of their floors; ``inf`` (assess every cycle) as soon as one gives none."""
        floors = self._floor_calls or dict(self._calls("ais_guard_nav_floor"))
        highest = -math.inf
        for key, _ in self._assess_calls or self._calls("ais_guard_assess"):
            call = floors.get(key)
            if call is None:
                return math.inf
            try:
                floor = call(portfolio, context)
                floor = float(floor) if floor is not None else math.inf
            except Exception:
                return math.inf  # fail closed: assessed every cycle, where its error is recorded
            if not floor < math.inf:  # NaN too
                return math.inf
            highest = max(highest, floor)
        return highest

    def has_guard_assessments(self) -> bool:
        """Whether a guard assesses the portfolio; resolves the assessing and NAV-floor calls once."""
        self._assess_calls = self._calls("ais_guard_assess")
        self._floor_calls = dict(self._calls("ais_guard_nav_floor"))
        return bool(self._assess_calls)

    # -- exchanges ----------------------------------------------------------------------------

    def exchange_names(self) -> list[str]:
        return [self.instances[k].spec.name for k in self.keys("exchanges")]

    def exchange(self, name: str) -> ExchangeHandle:
        """The resolved hooks of exchange instance ``name``."""
        key = f"exchanges.{name}"
        if key not in self.instances:
            raise PluginError(f"no enabled exchange instance {name!r}")

        def one(hook: str, default: Call) -> Call:
            for k, call in self._calls(hook):
                if k == key:
                    # submit: the OMS handles failures itself; on_market: the per-bar caller names it
                    return (
                        call
                        if hook in ("ais_exchange_submit", "ais_exchange_on_market")
                        else _named(key, hook, call)
                    )
            return default

        def missing(hook: str) -> Call:
            def fail(*_: Any) -> Any:
                raise PluginError(f"{key}: does not implement {hook}")

            return fail

        return ExchangeHandle(
            name=name,
            submit=one("ais_exchange_submit", missing("ais_exchange_submit")),
            cancel=one("ais_exchange_cancel", missing("ais_exchange_cancel")),
            open_orders=one("ais_exchange_open_orders", lambda: ()),
            balances=one("ais_exchange_balances", dict),
            positions=one("ais_exchange_positions", lambda: ()),
            fills=one("ais_exchange_fills", lambda since_ms: ()),
            market_rules=one("ais_exchange_market_rules", lambda symbol: None),
            on_market=self._on_market_of(key, one("ais_exchange_on_market", ignore_market)),
        )

    def _on_market_of(self, key: str, hook: Call) -> Call:
        """The per-bar call of a venue: an ``ExchangeAdapter`` that keeps the base class's hook is called
        at its ``on_market`` directly (one call less a bar), and one without ``on_market`` not at all."""
        from ais.exchange import ExchangeAdapter

        obj = self.instances[key].obj
        if not isinstance(obj, ExchangeAdapter):
            return hook
        cls = type(obj)
        if cls.ais_exchange_on_market is not ExchangeAdapter.ais_exchange_on_market:
            return hook  # the adapter overrides the hook itself
        if cls.on_market is ExchangeAdapter.on_market:
            return ignore_market
        return obj.on_market

    # -- integrations -------------------------------------------------------------------------

    def has_event_listeners(self) -> bool:
        return bool(self._calls("ais_on_event"))

    def on_event(self, event: Event) -> list[tuple[str, Exception]]:
        """Deliver an event to every integration; errors are returned, never raised."""
        errors: list[tuple[str, Exception]] = []
        for key, call in self._calls("ais_on_event"):
            try:
                call(event)
            except Exception as exc:
                errors.append((key, exc))
        return errors

    def cli_commands(self) -> list[tuple[str, CliCommand]]:
        found: list[tuple[str, CliCommand]] = []
        for key, call in self._calls("ais_cli_commands"):
            found.extend((key, command) for command in call() or ())
        return found

    def api_routes(self) -> list[tuple[str, ApiRoute]]:
        found: list[tuple[str, ApiRoute]] = []
        seen: dict[tuple[str, str], str] = {}
        for key, call in self._calls("ais_api_routes"):
            for route in call() or ():
                where = (route.method.upper(), route.path)
                if where in seen:
                    raise PluginError(
                        f"{key}: API route {route.method.upper()} {route.path} clashes with {seen[where]}"
                    )
                seen[where] = key
                found.append((key, route))
        return found


def _failed(key: str, hook: str, exc: Exception) -> PluginError:
    return PluginError(f"{key}: {hook} failed: {type(exc).__name__}: {exc}")


def ignore_market(snapshot: MarketSnapshot) -> None:
    """The per-bar call of a venue that does nothing with the market (the coordinator skips it)."""


def _named(key: str, hook: str, call: Call) -> Call:
    """Exceptions of a plugin's call become a one-line ``PluginError`` naming the instance and hook
    (the OMS handles ``ais_exchange_submit`` failures itself: timeouts leave the order in flight)."""

    def named(*args: Any) -> Any:
        try:
            return call(*args)
        except Exception as exc:
            raise _failed(key, hook, exc) from exc

    return named


#: ``(key, instance name, ais_agent_signals, context)`` of one agent (``PluginHost.agent_calls``)
AgentCall = tuple[str, str, Callable[[MarketSnapshot, AgentContext], Sequence[Signal] | None], AgentContext]


def run_agents(
    calls: Sequence[AgentCall], snapshot: MarketSnapshot
) -> tuple[list[Signal], list[tuple[str, Exception]]]:
    """Every agent on ``snapshot``: (valid signals, (agent key, error) pairs). An agent that raises, or
    returns an invalid signal, is skipped for that cycle; the others run. ``Coordinator.cycle`` does
    the same inline."""
    signals: list[Signal] = []
    errors: list[tuple[str, Exception]] = []
    for key, name, call, context in calls:
        try:
            produced = call(snapshot, context)
            if produced:
                signals.extend(checked_signals(produced, name))
        except Exception as exc:
            errors.append((key, exc))
    return signals, errors


def checked_signals(produced: Sequence[Signal], name: str) -> list[Signal]:
    """An agent's signals, validated and stamped with its instance name; raises on a bad one."""
    if isinstance(produced, Signal):  # a Signal is a tuple too: iterating it would yield its fields
        raise TypeError("returned a Signal, not a sequence of signals")
    checked = []
    for signal in produced:
        if not isinstance(signal, Signal):
            raise TypeError(f"returned {type(signal).__name__}, not a Signal")
        signal.validate()
        if signal.agent != name:
            signal = _with_agent(signal, name)
        checked.append(signal)
    return checked


def _with_agent(signal: Signal, agent: str) -> Signal:
    return signal._replace(agent=agent)


def _positional(function: Call, impl_args: tuple[str, ...], spec_args: tuple[str, ...]) -> Call:
    """Call ``function`` with the spec's positional arguments, passing only those it declares
    (pluggy lets an implementation accept a subset of a hook's arguments)."""
    if impl_args == spec_args:
        return function
    picks = [spec_args.index(name) for name in impl_args]

    def call(*args: Any) -> Any:
        return function(*[args[i] for i in picks])

    return call


def _traced(hook: str, key: str, call: Call) -> Call:
    """``AIS_TRACE_HOOKS=1``: log each call's hook, instance and duration (arguments by type only,
    so nothing secret is ever logged)."""

    def traced(*args: Any) -> Any:
        start = time.perf_counter()
        try:
            return call(*args)
        finally:
            log.warning(
                "hook %s -> %s (%s) %.1f µs",
                hook,
                key,
                ", ".join(type(a).__name__ for a in args),
                (time.perf_counter() - start) * 1e6,
            )

    return traced


def _keep_first(mine: dict[str, V], theirs: Mapping[str, V]) -> None:
    """Add ``theirs`` to ``mine`` where ``mine`` has no value yet (the first provider wins)."""
    for symbol, value in theirs.items():
        mine.setdefault(symbol, value)
