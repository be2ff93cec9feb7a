"""How far the data lags the market: the last closed session, sessions behind, age of the last bar.

A-share sessions close at 15:00 China time (UTC+8, no daylight saving). Sessions after the data's
own calendar are counted as weekdays: exchange holidays beyond the data are not known here, so a
holiday week counts as lag (the exchange calendar replaces this in the data-update step).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import numpy as np

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
CLOSE = time(15, 0)


def last_closed_session(now: datetime) -> date:
    """The latest weekday whose 15:00 China-time close is at or before `now`."""
    local = now.astimezone(CHINA)
    day = local.date() if local.time() >= CLOSE else local.date() - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def sessions_behind(last_bar: date, now: datetime) -> int:
    """Closed sessions (weekdays) after `last_bar` up to `now`: 0 when the data is current."""
    closed = last_closed_session(now)
    if closed <= last_bar:
        return 0
    start = np.datetime64(last_bar + timedelta(days=1), "D")
    return int(np.busday_count(start, np.datetime64(closed + timedelta(days=1), "D")))


def bar_age_seconds(last_bar: date, now: datetime | None = None) -> float:
    """Seconds from the close of `last_bar` to `now`."""
    now = now or datetime.now(UTC)
    return (now - datetime.combine(last_bar, CLOSE, CHINA)).total_seconds()
