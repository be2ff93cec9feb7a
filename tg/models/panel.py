"""`Panel`: daily bars of many symbols on one shared calendar, as (symbols × dates) arrays.

The model layer works on whole cross-sections at once, so it reads a Qlib-layout directory
straight into dense arrays rather than one `BarSet` at a time. Prices are back-adjusted (hfq, as
stored), which keeps returns continuous across dividends and splits; `factor` recovers raw prices
(raw = price / factor). Cells before listing or after delisting are NaN.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np

from tg.data.extension import Extension
from tg.data.qlib_layout import instruments_path, read_calendar, read_fields, read_instruments
from tg.data.symbols import parse_symbol
from tg.errors import DataError

FIELDS = ("open", "high", "low", "close", "volume", "factor")


@dataclass(frozen=True)
class Panel:
    """Bars of `symbols` (N, qlib names like `SH600519`) on `dates` (T, datetime64[D])."""

    dates: np.ndarray  # (T,) datetime64[D], the shared trading calendar
    symbols: list[str]  # (N,) qlib names
    open: np.ndarray  # (N, T) float64, back-adjusted yuan
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray  # (N, T) float64, shares (not adjusted)
    factor: np.ndarray  # (N, T) float64, cumulative adjustment factor
    tradable: np.ndarray  # (N, T) bool: a bar with volume > 0 (not suspended, listed)
    benchmark_close: np.ndarray  # (T,) float64 close of the benchmark index (NaN where missing)
    benchmark: str = "SH000300"  # "" when loaded without one

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.symbols), len(self.dates))

    @property
    def amount(self) -> np.ndarray:
        """Estimated traded value in yuan: raw close × volume (the layout has no `amount` field)."""
        return self.close / self.factor * self.volume

    @property
    def held_close(self) -> np.ndarray:
        """Close carried forward over days without a bar (NaN before the first): what a holder owns
        through a suspension, so returns across it are measured, whether the data stores the last
        close on suspended days (as cn_daily does) or NaN (as other Qlib data sets do)."""
        return forward_fill(self.close)

    @property
    def listed(self) -> np.ndarray:
        """(N, T) true while the symbol still has a bar on this date or later (false after delisting)."""
        return np.flip(np.maximum.accumulate(np.flip(self.tradable, axis=1), axis=1), axis=1)

    def rows(self, rows: slice) -> Panel:
        """The symbols `rows` of the panel (views of its arrays), on the same dates with the same benchmark."""
        return replace(
            self, symbols=self.symbols[rows], **{name: getattr(self, name)[rows] for name in (*FIELDS, "tradable")}
        )

    def index_of(self, symbol: str) -> int:
        """Row of `symbol` (any accepted spelling); `DataError` if the panel does not hold it."""
        name = parse_symbol(symbol).qlib
        try:
            return self.symbols.index(name)
        except ValueError:
            raise DataError(f"panel: {symbol} is not among the {len(self.symbols)} loaded symbols") from None

    def fingerprint(self) -> str:
        """sha256 of the dates, symbols and every array: identifies the data a model was trained on."""
        digest = hashlib.sha256()
        digest.update(self.benchmark.encode())
        digest.update("\n".join(self.symbols).encode())
        digest.update(np.ascontiguousarray(self.dates.astype("datetime64[D]").astype(np.int64)).tobytes())
        for name in (*FIELDS, "tradable"):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(getattr(self, name)).tobytes())
        digest.update(np.ascontiguousarray(self.benchmark_close).tobytes())
        return digest.hexdigest()


def forward_fill(x: np.ndarray) -> np.ndarray:
    """Carry the last finite value forward along time (axis 1); NaN before the first one."""
    valid = np.isfinite(x)
    index = np.where(valid, np.arange(x.shape[1])[None, :], 0)
    np.maximum.accumulate(index, axis=1, out=index)
    out = np.take_along_axis(x, index, axis=1)
    out[~np.maximum.accumulate(valid, axis=1)] = np.nan
    return out


def load_panel(
    root: Path,
    symbols: list[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    benchmark: str | None = "SH000300",
    extension: Extension | None = None,
) -> Panel:
    """Read `symbols` (default: every non-index instrument of `instruments/all.txt`) from a Qlib dir.

    `benchmark` is the index whose close becomes `benchmark_close`; None leaves it all NaN.
    `extension`: the newer days `tg data update` stitched onto this directory, read after its own
    (a cell the directory holds is never replaced).
    """
    root = Path(root)
    base_calendar = _calendar(root)
    newer = _newer_days(extension, base_calendar)
    calendar = np.concatenate([base_calendar, newer]) if len(newer) else base_calendar
    if symbols is None:
        names = [n for n in _listed(root) if not parse_symbol(n).is_index]
    else:
        names = [parse_symbol(s).qlib for s in symbols]
        if len(set(names)) != len(names):
            raise DataError(f"panel: duplicate symbols in {symbols}")
    if not names:
        raise DataError(f"panel: no stock instruments in {instruments_path(root)}")
    keep = np.ones(len(calendar), dtype=bool)
    if start is not None:
        keep &= calendar >= np.datetime64(start, "D")
    if end is not None:
        keep &= calendar <= np.datetime64(end, "D")
    if not keep.any():
        raise DataError(f"panel: no trading dates between {start or 'start'} and {end or 'end'} in {root}")

    base = len(base_calendar)
    arrays = {name: np.full((len(names), len(calendar)), np.nan) for name in FIELDS}
    for row, name in enumerate(names):
        for field, values in _read_symbol(root, name, base).items():
            arrays[field][row, :base] = values
        _extend(arrays, row, extension, name, calendar)
    bench_name = parse_symbol(benchmark).qlib if benchmark else ""
    bench = np.full(len(calendar), np.nan)
    if bench_name:
        bench[:base] = _read_symbol(root, bench_name, base, fields=("close",))["close"]
        extended = {"close": bench[None, :]}
        _extend(extended, 0, extension, bench_name, calendar)

    cut = {name: np.ascontiguousarray(values[:, keep]) for name, values in arrays.items()}
    with np.errstate(invalid="ignore"):
        tradable = np.isfinite(cut["close"]) & (cut["volume"] > 0)
    return Panel(
        dates=calendar[keep],
        symbols=names,
        open=cut["open"],
        high=cut["high"],
        low=cut["low"],
        close=cut["close"],
        volume=cut["volume"],
        factor=cut["factor"],
        tradable=tradable,
        benchmark_close=bench[keep],
        benchmark=bench_name,
    )


def _newer_days(extension: Extension | None, base_calendar: np.ndarray) -> np.ndarray:
    if extension is None or not len(base_calendar):
        return base_calendar[:0]
    days = extension.calendar()
    return days[days > base_calendar[-1]]


def _extend(
    arrays: dict[str, np.ndarray], row: int, extension: Extension | None, name: str, calendar: np.ndarray
) -> None:
    """Fill the cells of `row` the base does not hold with the extension's bars of `name`."""
    if extension is None:
        return
    bars = extension.load(parse_symbol(name))
    if bars is None or not len(bars):
        return
    positions = np.searchsorted(calendar, bars.dates)
    inside = positions < len(calendar)
    inside[inside] &= calendar[positions[inside]] == bars.dates[inside]
    factor = bars.factor if bars.factor is not None else np.ones(len(bars))
    for field, values in arrays.items():
        source = factor if field == "factor" else getattr(bars, field)
        target = values[row]
        cells = positions[inside]
        empty = np.isnan(target[cells])
        target[cells[empty]] = source[inside][empty]


def _calendar(root: Path) -> np.ndarray:
    return read_calendar(root, "panel")


def _listed(root: Path) -> list[str]:
    return sorted(read_instruments(root, "all", "panel"))


def _read_symbol(root: Path, name: str, length: int, fields: tuple[str, ...] = FIELDS) -> dict[str, np.ndarray]:
    """One symbol's fields placed on the full calendar (NaN outside its stored span)."""
    out = {}
    for field, (first, values) in read_fields(root, name, fields, length, "panel").items():
        full = np.full(length, np.nan)
        full[first : first + values.size] = values
        out[field] = full
    return out
