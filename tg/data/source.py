"""The one small interface every market-data source implements."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from tg.data.bars import BarSet, Quote
from tg.data.symbols import Symbol

LOTS = 100.0  # 1 lot (手) = 100 shares
WAN = 10_000.0  # 1 万元 = 10,000 yuan


class Source(Protocol):
    """Daily bars for a date range and a realtime quote, normalised to `BarSet` / `Quote`.

    Failures raise `tg.errors.DataError` (or `SourceError`) with one line saying what and why; an
    unknown or empty symbol is `NoData`.
    """

    name: str

    def daily_bars(self, symbol: Symbol, start: date | None, end: date | None, adjustment: str) -> BarSet: ...

    def quote(self, symbol: Symbol) -> Quote: ...
