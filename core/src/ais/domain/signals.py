"""Signals: what an agent thinks a symbol will do."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class Direction(StrEnum):
    LONG = "long"
    SHORT = "short"
    FLAT = "flat"


class Signal(NamedTuple):
    """An agent's view of one symbol.

    - ``confidence`` in [0, 1]; ``expected_return`` a fraction over ``horizon_s`` seconds;
    - ``liquidity`` in [0, 1], derived from the symbol's volume/spread/book (1 = deep);
    - ``group`` ties legs that must be treated together (pairs trading); ``None`` for a single leg.
      Legs of one group are selected, sized and sent all or nothing;
    - ``leg_weight`` in (0, 1]: the share of the target notional this signal takes. For the legs of a
      group, each leg's share (a pair with hedge ratio β splits it by notional, e.g. 1/(1+r) and
      r/(1+r)); for a single signal, a fraction of the full target (the grid agent scales its position
      by inventory level this way, leaving confidence to mean confidence); 1.0 by default.
    ``agent`` is the agent *instance* name from ais.toml; core sets it if the plugin leaves it empty.
    """

    symbol: str
    direction: Direction
    confidence: float
    expected_return: float
    horizon_s: int
    liquidity: float
    rationale: str
    ts: int
    agent: str = ""
    group: str | None = None
    leg_weight: float = 1.0

    def validate(self) -> None:
        """Raise ``ValueError`` if a field is out of range (core calls this on every plugin signal)."""
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"signal confidence must be in [0, 1] (got {self.confidence})")
        if not 0.0 <= self.liquidity <= 1.0:
            raise ValueError(f"signal liquidity must be in [0, 1] (got {self.liquidity})")
        if not 0.0 < self.leg_weight <= 1.0:
            raise ValueError(f"signal leg_weight must be in (0, 1] (got {self.leg_weight})")
        if self.horizon_s <= 0:
            raise ValueError(f"signal horizon_s must be > 0 (got {self.horizon_s})")
        if not isinstance(self.direction, Direction):
            raise ValueError(f"signal direction must be a Direction (got {self.direction!r})")
