"""The SSE/SZSE trading calendar for dates beyond the data: which days the exchange is open.

The sessions come from exchange-calendars (`XSHG`), which knows holidays about a year ahead. Importing
it (pandas) costs ~0.5 s, too slow for `tg health`, so its session list is cached as a text file per
exchange-calendars version and read back in a few ms; exchange-calendars is imported only to build
that file. Past the last session it knows, and where it is not installed, weekdays stand in.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
import warnings
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import numpy as np

from tg.ops.atomic import atomic_write_text

log = logging.getLogger(__name__)

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
CLOSE = time(15, 0)
EXCHANGE = "XSHG"
FIRST_DAY = "2005-01-01"
DISTRIBUTION = "exchange-calendars"
NOT_INSTALLED = "weekdays (exchange-calendars not installed)"
HEADER = re.compile(rf"# {EXCHANGE} sessions from exchange-calendars (\S+), known until (\d{{4}}-\d{{2}}-\d{{2}})")
_ONE_DAY = np.timedelta64(1, "D")
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True, eq=False)  # eq=False: the generated __eq__ cannot compare the sessions array
class ExchangeCalendar:
    """The exchange's sessions up to `known_until`; weekdays stand in for every later day."""

    sessions: np.ndarray  # datetime64[D], sorted, the exchange's sessions
    source: str  # which calendar answered, e.g. "XSHG, exchange-calendars 4.13.2"
    known_until: date  # the last session the calendar knows (date.min when it knows none)

    def is_session(self, day: date) -> bool:
        """True when the exchange is open on `day` (a weekday, past `known_until`)."""
        if day > self.known_until:
            return day.weekday() < 5
        d = _day(day)
        i = int(np.searchsorted(self.sessions, d))
        return i < len(self.sessions) and bool(self.sessions[i] == d)

    def next_sessions(self, after: np.datetime64 | date, n: int) -> list[date]:
        """The `n` sessions strictly after `after`; past `known_until`, weekdays."""
        start = _day(after)
        known = self.sessions[int(np.searchsorted(self.sessions, start, side="right")) :][: max(n, 0)]
        beyond = _weekdays_after(max(start, self._known_until), n - len(known))
        return [_date(d) for d in (*known, *beyond)]

    def sessions_between(self, after: date, through: date) -> int:
        """How many sessions d have `after` < d <= `through` (weekdays past `known_until`)."""
        if through <= after:
            return 0
        lo, hi, known_until = _day(after), _day(through), self._known_until
        count = int(np.searchsorted(self.sessions, min(hi, known_until), "right"))
        count -= int(np.searchsorted(self.sessions, lo, "right"))
        if hi > known_until:
            count += int(np.busday_count(max(lo, known_until) + _ONE_DAY, hi + _ONE_DAY))
        return count

    def last_closed_session(self, now: datetime) -> date:
        """The latest session whose 15:00 China-time close is at or before `now` (timezone-aware)."""
        if now.utcoffset() is None:  # astimezone would silently take a naive time as the machine's local time
            raise ValueError(f"last_closed_session needs a timezone-aware datetime, got {now.isoformat()}")
        local = now.astimezone(CHINA)
        day = _day(local.date() if local.time() >= CLOSE else local.date() - timedelta(days=1))
        weekday = _day(np.busday_offset(day, 0, roll="backward"))
        if weekday > self._known_until:
            return _date(weekday)
        i = int(np.searchsorted(self.sessions, day, side="right"))
        if i == 0:  # before the first known session: nothing to go on but weekdays
            return _date(weekday)
        return _date(self.sessions[i - 1])

    def describe(self) -> dict[str, str]:
        """Which calendar answers and until when it knows the exchange's holidays."""
        known = self.known_until.isoformat() if len(self.sessions) else "none"
        return {"calendar": self.source, "known_until": known}

    @property
    def _known_until(self) -> np.datetime64:
        return _day(self.known_until)


@functools.cache
def load_calendar(cache_dir: Path | None) -> ExchangeCalendar:
    """The XSHG calendar: from the text cache under `cache_dir`, else built (and cached) from
    exchange-calendars, else weekdays. Cached per process; `None` means no cache file."""
    version = _installed_version()
    if version is None:
        return _weekdays()
    path = None if cache_dir is None else Path(cache_dir) / "exchange-calendar" / f"{EXCHANGE}-{version}.txt"
    if path is not None:
        cached = _read_cache(path, version)
        if cached is not None:
            return cached
    try:
        calendar, text = _build(version)
    except ImportError as exc:
        log.debug("exchange-calendars %s could not be imported (%s); counting weekdays", version, exc)
        return _weekdays()
    if path is not None:
        _write_cache(path, text)
    return calendar


def trading_days_after(
    data_calendar: np.ndarray, last_bar: np.datetime64, n: int, calendar: ExchangeCalendar
) -> list[str]:
    """The next `n` trading days after `last_bar` (ISO dates): the data's own calendar while it lasts
    (it is what the data has), then the exchange calendar."""
    days = np.asarray(data_calendar).astype("datetime64[D]")
    last = _day(last_bar)
    ahead = days[days > last][: max(n, 0)]
    start = max(last, days[-1]) if len(days) else last
    more = calendar.next_sessions(start, n - len(ahead))
    return [str(d) for d in ahead] + [d.isoformat() for d in more]


def _day(value: np.datetime64 | date) -> np.datetime64:
    if isinstance(value, np.datetime64):
        return value.astype("datetime64[D]")
    return np.datetime64(value, "D")


def _date(day: np.datetime64) -> date:
    return _EPOCH + timedelta(days=int(day.astype("datetime64[D]").astype(np.int64)))


def _weekdays_after(day: np.datetime64, n: int) -> np.ndarray:
    # roll backward first so that a weekend `day` is followed by its Monday, not the Tuesday
    return np.busday_offset(day, np.arange(1, max(n, 0) + 1), roll="backward")


def _weekdays() -> ExchangeCalendar:
    return ExchangeCalendar(np.array([], dtype="datetime64[D]"), NOT_INSTALLED, date.min)


def _calendar(sessions: np.ndarray, version: str) -> ExchangeCalendar:
    sessions.setflags(write=False)  # shared by every caller of load_calendar
    return ExchangeCalendar(sessions, f"{EXCHANGE}, exchange-calendars {version}", _date(sessions[-1]))


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
        sessions = np.array(body.split(), dtype="datetime64[D]")
    except ValueError as exc:
        log.info("calendar cache %s has a line that is not a date (%s); rebuilding it", path, exc)
        return None
    if (
        match is None
        or match.group(1) != version
        or len(sessions) == 0
        or str(sessions[-1]) != match.group(2)
        or not bool(np.all(sessions[1:] > sessions[:-1]))
    ):
        log.info("calendar cache %s is corrupt (header, order or last date); rebuilding it", path)
        return None
    return _calendar(sessions, version)


def _build(version: str) -> tuple[ExchangeCalendar, str]:
    """The calendar and its cache text, from exchange-calendars (~0.5-1 s: it imports pandas)."""
    import exchange_calendars as xc

    with warnings.catch_warnings():
        # exchange-calendars 4.13 trips a pandas 3.1 deprecation inside itself; nothing a user can act on
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        calendar = xc.get_calendar(EXCHANGE, start=FIRST_DAY)
        bound = type(calendar).bound_max()
        if bound is not None and bound > calendar.last_session:  # the default end is a year from today
            calendar = xc.get_calendar(EXCHANGE, start=FIRST_DAY, end=bound)
    sessions = np.asarray(calendar.sessions.values).astype("datetime64[D]")
    days = np.datetime_as_string(sessions, unit="D")
    header = f"# {EXCHANGE} sessions from exchange-calendars {version}, known until {days[-1]}"
    return _calendar(sessions, version), "\n".join([header, *days]) + "\n"


def _write_cache(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text)
    except OSError as exc:
        log.debug("cannot write the calendar cache %s (%s); building it in memory each run", path, exc)
