"""WeightedArbitration: the best-scoring signal per symbol, pair legs all or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import Field

from ais import Plugin, PluginConfig, hookimpl
from ais.context import ArbitrationContext
from ais.domain import Direction, Signal
from ais_arbitration_weighted.scoring import Regime, regime_multiplier, score

Multiplier = Annotated[float, Field(ge=0)]


class WeightedArbitrationConfig(PluginConfig):
    min_confidence: float = Field(
        0.0, ge=0, le=1, description="signals with a confidence below this are dropped before scoring"
    )
    regime_weights: dict[str, dict[Regime, Multiplier]] = Field(
        default_factory=dict,
        description="agent instance name -> regime -> score multiplier (≥ 0; default 1.0), applied with "
        "the regime a detector published for the signal's symbol",
    )


class _Group:
    """The legs of one group seen this cycle: their indices, the sum of their scores, whether every
    leg is eligible (confidence ≥ min_confidence and score > 0) and whether every leg is FLAT."""

    __slots__ = ("eligible", "flat", "legs", "total")

    def __init__(self) -> None:
        self.legs: list[int] = []
        self.total = 0.0
        self.eligible = True
        self.flat = 1  # 1 while every leg is FLAT (ranks like a FLAT single), 0 once a leg is directional


class WeightedArbitration(Plugin[WeightedArbitrationConfig]):
    """Scores each signal ``weight × regime × confidence × expected_return × liquidity`` (FLAT:
    without the expected return; see ``scoring.score``), with ``weight = context.weights[agent]``
    (default 1.0) and ``regime = regime_weights[agent][shared.get("regime", symbol)]`` (default 1.0).

    Selection, per cycle:

    1. signals with ``confidence < min_confidence`` are dropped; so are signals scoring ≤ 0 (a
       negative expected return, a zero weight or a regime multiplier of 0: not worth acting on);
    2. single signals (``group is None``): per symbol, a LONG/SHORT signal beats any FLAT one (their
       scores are in different units: a FLAT score has no expected return in it), then the highest
       score wins; equal scores go to the agent name first in alphabetical order, then to the
       earlier signal;
    3. groups (same agent, same non-None ``group``: pair legs) score the mean of their legs. A group
       is eligible only if every leg is. Eligible groups are taken best first (ties: agent, group name);
       one wins, all legs together, if none of its symbols is already taken by a better group and on
       each of its symbols it ranks strictly above the best single signal (a group with a
       LONG/SHORT leg ranks as directional, then by score); otherwise none of
       its legs is selected. Single signals then win the symbols no group took.

    Returns the selected ``Signal`` objects themselves, in their input order: at most one winner
    per symbol.
    """

    Config = WeightedArbitrationConfig

    def __init__(self, name: str, config: WeightedArbitrationConfig) -> None:
        super().__init__(name, config)
        # Plain dicts and floats: no pydantic on the per-cycle path.
        self._min_confidence = float(config.min_confidence)
        self._regime_weights: dict[str, dict[str, float]] = {
            agent: {str(regime): float(m) for regime, m in table.items()}
            for agent, table in config.regime_weights.items()
        }

    @hookimpl
    def ais_arbitrate(self, signals: Sequence[Signal], context: ArbitrationContext) -> list[Signal]:
        weights = context.weights
        shared = context.shared
        table = self._regime_weights
        min_confidence = self._min_confidence
        if len(signals) == 1 and signals[0].group is None:  # the usual cycle with a signal: no contest
            only = signals[0]
            if only.confidence < min_confidence:
                return []
            multiplier = regime_multiplier(table, only.agent, shared.get("regime", only.symbol))
            return [only] if score(only, weights.get(only.agent, 1.0), multiplier) > 0.0 else []
        return self._contest(signals, context)

    def _contest(self, signals: Sequence[Signal], context: ArbitrationContext) -> list[Signal]:
        """Several signals, or a group: the best per symbol, groups all or nothing. Out of
        ``ais_arbitrate``: its comprehensions' closure would cost the usual single signal a cell."""
        weights = context.weights
        shared = context.shared
        table = self._regime_weights
        min_confidence = self._min_confidence
        # symbol -> (is FLAT, −score, agent, index): the smallest key is the best single signal.
        best: dict[str, tuple[int, float, str, int]] = {}
        groups: dict[tuple[str, str], _Group] = {}
        for i, signal in enumerate(signals):
            group = None
            if signal.group is not None:
                group = groups.get((signal.agent, signal.group))
                if group is None:
                    group = groups[(signal.agent, signal.group)] = _Group()
                group.legs.append(i)
            if signal.confidence < min_confidence:
                if group is not None:
                    group.eligible = False
                continue
            multiplier = regime_multiplier(table, signal.agent, shared.get("regime", signal.symbol))
            s = score(signal, weights.get(signal.agent, 1.0), multiplier)
            if not s > 0.0:  # also catches NaN
                if group is not None:
                    group.eligible = False
                continue
            flat = 1 if signal.direction is Direction.FLAT else 0
            if group is not None:
                group.total += s
                group.flat &= flat
                continue
            key = (flat, -s, signal.agent, i)
            current = best.get(signal.symbol)
            if current is None or key < current:
                best[signal.symbol] = key

        selected: list[int] = []
        taken: set[str] = set()
        if groups:
            # Best mean first; equal means by agent, then group name (never by input order).
            ranked = sorted(
                (
                    (g.flat, -g.total / len(g.legs), agent, label, g)
                    for (agent, label), g in groups.items()
                    if g.eligible
                ),
                key=lambda item: item[:4],
            )
            for flat, neg_mean, _, _, g in ranked:
                symbols = {signals[i].symbol for i in g.legs}
                if taken & symbols:
                    continue
                # The group must outrank the best single on every symbol.
                if all((flat, neg_mean) < best[sym][:2] for sym in symbols if sym in best):
                    taken |= symbols
                    selected.extend(g.legs)
        for symbol, (_, _, _, i) in best.items():
            if symbol not in taken:
                selected.append(i)
        selected.sort()
        return [signals[i] for i in selected]
