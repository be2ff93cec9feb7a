"""`BarStore`: fetched daily bars persisted on disk in the Qlib layout, merged save by save.

    calendars/day.txt                  one ISO date per line: the sorted union of every stored date
    instruments/all.txt                SH600519<TAB>first<TAB>last
    features/sh600519/close.day.bin    little-endian float32: [calendar index of the first day, value per day…]
    features/sh600519/meta.json        source, adjustment, fetched_at, first/last date, bar count, checksums

Open, high, low, close, volume, amount and factor (1.0 where the fetch had none) get one bin each;
unadjusted prices are rounded back to 3 decimals on load (quotes have at most 3);
calendar days on which a symbol has no bar are NaN and are dropped on load. Values are float32, as
in Qlib: prices keep ~7 significant digits, and volumes above 16.7 million shares lose their last units.

Crash safety. Every file is replaced atomically, but a save touches many files, so the store also
keeps enough to read back a consistent state whatever file the kill lands on:

- `meta.json` records, per bin, the CRC32 of its bytes and the calendar prefix (length + CRC32)
  it was aligned to. A bin is read only against a calendar whose prefix matches; when dates are
  only appended, the prefix stays the same, so the other symbols' bins remain valid untouched.
- A symbol is written as: `meta.next.json` (the meta of the files about to be written), the bins,
  `meta.json`, then `meta.next.json` is removed. Each bin matches either the old or the new meta.
- When the calendar changes, the new one goes first to `calendars/.day.next.txt`; then bins; the
  real calendar and instrument list are written last, so `day.txt` never points past the data.

After a kill, `load` returns the last committed range of each symbol (the data before the save, or
all of it when the kill came after the symbol's `meta.json`), and the next `save` re-aligns
whatever was left half-written.
"""

from __future__ import annotations

import json
import logging
import time
import zlib
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tg.data.bars import FIELDS, BarSet
from tg.data.qlib_layout import CALENDAR, FEATURES, PENDING_CALENDAR, field_path, instruments_path
from tg.data.symbols import Symbol
from tg.errors import DataError
from tg.ops.atomic import atomic_write_bytes

log = logging.getLogger(__name__)

STORE_FIELDS = (*FIELDS, "factor")
META = "meta.json"
NEXT_META = "meta.next.json"
META_FORMAT = "tg-bar-store"
META_VERSION = 1
_BIN = np.dtype("<f4")
_NO_DATES = np.array([], dtype="datetime64[D]")


class BarStore:
    """Daily bars of many symbols under `root`, in files Qlib (or a plain numpy reader) can read."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._calendar_path = self.root / CALENDAR
        self._pending_path = self.root / PENDING_CALENDAR
        self._instruments_path = instruments_path(self.root)
        self._features = self.root / FEATURES

    def save(self, bars: BarSet) -> None:
        """Merge `bars` into the store: new days are added, days already stored are replaced by `bars`.

        A different adjustment from the stored one replaces the symbol's whole series. Bars with a
        NaN close cannot be told from "no bar" in the Qlib format and are not stored.
        """
        bars = bars.select(~np.isnan(bars.close))
        if not len(bars):
            return
        if len(bars) > 1 and not np.all(np.diff(bars.dates.astype(np.int64)) > 0):
            raise DataError(f"bar store: {bars.symbol} bars from {bars.source} are not in strictly increasing order")
        current, pending = self._calendars()
        name = _dir_name(bars.symbol)
        self._clear_leftovers(name)
        try:
            stored = self._read(name, current, pending)
        except DataError as exc:
            log.warning("bar store: %s; replacing it with the new fetch", exc)
            stored = None
        merged = merge_bars(stored, bars)
        calendar = _Calendar(np.union1d(np.union1d(current.dates, pending.dates), merged.dates))
        calendar_changed = not np.array_equal(calendar.dates, current.dates)
        if calendar_changed:
            atomic_write_bytes(_ensure_parent(self._pending_path), calendar.text)
        # A bin stays valid while the calendar prefix it was aligned to is unchanged: dates appended
        # at the end leave it alone, a date inserted earlier shifts it. Shifted symbols are rewritten
        # whole, which reads and writes every affected bin — fine for the store sizes tg keeps.
        # days only appended after the stored calendar leave every other bin valid: no need to look
        # at them (an update of a whole universe would otherwise read every symbol per save)
        appended = len(calendar.dates) >= len(current.dates) and np.array_equal(
            calendar.dates[: len(current.dates)], current.dates
        )
        others = [] if appended and not len(pending.dates) else self._symbol_names()
        for other in others:
            if other != name and self._needs_realign(other, calendar):
                try:
                    other_bars = self._read(other, current, pending)
                except DataError as exc:
                    log.warning("bar store: %s; leaving it as it is", exc)
                    continue
                if other_bars is not None:
                    self._write_symbol(other_bars, calendar)
        self._write_symbol(merged, calendar)
        if calendar_changed:
            atomic_write_bytes(self._calendar_path, calendar.text)
        atomic_write_bytes(_ensure_parent(self._instruments_path), self._instruments_text())
        self._pending_path.unlink(missing_ok=True)

    def leftovers(self) -> list[Path]:
        """Temp files of writes that were killed before their rename (`.<name>.<random>.tmp`)."""
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.rglob(".*.tmp") if p.is_file())

    def _clear_leftovers(self, name: str) -> None:
        """Remove what killed writes left where this save writes (older than a minute: not a live writer's)."""
        cutoff = time.time() - 60
        for directory in (self._features / name, self._calendar_path.parent, self._instruments_path.parent):
            for path in directory.glob(".*.tmp") if directory.is_dir() else ():
                try:
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                except OSError:
                    continue  # gone already, or not ours to remove: doctor keeps reporting it

    def load(self, symbol: Symbol, start: date | None = None, end: date | None = None) -> BarSet | None:
        """The stored bars of `symbol` between `start` and `end` (inclusive); None when none are stored."""
        current, pending = self._calendars()
        bars = self._read(_dir_name(symbol), current, pending)
        return None if bars is None else bars.between(start, end)

    def last_date(self, symbol: Symbol) -> date | None:
        """The last stored day of `symbol`, or None."""
        bars = self.load(symbol)
        return None if bars is None else bars.last_date

    def missing_range(self, symbol: Symbol, start: date, end: date) -> tuple[date, date] | None:
        """What still needs fetching for `start..end`: the days after the last stored one, or all of it."""
        if start > end:
            return None
        last = self.last_date(symbol)
        if last is None:
            return start, end
        if last >= end:
            return None
        # Days before the first stored bar are not asked for: they are usually before the listing.
        return max(start, date.fromordinal(last.toordinal() + 1)), end

    def _calendars(self) -> tuple[_Calendar, _Calendar]:
        return _read_calendar(self._calendar_path), _read_calendar(self._pending_path)

    def _symbol_names(self) -> list[str]:
        if not self._features.is_dir():
            return []
        return sorted(p.name for p in self._features.iterdir() if p.is_dir())

    def _needs_realign(self, name: str, calendar: _Calendar) -> bool:
        directory = self._features / name
        meta = _read_json(directory / META)
        if (directory / NEXT_META).exists():
            return True  # left half-written by an interrupted save
        return meta is not None and not calendar.matches(meta["calendar"])

    def _read(self, name: str, current: _Calendar, pending: _Calendar) -> BarSet | None:
        """The committed bars of the symbol in `features/<name>`, whatever state a kill left it in."""
        directory = self._features / name
        meta = _read_json(directory / META)
        upcoming = _read_json(directory / NEXT_META)
        if meta is None and upcoming is None:
            return None
        blobs = {}
        for field in STORE_FIELDS:
            path = field_path(directory, field)
            blobs[field] = path.read_bytes() if path.exists() else b""
        if upcoming is not None and all(_owns(upcoming, f, b) for f, b in blobs.items()):
            effective = upcoming  # killed after the bins, before meta.json: the new files are complete
        elif meta is None:
            return None  # the symbol's first save was interrupted: nothing was committed
        else:
            effective = meta
            if upcoming is not None and upcoming["adjustment"] != meta["adjustment"]:
                raise DataError(f"bar store: {name} was left half-way through an adjustment change; fetch it again")
        series = {}
        for field, blob in blobs.items():
            # Each bin is read with whichever meta describes its bytes: after a kill, some are new.
            owner = next((m for m in (effective, meta, upcoming) if m is not None and _owns(m, field, blob)), None)
            path = field_path(directory, field)
            if owner is None:
                raise DataError(f"bar store: {path} matches neither {META} nor {NEXT_META}; fetch {name} again")
            series[field] = _read_bin(path, blob, owner, (current, pending))
        return _assemble(effective, series, directory)

    def _write_symbol(self, bars: BarSet, calendar: _Calendar) -> None:
        """Write one symbol's bins aligned to `calendar`, announcing them first in `meta.next.json`."""
        positions = np.searchsorted(calendar.dates, bars.dates)
        first, last = int(positions[0]), int(positions[-1])
        blobs = {}
        for field in STORE_FIELDS:
            values = getattr(bars, field) if field != "factor" else bars.factor
            column = np.full(last - first + 2, np.nan, dtype=_BIN)
            column[0] = first
            column[1 + positions - first] = np.ones(len(bars)) if values is None else values
            blobs[field] = column.tobytes()
        meta = {
            "format": META_FORMAT,
            "version": META_VERSION,
            "instrument": bars.symbol.qlib,
            "source": bars.source,
            "adjustment": bars.adjustment,
            "fetched_at": bars.fetched_at.isoformat(),
            "first_date": str(bars.dates[0]),
            "last_date": str(bars.dates[-1]),
            "bars": len(bars),
            "has_factor": bars.factor is not None,
            "calendar": {"days": last + 1, "crc32": calendar.prefix_crc(last + 1)},
            "files": {field: zlib.crc32(blob) for field, blob in blobs.items()},
        }
        directory = self._features / _dir_name(bars.symbol)
        directory.mkdir(parents=True, exist_ok=True)
        meta_bytes = json.dumps(meta, indent=1).encode("utf-8")
        atomic_write_bytes(directory / NEXT_META, meta_bytes)
        for field, blob in blobs.items():
            atomic_write_bytes(field_path(directory, field), blob)
        atomic_write_bytes(directory / META, meta_bytes)
        (directory / NEXT_META).unlink()

    def _instruments_text(self) -> bytes:
        lines = []
        for name in self._symbol_names():
            meta = _read_json(self._features / name / META)
            if meta is not None:
                lines.append(f"{meta['instrument']}\t{meta['first_date']}\t{meta['last_date']}\n")
        return "".join(lines).encode("utf-8")


class _Calendar:
    """Sorted trading days and their canonical `day.txt` text (11 bytes a line), for prefix checksums."""

    def __init__(self, dates: np.ndarray) -> None:
        self.dates = dates.astype("datetime64[D]")
        self.text = "".join(f"{d}\n" for d in self.dates).encode("ascii")

    def prefix_crc(self, days: int) -> int:
        return zlib.crc32(self.text[: 11 * days])

    def matches(self, aligned: dict[str, int]) -> bool:
        """Whether bins aligned to the calendar prefix described by `aligned` are valid in this calendar."""
        days = aligned["days"]
        return len(self.dates) >= days and self.prefix_crc(days) == aligned["crc32"]


def _read_calendar(path: Path) -> _Calendar:
    if not path.exists():
        return _Calendar(_NO_DATES)
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    try:
        dates = np.array(lines, dtype="datetime64[D]")
    except ValueError as exc:
        raise DataError(f"bar store: {path} is not a calendar of ISO dates: {exc}") from exc
    if len(dates) > 1 and not np.all(np.diff(dates.astype(np.int64)) > 0):
        raise DataError(f"bar store: {path} is not sorted ascending without duplicates")
    return _Calendar(dates)


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"bar store: {path} is not valid JSON ({exc}); fetch the symbol again") from exc
    if not isinstance(data, dict) or data.get("format") != META_FORMAT or data.get("version") != META_VERSION:
        raise DataError(f"bar store: {path} is not a {META_FORMAT} v{META_VERSION} file")
    return data


def _read_bin(
    path: Path, blob: bytes, meta: dict[str, Any], calendars: tuple[_Calendar, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """(dates, values) of one bin, placed on the calendar its meta says it was aligned to."""
    calendar = next((c for c in calendars if c.matches(meta["calendar"])), None)
    if calendar is None:
        raise DataError(f"bar store: {path} was aligned to a calendar that is no longer there; fetch it again")
    column = np.frombuffer(blob, dtype=_BIN)
    first = int(column[0])
    if first + len(column) - 1 > len(calendar.dates):
        raise DataError(f"bar store: {path} runs past the end of its calendar")
    return calendar.dates[first : first + len(column) - 1], column[1:].astype(np.float64)


def _assemble(meta: dict[str, Any], series: dict[str, tuple[np.ndarray, np.ndarray]], directory: Path) -> BarSet:
    """The BarSet described by `meta`, taking each field from its (possibly other-version) bin."""
    close_dates, close = series["close"]
    first, last = np.datetime64(meta["first_date"], "D"), np.datetime64(meta["last_date"], "D")
    dates = close_dates[(close_dates >= first) & (close_dates <= last) & ~np.isnan(close)]
    if len(dates) != meta["bars"]:
        raise DataError(f"bar store: {directory} holds {len(dates)} bars, its meta says {meta['bars']}")
    columns = {}
    for field, (field_dates, values) in series.items():
        positions = np.searchsorted(field_dates, dates)
        if len(dates) and (positions[-1] >= len(field_dates) or not np.all(field_dates[positions] == dates)):
            raise DataError(f"bar store: {field_path(directory, field)} lacks days listed in its meta")
        columns[field] = values[positions]
    if meta["adjustment"] == "none":  # raw quotes have at most 3 decimals: undo the float32 rounding
        for field in ("open", "high", "low", "close"):
            columns[field] = np.round(columns[field], 3)
    code, exchange = meta["instrument"][2:], meta["instrument"][:2]
    return BarSet(
        symbol=Symbol(code, exchange),
        source=meta["source"],
        adjustment=meta["adjustment"],
        dates=dates,
        fetched_at=datetime.fromisoformat(meta["fetched_at"]),
        factor=columns.pop("factor") if meta["has_factor"] else None,
        **{field: columns[field] for field in FIELDS},
    )


def merge_bars(stored: BarSet | None, new: BarSet) -> BarSet:
    """`stored` with `new` laid over it: new days added, shared days taken from `new`."""
    if stored is None or not len(stored) or stored.adjustment != new.adjustment:
        return new
    keep = ~np.isin(stored.dates, new.dates)
    dates = np.concatenate([stored.dates[keep], new.dates])
    order = np.argsort(dates, kind="stable")
    columns = {f: np.concatenate([getattr(stored, f)[keep], getattr(new, f)])[order] for f in FIELDS}
    factor = None
    if stored.factor is not None or new.factor is not None:
        old_factor = stored.factor[keep] if stored.factor is not None else np.ones(int(keep.sum()))
        new_factor = new.factor if new.factor is not None else np.ones(len(new))
        factor = np.concatenate([old_factor, new_factor])[order]
    return BarSet(
        symbol=new.symbol,
        source=new.source,
        adjustment=new.adjustment,
        dates=dates[order],
        fetched_at=new.fetched_at,
        factor=factor,
        **columns,
    )


def _owns(meta: dict[str, Any], field: str, blob: bytes) -> bool:
    """Whether `blob` is the bin of `field` that `meta` describes."""
    return bool(blob) and meta["files"].get(field) == zlib.crc32(blob)


def _dir_name(symbol: Symbol) -> str:
    return symbol.qlib.lower()


def _ensure_parent(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
