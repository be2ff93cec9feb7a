"""The one small interface every market-data source implements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

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


@dataclass
class SourceContext:
    """What a source's `configured(context, **node)` may use besides its config node: the project root (for
    relative paths), the network config, and the HTTP client the remote sources share, made on first use (a chain
    of local sources never builds one, and auto mode probes the network only when a source asks)."""

    project_root: Path
    network: Any  # tg.config.schema.NetworkConfig
    make_client: Callable[[], Any]
    made: Any = field(default=None, repr=False)  # the shared client once made (or given), else None

    def client(self) -> Any:
        if self.made is None:
            self.made = self.make_client()
        return self.made
