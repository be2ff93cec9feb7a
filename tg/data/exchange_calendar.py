"""The SSE/SZSE trading calendar for dates beyond the data: which days the exchange is open.

The sessions come from exchange-calendars (`XSHG`), which knows holidays about a year ahead. Importing
it (pandas) costs ~0.5 s, too slow for `tg health`, so its session list is cached as a text file per
exchange-calendars version and read back in a few ms; exchange-calendars is imported only to build
that file. Past the last session it knows, and where it is not installed, weekdays stand in.
"""

from __future__ import annotations

import bisect
import functools
import logging
import os
import re
import sys
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
CLOSE = time(15, 0)
EXCHANGE = "XSHG"
FIRST_DAY = "2005-01-01"
DISTRIBUTION = "exchange-calendars"
NOT_INSTALLED = "weekdays (exchange-calendars not installed)"
HEADER = re.compile(rf"# {EXCHANGE} sessions from exchange-calendars (\S+), known until (\d{{4}}-\d{{2}}-\d{{2}})")


@dataclass(frozen=True, eq=False)  # eq=False: two calendars are never compared
class ExchangeCalendar:
    """The exchange's sessions up to `known_until`; weekdays stand in for every later day.

    Plain date ordinals and `bisect`, no numpy: `tg health` asks it for freshness within its
    start-up budget."""

    ordinals: tuple[int, ...]  # the exchange's sessions as `date.toordinal()`, sorted
    source: str  # which calendar answered, e.g. "XSHG, exchange-calendars 4.13.2"
    known_until: date  # the last session the calendar knows (date.min when it knows none)

    @property
    def sessions(self) -> list[date]:
        """The known sessions as dates."""
        return [date.fromordinal(o) for o in self.ordinals]

    def is_session(self, day: date) -> bool:
        """True when the exchange is open on `day` (a weekday, past `known_until`)."""
        if day > self.known_until:
            return day.weekday() < 5
        i = bisect.bisect_left(self.ordinals, day.toordinal())
        return i < len(self.ordinals) and self.ordinals[i] == day.toordinal()

    def next_sessions(self, after: object, n: int) -> list[date]:
        """The `n` sessions strictly after `after` (a date or numpy datetime64); past `known_until`, weekdays."""
        start = as_date(after)
        i = bisect.bisect_right(self.ordinals, start.toordinal())
        known = [date.fromordinal(o) for o in self.ordinals[i : i + max(n, 0)]]
        return known + _weekdays_after(max(start, self.known_until), n - len(known))

    def sessions_between(self, after: date, through: date) -> int:
        """How many sessions d have `after` < d <= `through` (weekdays past `known_until`)."""
        if through <= after:
            return 0
        lo, hi = after.toordinal(), min(through, self.known_until).toordinal()
        count = max(bisect.bisect_right(self.ordinals, hi) - bisect.bisect_right(self.ordinals, lo), 0)
        if through > self.known_until:
            count += _weekdays_between(max(after, self.known_until), through)
        return count

    def last_closed_session(self, now: datetime) -> date:
        """The latest session whose 15:00 China-time close is at or before `now` (timezone-aware)."""
        if now.utcoffset() is None:  # astimezone would silently take a naive time as the machine's local time
            raise ValueError(f"last_closed_session needs a timezone-aware datetime, got {now.isoformat()}")
        local = now.astimezone(CHINA)
        day = local.date() if local.time() >= CLOSE else local.date() - timedelta(days=1)
        weekday = day - timedelta(days=max(day.weekday() - 4, 0))
        if weekday > self.known_until:
            return weekday
        i = bisect.bisect_right(self.ordinals, day.toordinal())
        if i == 0:  # before the first known session: nothing to go on but weekdays
            return weekday
        return date.fromordinal(self.ordinals[i - 1])

    def describe(self) -> dict[str, str]:
        """Which calendar answers and until when it knows the exchange's holidays."""
        known = self.known_until.isoformat() if self.ordinals else "none"
        return {"calendar": self.source, "known_until": known}


@functools.cache
def load_calendar(cache_dir: Path | None, build: bool = True) -> ExchangeCalendar:
    """The XSHG calendar: from the text cache under `cache_dir` (for the installed exchange-calendars),
    else built from exchange-calendars and cached (`build`), else the snapshot shipped in the package,
    else weekdays. Cached per process; `None` means no cache file.

    `tg health` passes `build=False`: it must not import pandas, so before the first other command
    has built the cache it answers from the shipped snapshot (which says its version and end)."""
    version = _installed_version()
    if version is None:
        return _snapshot() or _weekdays()
    path = None if cache_dir is None else Path(cache_dir) / "exchange-calendar" / f"{EXCHANGE}-{version}.txt"
    if path is not None:
        cached = _read_cache(path, version)
        if cached is not None:
            return cached
    if not build:
        return _snapshot() or _weekdays()
    try:
        calendar, text = _build(version)
    except ImportError as exc:
        log.debug("exchange-calendars %s could not be imported (%s); using the shipped snapshot", version, exc)
        return _snapshot() or _weekdays()
    if path is not None:
        _write_cache(path, text)
    return calendar


def _snapshot() -> ExchangeCalendar | None:
    """The sessions shipped with tg (`tg/data/embedded/calendars/XSHG.txt`, made by exchange-calendars)."""
    path = Path(__file__).resolve().parent / "embedded" / "calendars" / f"{EXCHANGE}.txt"
    try:
        header = path.read_text(encoding="utf-8").partition("\n")[0]
    except OSError:
        return None
    match = HEADER.fullmatch(header.strip())
    return _read_cache(path, match.group(1)) if match else None


def trading_days_after(data_calendar: Any, last_bar: Any, n: int, calendar: ExchangeCalendar) -> list[str]:
    """The next `n` trading days after `last_bar` (ISO dates): the data's own calendar (datetime64[D]
    array) while it lasts — it is what the data has — then the exchange calendar."""
    last = as_date(last_bar)
    ahead = [str(d) for d in data_calendar[data_calendar > data_calendar.dtype.type(last)][: max(n, 0)]]
    start = max(last, as_date(data_calendar[-1])) if len(data_calendar) else last
    return ahead + [d.isoformat() for d in calendar.next_sessions(start, n - len(ahead))]


def as_date(value: object) -> date:
    """A `date` from a date, a datetime or a numpy datetime64 (read from its ISO text: no numpy import)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _weekdays_after(day: date, n: int) -> list[date]:
    """The `n` weekdays after `day` (a weekend `day` is followed by its Monday)."""
    days: list[date] = []
    while len(days) < n:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return days


def _weekdays_between(after: date, through: date) -> int:
    """Weekdays d with `after` < d <= `through`."""
    span = (through - after).days
    weeks, rest = divmod(span, 7)
    extra = sum(1 for k in range(1, rest + 1) if (after + timedelta(days=k)).weekday() < 5)
    return weeks * 5 + extra


def _weekdays() -> ExchangeCalendar:
    return ExchangeCalendar((), NOT_INSTALLED, date.min)


def _calendar(ordinals: tuple[int, ...], version: str) -> ExchangeCalendar:
    return ExchangeCalendar(ordinals, f"{EXCHANGE}, exchange-calendars {version}", date.fromordinal(ordinals[-1]))


def _installed_version() -> str | None:
    """exchange-calendars' version from its dist-info folder name, without importing it.

    A scan of sys.path costs ~1 ms, where importing importlib.metadata costs 25-50 ms (it pulls in the
    email package); importlib.metadata is asked only when no wheel-style dist-info folder is found."""
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            stem, _, suffix = name.rpartition(".")
            dist, dash, version = stem.partition("-")
            if suffix == "dist-info" and dash and re.sub(r"[-_.]+", "_", dist).lower() == "exchange_calendars":
                return version
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as metadata_version

    try:
        return metadata_version(DISTRIBUTION)
    except PackageNotFoundError:
        return None


def _read_cache(path: Path, version: str) -> ExchangeCalendar | None:
    try:
        header, _, body = path.read_text(encoding="utf-8").partition("\n")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        log.info("calendar cache %s is unreadable (%s); rebuilding it", path, exc)
        return None
    match = HEADER.fullmatch(header.strip())
    try:
        # map() over C functions, not a generator: `tg health` reads these ~5,000 dates on every run
        ordinals = tuple(map(date.toordinal, map(date.fromisoformat, body.split())))
    except ValueError as exc:
        log.info("calendar cache %s has a line that is not a date (%s); rebuilding it", path, exc)
        return None
    if (
        match is None
        or match.group(1) != version
        or not ordinals
        or date.fromordinal(ordinals[-1]).isoformat() != match.group(2)
        or ordinals != tuple(sorted(set(ordinals)))  # strictly increasing
    ):
        log.info("calendar cache %s is corrupt (header, order or last date); rebuilding it", path)
        return None
    return _calendar(ordinals, version)


def _build(version: str) -> tuple[ExchangeCalendar, str]:
    """The calendar and its cache text, from exchange-calendars (~0.5-1 s: it imports pandas)."""
    import warnings

    import exchange_calendars as xc

    with warnings.catch_warnings():
        # exchange-calendars 4.13 trips a pandas 3.1 deprecation inside itself; nothing a user can act on
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        calendar = xc.get_calendar(EXCHANGE, start=FIRST_DAY)
        bound = type(calendar).bound_max()
        if bound is not None and bound > calendar.last_session:  # the default end is a year from today
            calendar = xc.get_calendar(EXCHANGE, start=FIRST_DAY, end=bound)
    days = [d.date() for d in calendar.sessions]
    header = f"# {EXCHANGE} sessions from exchange-calendars {version}, known until {days[-1].isoformat()}"
    text = "\n".join([header, *(d.isoformat() for d in days)]) + "\n"
    return _calendar(tuple(d.toordinal() for d in days), version), text


def _write_cache(path: Path, text: str) -> None:
    from tg.ops.atomic import atomic_write_text  # tempfile: not needed on the read path (tg health)

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text)
    except OSError as exc:
        log.debug("cannot write the calendar cache %s (%s); building it in memory each run", path, exc)
