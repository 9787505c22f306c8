"""What core hands to plugins besides the data of a call: run facts and shared state."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ais.domain.market import MarketSnapshot
from ais.domain.risk import RiskState


class SharedState:
    """Shared memory of a run: values published per (topic, symbol), e.g. ``("regime", "ETH/BTC")``.

    Agents publish (the regime detector), arbitration and guards read. Values must be JSON-compatible;
    core records each change as an event.
    """

    __slots__ = ("_on_change", "_values")

    def __init__(self, on_change: Callable[[str, str, Any], None] | None = None) -> None:
        self._values: dict[tuple[str, str], Any] = {}
        self._on_change = on_change

    def publish(self, topic: str, symbol: str, value: Any) -> None:
        key = (topic, symbol)
        if self._values.get(key) != value:
            self._values[key] = value
            if self._on_change is not None:
                self._on_change(topic, symbol, value)

    def get(self, topic: str, symbol: str, default: Any = None) -> Any:
        return self._values.get((topic, symbol), default)

    def items(self) -> list[tuple[tuple[str, str], Any]]:
        return list(self._values.items())


@dataclass(slots=True)
class AgentContext:
    """Handed to agents each cycle. ``instance`` is the agent's name in ais.toml."""

    instance: str
    shared: SharedState


@dataclass(slots=True)
class ArbitrationContext:
    """Handed to the arbitration plugin: each agent instance's configured weight and the shared state."""

    weights: Mapping[str, float]
    shared: SharedState


@dataclass(slots=True)
class GuardContext:
    """Handed to guards: the current market, the risk state, the time (ms) and the run's timezone.

    Core reuses one object per run and updates it each cycle: read it during the call, don't keep it.
    """

    market: MarketSnapshot
    risk_state: RiskState
    now_ms: int
    timezone: str


@dataclass(slots=True)
class RunContext:
    """Handed to ``ais_startup``: the facts of this run.

    ``verify_token`` is core's token verifier (exchange adapters call it again before sending);
    ``extra`` carries mode-specific services by name.
    """

    run_id: str
    mode: str
    symbols: tuple[str, ...]
    timezone: str
    shared: SharedState
    verify_token: Callable[[Any], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
