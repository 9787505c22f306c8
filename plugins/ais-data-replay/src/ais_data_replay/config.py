"""The replay provider's keys in ais.toml, validated once at start-up."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Self

from pydantic import Field, field_validator, model_validator

from ais import PluginConfig

#: Units a bar length may be written in (``"5m"``, ``"1h"``), in milliseconds.
BAR_UNITS_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}

NonEmpty = Annotated[str, Field(min_length=1)]


def parse_bar(text: str) -> int:
    """A bar length such as ``"5m"`` in milliseconds (``5 × 60,000``); ``ValueError`` if malformed."""
    number, unit = text[:-1], text[-1:]
    if unit not in BAR_UNITS_MS or not number.isdigit() or int(number) <= 0:
        raise ValueError('must be a whole number followed by s, m, h, d or w, such as "5m" or "1h"')
    return int(number) * BAR_UNITS_MS[unit]


def to_utc(value: Any) -> Any:
    """An ISO date or date-time (string, TOML date or datetime) as an aware UTC ``datetime``.

    A date means midnight UTC of that day; a date-time without an offset is read as UTC.
    Anything else is returned unchanged for pydantic to reject.
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                'must be an ISO date or date-time such as "2018-01-15" or "2018-01-15T12:00:00Z"'
            ) from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


class ReplayConfig(PluginConfig):
    """``[data.<instance>]`` with ``plugin = "replay"``: which recorded market to replay, and how."""

    files: dict[str, NonEmpty] = Field(
        default_factory=dict,
        description="symbol -> path of a CSV or Parquet file of candles (timestamp,open,high,low,close,"
        "volume; timestamp = bar open time in ms UTC). Relative paths resolve against the current "
        "directory. Set this or `bundled`.",
    )
    bundled: NonEmpty | None = Field(
        default=None,
        description='name of a sample market shipped with the plugin ("binance-5m-2018-01" or '
        '"binance-futures-2021-11"). Set this or `files`.',
    )
    symbols: list[NonEmpty] | None = Field(
        default=None,
        description="serve only these symbols (of the bundled market or of `files`); default: all",
    )
    funding: dict[str, NonEmpty] = Field(
        default_factory=dict,
        description="symbol -> path of a funding-rate CSV (timestamp,funding_rate; rate as a fraction "
        "per funding interval). Added to (and overriding) a bundled market's funding files.",
    )
    start: datetime | None = Field(
        default=None,
        description="replay only bars that open at or after this UTC date or date-time",
    )
    end: datetime | None = Field(
        default=None,
        description="replay only bars that close at or before this UTC date or date-time",
    )
    bar: NonEmpty | None = Field(
        default=None,
        description='bar length, such as "5m", "1m" or "1h"; default: the most common spacing of the '
        "timestamps (it must match the data when given)",
    )
    cache: bool = Field(
        default=True,
        description="keep the parsed columns of each file in a binary cache ($AIS_CACHE_DIR/replay, else "
        "~/.cache/ais/replay), keyed by the file's path, size and modification time: the next run (each "
        "backtest of a sweep) loads them at once; false: parse every time",
    )

    @field_validator("start", "end", mode="before")
    @classmethod
    def _utc(cls, value: Any) -> Any:
        return to_utc(value)

    @field_validator("bar")
    @classmethod
    def _bar(cls, value: str | None) -> str | None:
        if value is not None:
            parse_bar(value)
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if bool(self.files) == (self.bundled is not None):
            got = "both" if self.files else "neither"
            raise ValueError(f"set exactly one of `files` or `bundled` (got {got})")
        if self.start is not None and self.end is not None and self.start >= self.end:
            start, end = self.start.isoformat(), self.end.isoformat()
            raise ValueError(f"`start` must be before `end` (got start {start}, end {end})")
        return self

    @property
    def bar_ms(self) -> int | None:
        """The configured bar length in milliseconds, or ``None`` to infer it from the data."""
        return parse_bar(self.bar) if self.bar is not None else None
