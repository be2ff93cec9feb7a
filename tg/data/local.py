"""The `local` source: any Qlib-layout directory (the embedded subset by default).

Layout: `calendars/day.txt`, `instruments/all.txt`, `features/<sh600519>/<field>.day.bin`
(little-endian float32; element 0 = index of the first date in the calendar). Prices in the files
are back-adjusted (raw = value / factor); adjustment `none` divides by the factor, `hfq` returns
the stored values, `qfq` rescales so the latest bar equals the raw price.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import cached_property
from pathlib import Path

import numpy as np

from tg.data.bars import BarSet, Quote
from tg.data.freshness import embedded_root
from tg.data.qlib_layout import feature_dir, read_calendar, read_field, read_instruments
from tg.data.source import SourceContext
from tg.data.symbols import Symbol
from tg.errors import DataError, NoData

PRICE_FIELDS = ("open", "high", "low", "close")


class LocalSource:
    name = "local"

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root else embedded_root()

    @classmethod
    def configured(cls, context: SourceContext, root: str = "") -> LocalSource:
        """Built from `conf/source/parts/local.yaml`: `root` relative to the project root; empty = embedded."""
        path = Path(root) if root else None
        return cls(None if path is None else path if path.is_absolute() else context.project_root / path)

    @cached_property
    def calendar(self) -> np.ndarray:
        return read_calendar(self.root, "local")

    def instruments(self, universe: str = "all") -> list[Symbol]:
        """Symbols listed in `instruments/<universe>.txt`."""
        return sorted(Symbol(n[2:], n[:2]) for n in read_instruments(self.root, universe, "local"))

    def _field(self, directory: Path, name: str) -> tuple[int, np.ndarray]:
        return read_field(directory, name, "local")

    def daily_bars(self, symbol: Symbol, start: date | None, end: date | None, adjustment: str) -> BarSet:
        directory = feature_dir(self.root, symbol.qlib)
        if directory is None:
            raise NoData(self.name, f"no data for {symbol} in {self.root}")
        try:
            first, close = self._field(directory, "close")
            fields = {"close": close}
            for name in ("open", "high", "low", "volume", "factor"):
                offset, values = self._field(directory, name)
                if offset != first or len(values) != len(close):
                    raise DataError(f"local: {symbol} field {name} is misaligned with close")
                fields[name] = values
        except OSError as exc:
            raise DataError(f"local: cannot read {symbol}: {exc.strerror or exc}") from exc
        dates = self.calendar[first : first + len(close)]
        if len(dates) != len(close):
            raise DataError(f"local: {symbol} has more values than the calendar has days")
        keep = ~np.isnan(fields["close"])
        factor = fields["factor"]
        if adjustment == "none":
            scale = 1.0 / factor
        elif adjustment == "qfq":
            scale = 1.0 / factor[keep][-1] if keep.any() else np.ones_like(factor)
        else:
            scale = np.ones_like(factor)
        prices = {name: fields[name] * scale for name in PRICE_FIELDS}
        if adjustment == "none":  # float32 storage: raw prices are whole cents
            prices = {name: np.round(values, 2) for name, values in prices.items()}
        bars = BarSet(
            symbol,
            self.name,
            adjustment,
            dates,
            prices["open"],
            prices["high"],
            prices["low"],
            prices["close"],
            fields["volume"],
            np.full(len(dates), np.nan),
            factor=factor,
        )
        bars = bars.select(keep).between(start, end)
        if len(bars) == 0:
            raise NoData(self.name, f"no bars for {symbol} between {start or 'start'} and {end or 'end'}")
        return bars

    def quote(self, symbol: Symbol) -> Quote:
        """The last stored bar as a quote (the local store has no intraday data)."""
        bars = self.daily_bars(symbol, None, None, "none").tail(2)
        last = -1
        prev = float(bars.close[-2]) if len(bars) > 1 else float(bars.close[last])
        day = bars.dates[last].astype(object)
        status = "suspended" if bars.volume[last] == 0 else "trading"
        return Quote(
            symbol,
            self.name,
            symbol.qlib,
            float(bars.close[last]),
            prev,
            float(bars.open[last]),
            float(bars.high[last]),
            float(bars.low[last]),
            float(bars.volume[last]),
            float("nan"),
            datetime.combine(day, time(7, 0), tzinfo=UTC),
            status,
        )
