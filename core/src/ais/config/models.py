"""The core sections of ais.toml, as pydantic models. Plugin instance tables are validated by the
config model each plugin declares (see ``ais.config.loader``)."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

Mode = Literal["backtest", "paper", "shadow", "live"]

#: The plugin kinds, in the order of the cycle; each is a table of instances in ais.toml.
INSTANCE_SECTIONS = ("data", "agents", "arbitration", "guards", "exchanges", "integrations")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AisSection(Section):
    """``[ais]``: what runs and on what."""

    mode: Mode = Field("paper", description="backtest, paper, shadow or live")
    cycle_interval: float = Field(60.0, gt=0, description="seconds between cycles on the wall clock")
    symbols: list[str] = Field(min_length=1, description="symbols traded, e.g. ['ETH/BTC']")
    timezone: str = Field("UTC", description="IANA timezone for calendar days (daily loss)")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r} (use an IANA name such as 'UTC')") from None
        return value


class StoreSection(Section):
    """``[store]``: the append-only event store."""

    path: str = Field("ais-events.sqlite", description="SQLite file of the event store")
    batch_size: int = Field(
        1000,
        gt=0,
        description="events per group commit in backtests; outside backtests each order intent is committed "
        "before the order is sent",
    )


class RiskSection(Section):
    """``[risk]``: the risk engine. Keys come from AIS_RISK_HMAC_* environment variables, never here."""

    token_ttl: int = Field(300, gt=0, description="seconds a risk token stays valid")


class PortfolioSection(Section):
    """``[portfolio]``: money and sizing."""

    initial_cash: float = Field(10_000.0, gt=0, description="starting cash in the quote currency")
    quote_currency: str = Field("USDT", min_length=1, description="currency NAV is counted in")
    target_weight: float = Field(
        0.1, gt=0, le=1, description="fraction of NAV a full-confidence signal targets"
    )
    max_weight: float = Field(0.25, gt=0, le=1, description="cap on one position's weight of NAV")


ParamValue = int | float | str | bool


class ResearchSection(Section):
    """``[research]``: what ``ais sweep`` and ``ais walk-forward`` search, and how results are ranked."""

    params: dict[str, list[ParamValue]] = Field(
        default_factory=dict,
        description="dotted instance key -> values to try, e.g. \"agents.momentum.fast\" = [8, 12, 16]",
    )
    search: Literal["grid", "random"] = Field("grid", description="every combination, or `samples` drawn")
    samples: int = Field(20, gt=0, description="parameter sets drawn by the random search")
    seed: int = Field(0, description="seed of the random search")
    metric: str = Field(
        "sharpe",
        description="metric that ranks results, best first (docs/backtesting.md#metrics); lower is better "
        "for max_drawdown, max_drawdown_duration_days, volatility and fees, higher for the others",
    )
    train_days: float = Field(7.0, gt=0, description="walk-forward: days in each training window")
    test_days: float = Field(3.0, gt=0, description="walk-forward: days in each out-of-sample window")

    @field_validator("params")
    @classmethod
    def _instance_keys(cls, value: dict[str, list[ParamValue]]) -> dict[str, list[ParamValue]]:
        for key, values in value.items():
            parts = key.split(".")
            if len(parts) != 3 or parts[0] not in INSTANCE_SECTIONS or not all(parts):
                raise ValueError(
                    f"{key!r}: a parameter is named <kind>.<instance>.<key>, e.g. 'agents.momentum.fast'"
                )
            if parts[2] in ("plugin", "enabled"):
                raise ValueError(f"{key!r}: `{parts[2]}` cannot be searched")
            if not values:
                raise ValueError(f"{key!r}: give at least one value")
        return value


class RoutingSection(Section):
    """``[routing]``: which exchange instance trades which symbol."""

    default: str | None = Field(None, description="exchange instance for symbols not listed")
    symbols: dict[str, str] = Field(default_factory=dict, description="symbol -> exchange instance")


class InstanceCommon(Section):
    """Keys core reads in every ``[<kind>.<instance>]`` table; the rest belong to the plugin."""

    plugin: str = Field(description="entry-point name of the plugin (defaults to the instance name)")
    enabled: bool = Field(True, description="false keeps the table but loads nothing")


class AgentCommon(InstanceCommon):
    weight: float = Field(1.0, ge=0, description="the agent's weight in arbitration")


COMMON_KEYS: dict[str, type[InstanceCommon]] = {
    kind: (AgentCommon if kind == "agents" else InstanceCommon) for kind in INSTANCE_SECTIONS
}

CORE_SECTIONS: dict[str, type[Section]] = {
    "ais": AisSection,
    "store": StoreSection,
    "risk": RiskSection,
    "portfolio": PortfolioSection,
    "routing": RoutingSection,
    "research": ResearchSection,
}
