"""The plugin host: registration checks, ais.toml order, isolation of failures."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from ais import Plugin, PluginConfig, hookimpl
from ais.context import GuardContext, SharedState
from ais.domain import Action, Direction, MarketSnapshot, RiskState, Signal, Verdict
from ais.plugins.host import PluginHost
from ais.testing.conformance import empty_portfolio, sample_order
from ais.testing.fakes import FakeMarket, host_with, loaded, synthetic_candles


class Threshold(PluginConfig):
    level: float = 1.0


class Guard(Plugin[Threshold]):
    Config = Threshold
    calls: ClassVar[list[str]] = []

    @hookimpl
    def ais_guard_check(self, order: Any, portfolio: Any, context: Any) -> Verdict:
        Guard.calls.append(self.name)
        if order.quantity > self.config.level:
            return Verdict.reject(self.name, "TOO_BIG", f"{order.quantity} > {self.config.level}")
        return Verdict.ok(self.name)


class Exploding(Plugin[PluginConfig]):
    @hookimpl
    def ais_guard_check(self, order: Any, portfolio: Any, context: Any) -> Verdict:
        raise RuntimeError("boom")


def context() -> GuardContext:
    return GuardContext(MarketSnapshot(ts=0), RiskState.ACTIVE, 0, "UTC")


def test_two_instances_of_one_plugin_keep_their_own_config_and_order() -> None:
    Guard.calls = []
    small, large = Guard("small", Threshold(level=0.05)), Guard("large", Threshold(level=5.0))
    host = host_with(("guards", large), ("guards", small))
    verdicts = host.guard_checks(sample_order(quantity=0.1), empty_portfolio(), context())
    assert Guard.calls == ["large", "small"]  # ais.toml order, not registration LIFO
    assert [(v.guard, v.action) for v in verdicts] == [("large", Action.PASS), ("small", Action.REJECT)]


def test_guard_that_raises_rejects() -> None:
    host = host_with(("guards", Exploding("bad", PluginConfig())), ("guards", Guard("ok", Threshold())))
    verdicts = host.guard_checks(sample_order(), empty_portfolio(), context())
    assert verdicts[0].action is Action.REJECT and verdicts[0].reason_code == "GUARD_ERROR"
    assert "boom" in verdicts[0].message
    assert verdicts[1].action is Action.PASS  # every guard still runs: all reasons are collected


class Agent(Plugin[PluginConfig]):
    @hookimpl
    def ais_agent_signals(self, snapshot: MarketSnapshot, context: Any) -> list[Signal]:
        return [
            Signal(s, Direction.LONG, 0.5, 0.01, 60, 0.5, "always", snapshot.ts) for s in snapshot.candles
        ]


class BrokenAgent(Plugin[PluginConfig]):
    @hookimpl
    def ais_agent_signals(self, snapshot: MarketSnapshot, context: Any) -> list[Signal]:
        raise ValueError("bad data")


class OutOfRangeAgent(Plugin[PluginConfig]):
    @hookimpl
    def ais_agent_signals(self, snapshot: MarketSnapshot, context: Any) -> list[Signal]:
        return [Signal("AAA/USD", Direction.LONG, 1.5, 0.01, 60, 0.5, "overconfident", snapshot.ts)]


def test_agent_that_raises_is_skipped_and_reported() -> None:
    host = host_with(
        ("agents", BrokenAgent("broken", PluginConfig())),
        ("agents", OutOfRangeAgent("wild", PluginConfig())),
        ("agents", Agent("good", PluginConfig())),
    )
    run = host.agent_runner(SharedState())
    snapshot = next(FakeMarket({"AAA/USD": synthetic_candles(3)}).snapshots())
    signals, errors = run(snapshot)
    assert [s.agent for s in signals] == ["good"]  # stamped with the instance name
    assert [key for key, _ in errors] == ["agents.broken", "agents.wild"]
    assert "confidence must be in [0, 1]" in str(errors[1][1])


class BareSignalAgent(Plugin[PluginConfig]):
    @hookimpl
    def ais_agent_signals(self, snapshot: MarketSnapshot, context: Any) -> Any:
        return Signal("AAA/USD", Direction.LONG, 0.5, 0.01, 60, 0.5, "not in a list", snapshot.ts)


def test_a_bare_signal_instead_of_a_sequence_is_refused_by_name() -> None:
    """A Signal is a NamedTuple: iterated, it would yield its fields; core names the mistake."""
    host = host_with(("agents", BareSignalAgent("bare", PluginConfig())))
    snapshot = next(FakeMarket({"AAA/USD": synthetic_candles(3)}).snapshots())
    signals, errors = host.agent_runner(SharedState())(snapshot)
    assert signals == []
    assert [(key, str(error)) for key, error in errors] == [
        ("agents.bare", "returned a Signal, not a sequence of signals")
    ]


@pytest.mark.parametrize("agent", [BrokenAgent, OutOfRangeAgent, Agent])
def test_a_lone_agent_is_run_like_one_of_several(agent: type[Plugin[PluginConfig]]) -> None:
    snapshot = next(FakeMarket({"AAA/USD": synthetic_candles(3)}).snapshots())
    alone = host_with(("agents", agent("x", PluginConfig()))).agent_runner(SharedState())(snapshot)
    host = host_with(("agents", agent("x", PluginConfig())), ("agents", Agent("good", PluginConfig())))
    signals, errors = host.agent_runner(SharedState())(snapshot)
    among = [s for s in signals if s.agent == "x"], errors
    assert alone[0] == among[0]
    assert [(key, str(error)) for key, error in alone[1]] == [(key, str(error)) for key, error in among[1]]


def test_unknown_hook_is_refused_with_a_suggestion() -> None:
    class Typo(Plugin[PluginConfig]):
        @hookimpl
        def ais_agent_signal(self, snapshot: Any, context: Any) -> list[Signal]:
            return []

    host = PluginHost([loaded(Typo("typo", PluginConfig()), "agents")])
    assert not host.instances
    assert "unknown hook 'ais_agent_signal' (did you mean 'ais_agent_signals'?)" in host.failures[0].line()
    with pytest.raises(Exception, match="typo"):
        host.raise_failures()


def test_hook_of_another_kind_is_refused() -> None:
    host = PluginHost([loaded(Guard("g", Threshold()), "agents")])
    assert "implements guards hook 'ais_guard_check' but is configured as agents" in host.failures[0].message


def test_plugin_without_its_kinds_hook_is_refused() -> None:
    host = PluginHost([loaded(Agent("a", PluginConfig()), "guards")])
    assert host.failures  # an agent hook on a guard instance


def test_bad_signature_is_refused() -> None:
    class Extra(Plugin[PluginConfig]):
        @hookimpl
        def ais_agent_signals(self, snapshot: Any, context: Any, surprise: Any) -> list[Signal]:
            return []

    host = PluginHost([loaded(Extra("x", PluginConfig()), "agents")])
    assert "invalid hook implementation" in host.failures[0].message


def test_subset_of_arguments_is_allowed() -> None:
    class Lean(Plugin[PluginConfig]):
        @hookimpl
        def ais_agent_signals(self, snapshot: MarketSnapshot) -> list[Signal]:
            return [Signal("AAA/USD", Direction.FLAT, 0.1, 0.0, 60, 0.5, "lean", snapshot.ts)]

    host = host_with(("agents", Lean("lean", PluginConfig())))
    signals, errors = host.agent_runner(SharedState())(MarketSnapshot(ts=5))
    assert not errors and signals[0].agent == "lean"


def test_empty_host_has_nothing(ais_host: PluginHost) -> None:
    assert ais_host.instances == {}
    assert ais_host.arbitrate([], None) == []  # type: ignore[arg-type]
    assert ais_host.next_time(0) is None


def test_snapshots_merge_first_provider_wins() -> None:
    a = FakeMarket({"AAA/USD": synthetic_candles(5, seed=1)}, name="a")
    b = FakeMarket(
        {"AAA/USD": synthetic_candles(5, seed=2), "BBB/USD": synthetic_candles(5, seed=3)}, name="b"
    )
    host = host_with(("data", a), ("data", b))
    t = host.next_time(0)
    assert t is not None
    snap = host.snapshot(("AAA/USD", "BBB/USD"), t)
    assert snap.candles["AAA/USD"] == a.candles["AAA/USD"][0]
    assert snap.candles["BBB/USD"] == b.candles["BBB/USD"][0]


def test_a_snapshots_mappings_are_read_only_and_those_left_out_shared() -> None:
    from ais.domain import NO_DATA, Candle

    snap = MarketSnapshot(5, candles={"AAA/USD": Candle(0, 1.0, 1.0, 1.0, 1.0, 1.0)})
    assert snap.tickers is NO_DATA and snap.books is NO_DATA and snap.funding is NO_DATA
    assert MarketSnapshot(6).candles is NO_DATA and not NO_DATA
    with pytest.raises(TypeError):
        snap.tickers["AAA/USD"] = None  # type: ignore[index]
    assert snap.price("AAA/USD") == 1.0


def test_trace_hooks_logs_calls(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("AIS_TRACE_HOOKS", "1")
    host = host_with(("guards", Guard("traced", Threshold())))
    with caplog.at_level("WARNING", logger="ais.hooks"):
        host.guard_checks(sample_order(), empty_portfolio(), context())
    assert "hook ais_guard_check -> guards.traced" in caplog.text
