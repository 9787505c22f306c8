"""The coordinator: one cycle = data → agents → arbitration → allocator → risk → OMS → exchange →
fill tracker → portfolio → event store → integrations (DESIGN §4).

This is the per-bar hot path: hook implementations are resolved once (``PluginHost``), the
portfolio snapshot is built at most once per cycle and only when a guard or an order needs it, and
store writes are group-committed except for what must be durable before it takes effect.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ais.context import ArbitrationContext, SharedState
from ais.domain.market import MarketSnapshot
from ais.domain.orders import MarketRules, Order, OrderType, Side
from ais.domain.portfolio import PortfolioSnapshot
from ais.domain.risk import RiskState
from ais.domain.signals import Signal
from ais.errors import PluginError
from ais.oms.manager import CLIENT_ID_PREFIX, OrderManager, order_payload
from ais.plugins.host import ExchangeHandle, PluginHost, checked_signals, ignore_market
from ais.portfolio.allocator import Allocator
from ais.portfolio.ledger import Ledger
from ais.risk.engine import RiskEngine

Record = Callable[..., None]

#: ``_size``'s answer for a signal that cannot be sized (no route, no price): already recorded.
_REFUSED = Order("", "", "", "", Side.BUY, OrderType.MARKET, 0.0, None, False, "", 0)


@dataclass
class RunStats:
    """Counters for the end-of-run summary."""

    cycles: int = 0
    signals: int = 0
    decisions: int = 0
    orders: int = 0
    rejections: Counter[str] = field(default_factory=Counter)
    agent_errors: int = 0
    first_ts: int | None = None
    last_ts: int | None = None


class Coordinator:
    def __init__(
        self,
        *,
        run_id: str,
        symbols: tuple[str, ...],
        host: PluginHost,
        ledger: Ledger,
        allocator: Allocator,
        risk: RiskEngine,
        oms: OrderManager,
        exchanges: dict[str, ExchangeHandle],
        venue_for: Callable[[str], str | None],
        shared: SharedState,
        record: Record,
        checkpoint_each_cycle: bool,
        stats: RunStats | None = None,
        order_seq: int = 0,
    ) -> None:
        self.run_id = run_id
        self.symbols = symbols
        self.host = host
        self.ledger = ledger
        self.allocator = allocator
        self.risk = risk
        self.oms = oms
        self.exchanges = exchanges
        self.venue_for = venue_for
        self.record = record
        self.checkpoint_each_cycle = checkpoint_each_cycle
        self.stats = stats or RunStats()
        self.order_seq = order_seq
        self._short = run_id.split("-")[-1][:8]
        self._agent_calls = host.agent_calls(shared)
        self._arbitration = ArbitrationContext(host.agent_weights(), shared)
        self._on_market = [
            (f"exchanges.{name}", ex.on_market)
            for name, ex in exchanges.items()
            if ex.on_market is not ignore_market
        ]
        self._data_key, self._snapshot_of = host.snapshot_source()
        self._assess = host.has_guard_assessments()
        self._assessed_revision = -1
        self._rules: dict[tuple[str, str], MarketRules] = {}
        self._venues: dict[str, str | None] = {}
        self._fill_since = 0
        #: the market of the current (or last) cycle
        self.snapshot: MarketSnapshot | None = None

    # -- the cycle ----------------------------------------------------------------------------

    def cycle(self, now: int, snapshot: MarketSnapshot | None = None) -> None:
        """One cycle at ``now``; ``snapshot``: the market of ``now`` when the run already has it (a
        data stream), else asked of the data providers."""
        stats = self.stats
        if stats.first_ts is None:
            stats.first_ts = now
        key = self._data_key
        try:  # zero-cost unless raised: a failing plugin is named, the run ends (fail closed)
            if snapshot is None:
                snapshot = self._snapshot_of(self.symbols, now)
                if snapshot is None:
                    snapshot = MarketSnapshot(now)
            self.snapshot = snapshot
            for key, on_market in self._on_market:  # noqa: B007 - `key` names the venue if it raises
                on_market(snapshot)
        except Exception as exc:
            raise _plugin_failed(exc, key) from exc
        oms = self.oms
        if oms.live:
            oms.poll_fills(self._fill_since)
        self._fill_since = now
        ledger = self.ledger
        ledger.mark(snapshot)
        portfolio: PortfolioSnapshot | None = None
        # the portfolio guards, unless their NAV floor says none of them can answer differently
        # (ais_guard_nav_floor: NAV above it, and no fill, new peak or new day since: same revision)
        if self._assess and not (
            ledger.nav > self.risk.quiet_above and ledger.revision == self._assessed_revision
        ):
            portfolio = ledger.snapshot()
            self._assessed_revision = ledger.revision
            if self.risk.assess(portfolio, snapshot, now):
                self.kill_switch_tripped()
        # the agents, inline (``run_agents``): a failing agent is skipped for this cycle, recorded
        signals: list[Signal] | None = None
        for agent_key, name, call, context in self._agent_calls:
            try:
                produced = call(snapshot, context)
                if not produced:
                    continue  # the usual bar: nothing allocated
                checked = checked_signals(produced, name)
            except Exception as exc:
                self._agent_failed(agent_key, exc, now)
                continue
            if signals is None:
                signals = checked
            else:
                signals.extend(checked)
        if signals:
            self._decide(signals, snapshot, now, portfolio)
        stats.cycles += 1
        stats.last_ts = now
        if self.checkpoint_each_cycle:
            # group-committed like everything else: an order intent is flushed (with every event
            # before it) before the order is sent, which is what a restart needs to resume from
            self.record("cycle", {"n": stats.cycles}, ts=now)

    def _decide(
        self, signals: list[Signal], snapshot: MarketSnapshot, now: int, portfolio: PortfolioSnapshot | None
    ) -> None:
        """Arbitrate the cycle's signals, record the decision, act on the selected ones. Out of
        ``cycle``: most cycles have no signal, and its closure would cost ``cycle`` a cell each time."""
        stats = self.stats
        stats.signals += len(signals)
        selected = self.host.arbitrate(signals, self._arbitration)
        chosen = {id(c) for c in selected}  # arbitration returns the signals themselves
        self.record(
            "decision",
            {
                "signals": [_signal_payload(s) for s in signals],
                "selected": [i for i, s in enumerate(signals) if id(s) in chosen],  # positions
            },
            ts=now,
        )
        if not selected:
            return
        stats.decisions += 1
        legs: dict[tuple[str, str], list[Signal]] | None = None
        for signal in selected:
            if signal.group is None:
                portfolio = self._act(signal, snapshot, now, portfolio)
            else:
                if legs is None:
                    legs = {}
                legs.setdefault((signal.agent, signal.group), []).append(signal)
        if legs:
            for group in legs.values():
                portfolio = self._act_group(group, snapshot, now, portfolio)

    def _agent_failed(self, agent: str, error: Exception, now: int) -> None:
        self.stats.agent_errors += 1
        self.record("agent.error", {"agent": agent, "error": f"{type(error).__name__}: {error}"}, ts=now)

    def _act(
        self, signal: Signal, snapshot: MarketSnapshot, now: int, portfolio: PortfolioSnapshot | None
    ) -> PortfolioSnapshot | None:
        order = self._size(signal, snapshot, now)
        if order is None:
            return portfolio
        if portfolio is None:
            portfolio = self.ledger.snapshot()
        signed = self._approve(order, portfolio, snapshot, now)
        if signed is None:
            return portfolio
        self.stats.orders += 1
        self.oms.submit(signed)
        return None  # the portfolio changes once the order fills: rebuild on next use

    def _act_group(
        self, legs: list[Signal], snapshot: MarketSnapshot, now: int, portfolio: PortfolioSnapshot | None
    ) -> PortfolioSnapshot | None:
        """The legs of one group (a pair trade) all or nothing: every leg is sized and approved before
        any is sent; one leg refused (no route, no price, a guard) and no leg is sent."""
        orders: list[Order] = []
        for signal in legs:
            order = self._size(signal, snapshot, now)
            if order is _REFUSED:
                return portfolio
            if order is not None:
                orders.append(order)  # a leg already at its target needs no order
        if not orders:
            return portfolio
        if portfolio is None:
            portfolio = self.ledger.snapshot()
        approved: list[Order] = []
        for order in orders:
            signed = self._approve(order, portfolio, snapshot, now)
            if signed is None:
                for other in orders:
                    if other is not order:
                        self._refuse_leg(other, order, now)
                return portfolio
            approved.append(signed)
        for signed in approved:
            self.stats.orders += 1
            self.oms.submit(signed)
        return None

    def _refuse_leg(self, order: Order, refused: Order, now: int) -> None:
        self.stats.rejections["GROUP_LEG_REJECTED"] += 1
        message = f"coordinator: leg {refused.symbol} of the same group was refused"
        self.record(
            "risk.rejected",
            order_payload(order) | {"reasons": ["GROUP_LEG_REJECTED"], "messages": [message]},
            ts=now,
        )

    def _size(self, signal: Signal, snapshot: MarketSnapshot, now: int) -> Order | None:
        """The order the signal asks for; ``None`` when there is nothing to do; ``_REFUSED`` (recorded)
        when it cannot be sized."""
        symbol = signal.symbol
        venue = self._venues.get(symbol)
        if venue is None:
            venue = self._venues[symbol] = self.venue_for(symbol)  # routing is fixed for the run
        if venue is None or venue not in self.exchanges:
            self._reject(signal, "NO_ROUTE", f"no exchange routes {symbol}", now)
            return _REFUSED
        price = snapshot.price(symbol) or self.ledger.prices.get(symbol)
        if price is None:
            self._reject(signal, "NO_MARKET_DATA", f"no price for {symbol}", now)
            return _REFUSED
        rules = self._rules.get((venue, symbol))
        if rules is None:
            rules = self.exchanges[venue].market_rules(symbol) or MarketRules(symbol)
            self._rules[(venue, symbol)] = rules
        held = self.ledger.position(symbol) + self.oms.in_flight(symbol)
        self.order_seq += 1
        n = self.order_seq
        order = self.allocator.size(
            signal,
            nav=self.ledger.nav,
            price=price,
            held=held,
            rules=rules,
            order_id=f"{self.run_id}:{n}",
            client_order_id=f"{CLIENT_ID_PREFIX}{self._short}-{n}",
            venue=venue,
            ts=now,
        )
        if order is None:
            self.order_seq -= 1  # nothing to do: the id is not spent
        return order

    def _approve(
        self, order: Order, portfolio: PortfolioSnapshot, snapshot: MarketSnapshot, now: int
    ) -> Order | None:
        """The signed order, or ``None`` after recording the risk engine's reasons."""
        signed, rejections = self.risk.evaluate(order, portfolio, snapshot, now)
        if signed is None:
            codes = [v.reason_code or "REJECTED" for v in rejections]
            self.stats.rejections.update(codes)
            self.record(
                "risk.rejected",
                order_payload(order)
                | {"reasons": codes, "messages": [f"{v.guard}: {v.message}" for v in rejections]},
                ts=now,
            )
        return signed

    def _reject(self, signal: Signal, code: str, message: str, now: int) -> None:
        self.stats.rejections[code] += 1
        self.record(
            "risk.rejected",
            {"symbol": signal.symbol, "strategy": signal.agent, "reasons": [code], "messages": [message]},
            ts=now,
        )

    def kill_switch_tripped(self) -> None:
        """HALTED: cancel every open order at once."""
        cancelled = self.oms.cancel_all("kill switch")
        self.record(
            "risk.kill_switch", {"cancelled": cancelled, "reason": self.risk.state_reason}, flush=True
        )

    def operator_state(self, state: RiskState, reason: str) -> None:
        """Apply a state change an operator recorded from another process (``ais kill``)."""
        if state is self.risk.state:
            return
        self.risk.state = state
        self.risk.state_reason = reason
        self.risk.quiet_above = math.inf  # assess again under the new state
        if state is RiskState.HALTED:
            self.kill_switch_tripped()


def _plugin_failed(exc: Exception, key: str) -> PluginError:
    hook = "ais_exchange_on_market" if key.startswith("exchanges.") else "ais_data_snapshot"
    return (
        exc
        if isinstance(exc, PluginError)
        else PluginError(f"{key}: {hook} failed: {type(exc).__name__}: {exc}")
    )


def _signal_payload(s: Signal) -> dict[str, Any]:
    return {
        "agent": s.agent,
        "symbol": s.symbol,
        "direction": s.direction,  # a StrEnum: JSON writes its value
        "confidence": s.confidence,
        "expected_return": s.expected_return,
        "horizon_s": s.horizon_s,
        "liquidity": s.liquidity,
        "rationale": s.rationale,
        "group": s.group,
        "leg_weight": s.leg_weight,
    }
