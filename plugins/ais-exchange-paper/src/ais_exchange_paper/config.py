"""The paper venue's keys in ``ais.toml`` (``[exchanges.<instance>]`` with ``plugin = "paper"``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from ais.plugins.base import PluginConfig

#: "BASE/QUOTE": two non-empty asset codes without spaces or a second slash.
SYMBOL_PATTERN = r"^[^/\s]+/[^/\s]+$"

Symbol = Annotated[str, StringConstraints(pattern=SYMBOL_PATTERN)]
Asset = Annotated[str, StringConstraints(min_length=1, pattern=r"^[^/\s]+$")]
Amount = Annotated[float, Field(allow_inf_nan=False)]


class MarketOverride(PluginConfig):
    """Trading rules of one symbol; a key left out takes the venue-wide value."""

    lot_size: float | None = Field(
        None, gt=0, description="quantity step in base units (unset: the venue-wide lot_size)"
    )
    min_notional: float | None = Field(
        None, ge=0, description="smallest order value, price × quantity, in quote units (unset: venue-wide)"
    )
    tick_size: float | None = Field(
        None, gt=0, description="limit price step in quote units (unset: the venue-wide tick_size)"
    )


class PaperConfig(PluginConfig):
    """Fill model parameters, starting balances, market rules and the optional durable state file."""

    balances: dict[Asset, Amount] = Field(
        default_factory=dict,
        description="starting balance per asset, e.g. { BTC = 1.0 }; ignored when `state` already holds some",
    )
    fee_bps: float = Field(
        10.0, ge=0, le=10_000, description="fee per fill, basis points of the fill notional, in quote units"
    )
    slippage_bps: float = Field(
        5.0, ge=0, lt=10_000, description="market fills at open × (1 ± slippage_bps / 1e4); limits never slip"
    )
    max_volume_share: float = Field(
        0.1, gt=0, le=1, description="largest fraction of a bar's volume one order may fill in that bar"
    )
    allow_short: bool = Field(
        True, description="allow negative base balances; false rejects sells larger than the free base"
    )
    lot_size: float = Field(
        1e-8, gt=0, description="quantity step in base units; order quantities must be multiples of it"
    )
    min_notional: float = Field(
        0.0, ge=0, description="smallest order value, price × quantity, in quote units"
    )
    tick_size: float = Field(
        1e-8, gt=0, description="limit price step in quote units; limit prices must be multiples of it"
    )
    markets: dict[Symbol, MarketOverride] = Field(
        default_factory=dict, description="per-symbol rules: symbol → { lot_size, min_notional, tick_size }"
    )
    state: str | None = Field(
        None,
        min_length=1,
        description="SQLite file keeping orders, fills and balances across restarts; unset = memory only",
    )
