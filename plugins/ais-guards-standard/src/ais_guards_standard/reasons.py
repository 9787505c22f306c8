"""The stable reason codes of the standard guards (UPPER_SNAKE; documented in
docs/plugins/guards-standard.md). Changing one is a breaking change for anyone filtering on it."""

from __future__ import annotations

from typing import Final

MAX_DRAWDOWN: Final = "MAX_DRAWDOWN"
DAILY_LOSS: Final = "DAILY_LOSS"
MAX_LEVERAGE: Final = "MAX_LEVERAGE"
GROSS_EXPOSURE: Final = "GROSS_EXPOSURE"
NET_EXPOSURE: Final = "NET_EXPOSURE"
MAX_POSITION_WEIGHT: Final = "MAX_POSITION_WEIGHT"
MIN_LIQUIDITY: Final = "MIN_LIQUIDITY"
NO_MARKET_DATA: Final = "NO_MARKET_DATA"
MAX_ORDER_NOTIONAL: Final = "MAX_ORDER_NOTIONAL"
ORDER_RATE: Final = "ORDER_RATE"
