"""The agent conformance suite, with the momentum agent's defaults."""

from __future__ import annotations

import pytest
from ais_agents_classic.momentum import Momentum

from ais.testing import make_instance
from ais.testing.conformance import AgentContract


class TestMomentumDefaults(AgentContract):
    @pytest.fixture
    def agent(self) -> Momentum:
        return make_instance(Momentum, "momentum")


class TestMomentumTuned(AgentContract):
    @pytest.fixture
    def agent(self) -> Momentum:
        return make_instance(Momentum, "tuned", fast=5, slow=30, min_strength=0.001, allow_short=False)
