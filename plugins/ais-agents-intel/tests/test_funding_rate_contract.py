"""The agent conformance suite for the funding-rate agent.

The contract's default market has candles only; this agent acts on funding rates, so ``market`` is
overridden: the same kind of synthetic candles (5-minute bars) with an 8-hourly funding rate per symbol
(a seeded series near the usual 0.01 % with occasional spikes, negative ones included).
"""

from __future__ import annotations

import random

import pytest
from ais_agents_intel.funding import FundingRateAgent
from intel_markets import FundingMarket

from ais.domain.market import FundingRate
from ais.testing import FakeMarket, make_instance, synthetic_candles
from ais.testing.conformance import AgentContract

BAR = 300_000
INTERVAL = 8 * 3_600_000


def synthetic_funding(start_ms: int, count: int, seed: int) -> list[FundingRate]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        rate = 1e-4 + rng.gauss(0.0, 2e-5)
        if rng.random() < 0.15:
            rate += rng.choice((-1.0, 1.0)) * rng.uniform(3e-4, 8e-4)
        out.append(FundingRate(start_ms + i * INTERVAL + rng.randrange(0, 20), rate))
    return out


def contract_market() -> FundingMarket:
    candles = {s: synthetic_candles(3000, bar_ms=BAR, seed=n) for n, s in enumerate(("AAA/USD", "BBB/USD"))}
    start = candles["AAA/USD"][0].ts
    funding = {s: synthetic_funding(start, 32, seed=10 + n) for n, s in enumerate(candles)}
    return FundingMarket(candles, funding, bar_ms=BAR)


class _FundingContract(AgentContract):
    @pytest.fixture
    def market(self) -> FakeMarket:
        return contract_market()


class TestFundingContrarian(_FundingContract):
    @pytest.fixture
    def agent(self) -> FundingRateAgent:
        return make_instance(FundingRateAgent, "funding_rate", window=8)


class TestFundingCarry(_FundingContract):
    @pytest.fixture
    def agent(self) -> FundingRateAgent:
        return make_instance(
            FundingRateAgent, "carry", mode="carry", window=6, threshold=0.0004, entry_z=1.5, exit_z=0.0,
            horizon=48, liquidity_window=24, liquidity_ref=5000.0,
        )  # fmt: skip


def test_the_contract_market_makes_every_direction() -> None:
    """The overridden market exercises LONG, SHORT and FLAT."""
    agent = make_instance(FundingRateAgent, "funding_rate", window=8)
    signals = _FundingContract()._run(agent, contract_market())
    assert {s.direction.value for s in signals} == {"long", "short", "flat"}
