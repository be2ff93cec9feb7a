"""`BarSet`: daily bars of one symbol from one source, whatever the source.

Units are normalised: prices in yuan, `volume` in shares, `amount` in yuan (NaN when the source
does not give it). Every bar set records its source, its adjustment (`none`, `qfq`, `hfq`) and
when it was fetched.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from tg.data.exchange_calendar import CHINA, ExchangeCalendar
from tg.data.symbols import Symbol

ADJUSTMENTS = ("none", "qfq", "hfq")
FIELDS = ("open", "high", "low", "close", "volume", "amount")


@dataclass(frozen=True)
class BarSet:
    symbol: Symbol
    source: str
    adjustment: str
    dates: np.ndarray  # datetime64[D], strictly increasing
    open: np.ndarray  # float64, yuan
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray  # float64, shares
    amount: np.ndarray  # float64, yuan (NaN = not provided)
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Qlib-layout sources: cumulative adjustment factor (raw price = price / factor); else None
    factor: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.adjustment not in ADJUSTMENTS:
            raise ValueError(f"adjustment must be one of {ADJUSTMENTS}, got {self.adjustment!r}")
        n = len(self.dates)
        for name in FIELDS:
            if len(getattr(self, name)) != n:
                raise ValueError(f"BarSet {self.symbol}: field {name} has {len(getattr(self, name))} values, dates {n}")

    def __len__(self) -> int:
        return len(self.dates)

    @property
    def first_date(self) -> date | None:
        return self.dates[0].astype(object) if len(self) else None

    @property
    def last_date(self) -> date | None:
        return self.dates[-1].astype(object) if len(self) else None

    def select(self, mask: np.ndarray) -> BarSet:
        """The bars where `mask` is true (a boolean array or an index slice)."""
        extra = {"factor": self.factor[mask]} if self.factor is not None else {}
        return replace(self, dates=self.dates[mask], **{f: getattr(self, f)[mask] for f in FIELDS}, **extra)

    def between(self, start: date | None, end: date | None) -> BarSet:
        mask = np.ones(len(self), dtype=bool)
        if start is not None:
            mask &= self.dates >= np.datetime64(start, "D")
        if end is not None:
            mask &= self.dates <= np.datetime64(end, "D")
        return self.select(mask)

    def tail(self, n: int) -> BarSet:
        return self.select(slice(max(len(self) - n, 0), None))  # type: ignore[arg-type]

    def records(self) -> list[dict[str, Any]]:
        """Bars as JSON-friendly dicts (date as ISO string, NaN amount as None)."""
        rows = []
        for i in range(len(self)):
            row: dict[str, Any] = {"date": str(self.dates[i])}
            for name in FIELDS:
                value = float(getattr(self, name)[i])
                row[name] = None if np.isnan(value) else round(value, 4)
            rows.append(row)
        return rows

    @classmethod
    def from_rows(cls, symbol: Symbol, source: str, adjustment: str, rows: list[tuple[Any, ...]]) -> BarSet:
        """Build from `(date, open, high, low, close, volume_shares, amount_yuan)` rows in any order."""
        rows = sorted(rows, key=lambda r: str(r[0]))
        dates = np.array([np.datetime64(str(r[0])[:10], "D") for r in rows], dtype="datetime64[D]")
        o, h, lo, c, v, a = (np.array([float(r[i]) for r in rows], dtype=np.float64) for i in range(1, 7))
        return cls(symbol, source, adjustment, dates, o, h, lo, c, v, a)


@dataclass(frozen=True)
class Quote:
    """A realtime quote, normalised like `BarSet` (volume in shares, amount in yuan)."""

    symbol: Symbol
    source: str
    name: str
    price: float
    prev_close: float
    open: float
    high: float
    low: float
    volume: float
    amount: float
    time: datetime | None
    status: str = "trading"  # trading | suspended | delisted | stale
    sessions_behind: int = 0  # exchange sessions closed since `time` (the quote is `stale` when > 0)

    def aged(self, calendar: ExchangeCalendar, now: datetime) -> Quote:
        """This quote marked `stale` when the exchange has closed sessions since it was taken (the local store's
        last bar served months later is not a `trading` price)."""
        if self.time is None:
            return self
        behind = calendar.sessions_between(self.time.astimezone(CHINA).date(), calendar.last_closed_session(now))
        if behind == 0:
            return self
        return replace(self, status="stale", sessions_behind=behind)

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["symbol"] = self.symbol.canonical
        data["time"] = self.time.isoformat() if self.time else None
        return data
