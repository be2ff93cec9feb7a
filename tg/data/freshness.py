"""How far the data lags the market: where it ends, the last closed session, the sessions between.

The data ends on the last day of the data directory's calendar, or of the extension's when
`tg data update` has stitched newer days onto that directory (`base.json` in the extension names the
base it continues). Sessions are the exchange's (`tg.data.exchange_calendar`), so a holiday week is
not missing data. Standard library only: `tg health` reports freshness within its start-up budget.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from tg.data.exchange_calendar import CHINA, CLOSE, ExchangeCalendar
from tg.data.qlib_layout import CALENDAR

BASE_FILE = "base.json"  # in the extension: the base directory whose factors it continues


@dataclass(frozen=True)
class Freshness:
    last_bar: date
    last_closed: date
    sessions_behind: int
    age_seconds: float
    calendar: dict[str, str]

    def to_dict(self) -> dict[str, object]:
        return {
            "last_bar": self.last_bar.isoformat(),
            "last_closed_session": self.last_closed.isoformat(),
            "sessions_behind": self.sessions_behind,
            "age_seconds": round(self.age_seconds),
            **self.calendar,
        }


def embedded_root() -> Path:
    """The Qlib-layout subset shipped inside the package."""
    return Path(__file__).resolve().parent / "embedded" / "cn_daily"


def base_identity(base: Path) -> str:
    """sha256 of a data directory's calendar: an extension's factors continue this base and no other."""
    import hashlib

    return hashlib.sha256((base / CALENDAR).read_bytes()).hexdigest()


def continues(extension: Path, base: Path) -> bool:
    """True when `extension` holds days stitched onto `base` (its `base.json` names the same calendar)."""
    try:
        recorded = json.loads((extension / BASE_FILE).read_text(encoding="utf-8"))["calendar_sha256"]
        return bool(recorded == base_identity(base))
    except (OSError, ValueError, KeyError, TypeError):
        return False


def last_day(calendar_file: Path) -> date | None:
    """The last date of a Qlib calendar file (None when it is missing or empty)."""
    try:
        lines = calendar_file.read_text(encoding="utf-8").split()
        return date.fromisoformat(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


def data_end(base: Path, extension: Path | None) -> date | None:
    """The last day of the data: the base's calendar, or the extension's when it continues this base."""
    end = last_day(base / CALENDAR)
    if extension is not None and continues(extension, base):
        newer = last_day(extension / CALENDAR)
        if newer is not None and (end is None or newer > end):
            end = newer
    return end


def freshness(last_bar: date, calendar: ExchangeCalendar, now: datetime | None = None) -> Freshness:
    """The lag of data ending on `last_bar` behind the last session closed at `now`."""
    now = now or datetime.now(UTC)
    closed = calendar.last_closed_session(now)
    behind = calendar.sessions_between(last_bar, closed)
    return Freshness(last_bar, closed, behind, bar_age_seconds(last_bar, now), calendar.describe())


def bar_age_seconds(last_bar: date, now: datetime | None = None) -> float:
    """Seconds from the close of `last_bar` to `now`."""
    now = now or datetime.now(UTC)
    return (now - datetime.combine(last_bar, CLOSE, CHINA)).total_seconds()
