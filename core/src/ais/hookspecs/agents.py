"""Strategy and market-intelligence agents (entry-point group ``ais.agents``)."""

from __future__ import annotations

from collections.abc import Sequence

from ais.context import AgentContext
from ais.domain.market import MarketSnapshot
from ais.domain.signals import Signal
from ais.markers import hookspec


@hookspec
def ais_agent_signals(snapshot: MarketSnapshot, context: AgentContext) -> Sequence[Signal]:
    """Return this agent's signals for the bar in ``snapshot`` (often none).

    Semantics: all results collected, one call per agent instance, in ais.toml order. An agent that
    raises is skipped for that cycle and the error is recorded as an ``agent.error`` event; other
    agents still run. Core validates each signal (confidence and liquidity in [0, 1]) and stamps
    ``agent`` with the instance name if empty.
    May: keep per-symbol state on ``self``, publish to ``context.shared``. May not: place orders, see
    credentials, read data stamped after ``snapshot.ts``, share state across symbols.
    Signals are edge-triggered: emit one when the view of a symbol changes; the allocator holds the
    last selected target until a new signal arrives.

    Example::

        @hookimpl
        def ais_agent_signals(self, snapshot, context):
            out = []
            for symbol, bar in snapshot.candles.items():
                view = self.update(symbol, bar)
                if view is not None:
                    out.append(Signal(symbol, view, 0.6, 0.004, 3600, 0.8, "fast>slow", bar.ts))
            return out

    .. versionadded:: 1.0
    """
