"""Arbitration (entry-point group ``ais.arbitration``): exactly one is active per run."""

from __future__ import annotations

from collections.abc import Sequence

from ais.context import ArbitrationContext
from ais.domain.signals import Signal
from ais.markers import hookspec


@hookspec(firstresult=True)
def ais_arbitrate(signals: Sequence[Signal], context: ArbitrationContext) -> Sequence[Signal] | None:
    """Select, among the cycle's competing ``signals``, the ones to act on.

    Semantics: first result (the config admits exactly one arbitration instance). Returning ``None``
    or an empty sequence selects nothing. Not called on cycles without signals.
    May: score with ``context.weights`` (agent instance → configured weight) and ``context.shared``
    (e.g. the published regime), drop signals below a threshold, keep both legs of a ``group``.
    May not: invent signals or change their fields.

    Example::

        @hookimpl
        def ais_arbitrate(self, signals, context):
            best = {}
            for s in signals:
                score = context.weights.get(s.agent, 1.0) * s.confidence
                if score > best.get(s.symbol, (0, None))[0]:
                    best[s.symbol] = (score, s)
            return [s for _, s in best.values()]

    .. versionadded:: 1.0
    """
