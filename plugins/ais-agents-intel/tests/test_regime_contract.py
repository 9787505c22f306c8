"""The agent conformance suite for the regime detector.

The detector emits no trading signals by design: it publishes each symbol's regime in the shared state
instead. ``AgentContract.test_signals_are_valid`` asserts that the agent produced signals, so it is
overridden here by a test that the detector publishes valid regimes for every symbol of the contract's
market and returns no signal. The other contract tests (registration, time stamps, symbols not
influencing each other) run unchanged; the last one compares signals, which are empty, so
``test_symbols_do_not_influence_each_other_in_shared_state`` checks the publications instead.
"""

from __future__ import annotations

from typing import Any

import pytest
from ais_agents_intel.regime import REGIMES, RegimeDetector

from ais.context import AgentContext, SharedState
from ais.testing import FakeMarket, make_instance
from ais.testing.conformance import AgentContract


def publications(agent: RegimeDetector, market: FakeMarket, symbols: list[str] | None = None) -> list[Any]:
    published: list[Any] = []
    shared = SharedState(on_change=lambda topic, symbol, value: published.append((topic, symbol, value)))
    context = AgentContext(agent.name, shared)
    for snap in market.snapshots(symbols):
        assert agent.ais_agent_signals(snap, context) == ()
    return published


class _RegimeContract(AgentContract):
    def test_signals_are_valid(self, agent: Any, market: FakeMarket) -> None:
        """Overridden: no signals by design; regimes published for every symbol instead."""
        assert self._run(agent, market) == []
        published = publications(agent.__class__(agent.name, agent.config), market)
        assert {symbol for _, symbol, _ in published} == set(market.candles)
        assert {topic for topic, _, _ in published} == {agent.config.topic}
        assert {value for *_, value in published} <= set(REGIMES)
        assert len({value for *_, value in published}) >= 2, "the synthetic walk has trends and ranges"

    def test_symbols_do_not_influence_each_other_in_shared_state(
        self, agent_factory: Any, market: FakeMarket
    ) -> None:
        first = next(iter(market.candles))
        together = [p for p in publications(agent_factory(), market) if p[1] == first]
        assert together == publications(agent_factory(), market, [first])


class TestRegimeDefaults(_RegimeContract):
    @pytest.fixture
    def agent(self) -> RegimeDetector:
        return make_instance(RegimeDetector, "regime")


class TestRegimeTuned(_RegimeContract):
    @pytest.fixture
    def agent(self) -> RegimeDetector:
        return make_instance(
            RegimeDetector, "fast_regime", short=6, long=60, trend=30, min_r2=0.5, hysteresis=0.0,
            topic="regime_fast",
        )  # fmt: skip
