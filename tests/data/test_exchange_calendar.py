"""The exchange calendar beyond the data: holidays are not missing data, and the cache keeps startup fast."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tg.data.exchange_calendar import (
    ExchangeCalendar,
    _installed_version,
    load_calendar,
    trading_days_after,
)

REPO = Path(__file__).resolve().parents[2]
CHINA = timezone(timedelta(hours=8))
AFTER_NATIONAL_DAY_2025 = [
    date(2025, 9, 29),
    date(2025, 9, 30),
    date(2025, 10, 9),
    date(2025, 10, 10),
    date(2025, 10, 13),
]
# SSE notice for National Day / Mid-Autumn 2025: closed 1-8 October
NATIONAL_DAY_2025 = [date(2025, 10, d) for d in range(1, 9)]


@pytest.fixture(autouse=True)
def fresh_process_cache() -> Iterator[None]:
    load_calendar.cache_clear()
    yield
    load_calendar.cache_clear()


@pytest.fixture(scope="module")
def calendar(tmp_path_factory: pytest.TempPathFactory) -> ExchangeCalendar:
    return load_calendar(tmp_path_factory.mktemp("calendar-cache"))


def cache_file(cache_dir: Path) -> Path:
    return cache_dir / "exchange-calendar" / f"XSHG-{version('exchange-calendars')}.txt"


def weekdays_after(day: date, n: int) -> list[date]:
    out: list[date] = []
    while len(out) < n:
        day += timedelta(days=1)
        if day.weekday() < 5:
            out.append(day)
    return out


# run by `python -c` with the cache dir as argv[1]: what a later `tg health` sees
AFTER_NATIONAL_DAY_2025_TEXT = ["2025-09-29", "2025-09-30", "2025-10-09", "2025-10-10", "2025-10-13"]
READ_IN_A_NEW_PROCESS = """
import json, sys, time
from datetime import date
from pathlib import Path
from tg.data.exchange_calendar import load_calendar

start = time.perf_counter()
calendar = load_calendar(Path(sys.argv[1]))
ms = (time.perf_counter() - start) * 1000
print(json.dumps({
    "ms": ms,
    "imported": "exchange_calendars" in sys.modules,
    "pandas": "pandas" in sys.modules,
    "n": len(calendar.sessions),
    "describe": calendar.describe(),
    "next": [str(d) for d in calendar.next_sessions(date(2025, 9, 26), 5)],
    "between": calendar.sessions_between(date(2025, 9, 26), date(2025, 10, 9)),
    "session": calendar.is_session(date(2025, 10, 1)),
}))
"""

# as if exchange-calendars were not installed: every import of it fails
BLOCK_EXCHANGE_CALENDARS = """
import sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "exchange_calendars":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Block())
"""


def run_python(code: str, *args: object) -> dict[str, Any]:
    """Run `code` in a new interpreter (no module imported yet); its last stdout line is JSON."""
    command = [sys.executable, "-c", code, *map(str, args)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- holidays ------------------------------------------------------------------------------------


def test_after_national_day_2025_come_the_next_sessions(calendar: ExchangeCalendar) -> None:
    assert calendar.next_sessions(date(2025, 9, 26), 5) == AFTER_NATIONAL_DAY_2025
    assert calendar.next_sessions(np.datetime64("2025-09-26"), 5) == AFTER_NATIONAL_DAY_2025
    assert calendar.next_sessions(np.datetime64("2025-09-26T00:00:00.000000000"), 2) == AFTER_NATIONAL_DAY_2025[:2]
    assert calendar.next_sessions(date(2025, 9, 27), 1) == [date(2025, 9, 29)]  # from a Saturday: its Monday
    assert calendar.next_sessions(date(2025, 9, 26), 0) == []


def test_national_day_2025_is_closed(calendar: ExchangeCalendar) -> None:
    assert [d for d in NATIONAL_DAY_2025 if calendar.is_session(d)] == []
    assert calendar.is_session(date(2025, 9, 30)) and calendar.is_session(date(2025, 10, 9))


@pytest.mark.filterwarnings("ignore:Series.values returning an ndarray")  # inside exchange-calendars
def test_2026_holidays_match_exchange_calendars(calendar: ExchangeCalendar) -> None:
    import exchange_calendars as xc

    reference = xc.get_calendar("XSHG", start="2025-12-01", end="2026-12-31")
    spring_festival = [date(2026, 2, d) for d in (16, 17, 18, 19, 20, 23)]
    labour_day = [date(2026, 5, d) for d in (1, 4, 5)]
    for day in [date(2026, 1, 1), *spring_festival, date(2026, 4, 6), *labour_day]:
        assert not calendar.is_session(day), day
        assert not reference.is_session(day.isoformat()), day
    assert calendar.next_sessions(date(2026, 2, 13), 1) == [date(2026, 2, 24)]
    assert calendar.next_sessions(date(2026, 4, 30), 1) == [date(2026, 5, 6)]
    year = [d for d in calendar.sessions if date(2026, 1, 1) <= d <= date(2026, 12, 31)]
    assert [str(d) for d in year] == [d.date().isoformat() for d in reference.sessions if d.year == 2026]


# --- trading days after the data ------------------------------------------------------------------


def test_trading_days_after_a_data_calendar_that_ends(calendar: ExchangeCalendar) -> None:
    data = np.array(["2025-09-24", "2025-09-25", "2025-09-26"], dtype="datetime64[D]")
    days = trading_days_after(data, np.datetime64("2025-09-26"), 5, calendar)
    assert days == [d.isoformat() for d in AFTER_NATIONAL_DAY_2025]


def test_trading_days_after_take_the_data_calendar_first(calendar: ExchangeCalendar) -> None:
    # the data has a day the exchange calendar does not (a Saturday): what the data has wins
    data = np.array(["2025-09-24", "2025-09-25", "2025-09-26", "2025-09-27"], dtype="datetime64[D]")
    days = trading_days_after(data, np.datetime64("2025-09-24"), 5, calendar)
    assert days == ["2025-09-25", "2025-09-26", "2025-09-27", "2025-09-29", "2025-09-30"]
    assert trading_days_after(data, np.datetime64("2025-09-24"), 2, calendar) == ["2025-09-25", "2025-09-26"]


def test_a_holiday_week_is_not_missing_data(calendar: ExchangeCalendar) -> None:
    assert calendar.sessions_between(date(2025, 9, 26), date(2025, 10, 9)) == 3
    assert calendar.sessions_between(date(2025, 9, 30), date(2025, 10, 8)) == 0
    assert calendar.sessions_between(date(2025, 10, 9), date(2025, 10, 9)) == 0
    assert calendar.sessions_between(date(2025, 10, 9), date(2025, 9, 26)) == 0


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2025, 10, 9, 14, 59, tzinfo=CHINA), date(2025, 9, 30)),
        (datetime(2025, 10, 9, 15, 0, tzinfo=CHINA), date(2025, 10, 9)),
        (datetime(2025, 10, 11, 12, 0, tzinfo=CHINA), date(2025, 10, 10)),  # a Saturday: the Friday
        (datetime(2025, 10, 9, 6, 59, tzinfo=UTC), date(2025, 9, 30)),  # 14:59 in Shanghai
        (datetime(2025, 10, 9, 7, 0, tzinfo=UTC), date(2025, 10, 9)),  # 15:00 in Shanghai
        (datetime(2025, 10, 8, 23, 0, tzinfo=timezone(timedelta(hours=-5))), date(2025, 9, 30)),  # 12:00 on the 9th
    ],
)
def test_last_closed_session(calendar: ExchangeCalendar, now: datetime, expected: date) -> None:
    assert calendar.last_closed_session(now) == expected


def test_last_closed_session_refuses_a_naive_datetime(calendar: ExchangeCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.last_closed_session(datetime(2025, 10, 9, 15, 0))


# --- past what the calendar knows ----------------------------------------------------------------


def test_past_known_until_weekdays_stand_in(calendar: ExchangeCalendar) -> None:
    end = calendar.known_until
    before = calendar.sessions[-2]
    assert calendar.sessions[-1] == end
    assert calendar.next_sessions(before, 4) == [end, *weekdays_after(end, 3)]
    assert calendar.next_sessions(end + timedelta(days=30), 2) == weekdays_after(end + timedelta(days=30), 2)
    later = weekdays_after(end, 10)[-1]
    assert calendar.sessions_between(before, later) == 11
    assert calendar.is_session(weekdays_after(end, 1)[0])
    assert calendar.last_closed_session(datetime.combine(later, datetime.min.time(), CHINA).replace(hour=16)) == later


def test_a_small_calendar_continues_with_weekdays() -> None:
    sessions = ["2025-09-26", "2025-09-29", "2025-09-30", "2025-10-09"]
    small = ExchangeCalendar(tuple(date.fromisoformat(d).toordinal() for d in sessions), "test", date(2025, 10, 9))
    assert small.next_sessions(date(2025, 9, 26), 4) == [
        date(2025, 9, 29),
        date(2025, 9, 30),
        date(2025, 10, 9),
        date(2025, 10, 10),
    ]
    assert small.sessions_between(date(2025, 9, 26), date(2025, 10, 14)) == 6  # 3 known + 10, 13, 14 October
    assert small.last_closed_session(datetime(2025, 10, 12, 9, 0, tzinfo=CHINA)) == date(2025, 10, 10)
    assert small.describe() == {"calendar": "test", "known_until": "2025-10-09"}


def test_describe_names_the_source_and_date(calendar: ExchangeCalendar) -> None:
    assert calendar.known_until >= date(2026, 12, 31)
    assert calendar.describe() == {
        "calendar": f"XSHG, exchange-calendars {version('exchange-calendars')}",
        "known_until": calendar.known_until.isoformat(),
    }


# --- the cache -----------------------------------------------------------------------------------


def test_installed_version_is_the_distributions() -> None:
    assert _installed_version() == version("exchange-calendars")


def test_cache_is_written_then_read_by_a_new_process_without_exchange_calendars(tmp_path: Path) -> None:
    built = load_calendar(tmp_path)
    lines = cache_file(tmp_path).read_text().splitlines()
    v = version("exchange-calendars")
    assert lines[0] == f"# XSHG sessions from exchange-calendars {v}, known until {built.known_until.isoformat()}"
    assert lines[1] == "2005-01-04" and lines[-1] == built.known_until.isoformat()
    assert len(lines) == len(built.sessions) + 1
    assert load_calendar(tmp_path) is built  # cached per process

    read = run_python(READ_IN_A_NEW_PROCESS, tmp_path)
    assert read["imported"] is False and read["pandas"] is False
    assert read["ms"] < 50, read
    assert read["n"] == len(built.sessions) and read["describe"] == built.describe()
    assert read["next"] == [d.isoformat() for d in AFTER_NATIONAL_DAY_2025] and read["between"] == 3


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: "not a calendar\n",
        lambda text: "",
        lambda text: text.replace("2025-10-09", "2025-10-0x"),
        lambda text: "\n".join(text.splitlines()[:-100]) + "\n",  # truncated: the header's last date is gone
        lambda text: text.replace("exchange-calendars", "exchange-calendar"),
        lambda text: text.replace("2025-09-30\n", "").replace("2025-10-09\n", "2025-10-09\n2025-09-30\n"),
    ],
    ids=["garbage", "empty", "bad-date", "truncated", "bad-header", "unsorted"],
)
def test_a_corrupt_cache_file_is_rebuilt(tmp_path: Path, damage: Callable[[str], str]) -> None:
    good = load_calendar(tmp_path)
    path = cache_file(tmp_path)
    text = path.read_text()
    path.write_text(damage(text))
    load_calendar.cache_clear()
    rebuilt = load_calendar(tmp_path)
    assert path.read_text() == text
    assert np.array_equal(rebuilt.sessions, good.sessions) and rebuilt.known_until == good.known_until


def test_undecodable_cache_file_is_rebuilt(tmp_path: Path) -> None:
    good = load_calendar(tmp_path)
    cache_file(tmp_path).write_bytes(b"\xff\xfe\x00garbage")
    load_calendar.cache_clear()
    assert np.array_equal(load_calendar(tmp_path).sessions, good.sessions)
    assert cache_file(tmp_path).read_text().startswith("# XSHG sessions")


def test_an_unwritable_cache_dir_still_gives_the_calendar(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    calendar = load_calendar(blocker / "cache")
    assert calendar.next_sessions(date(2025, 9, 26), 5) == AFTER_NATIONAL_DAY_2025
    assert calendar.source.startswith("XSHG, exchange-calendars")
    assert load_calendar(None).next_sessions(date(2025, 9, 26), 5) == AFTER_NATIONAL_DAY_2025


def test_without_exchange_calendars_the_shipped_snapshot_answers(tmp_path: Path) -> None:
    result = run_python(BLOCK_EXCHANGE_CALENDARS + READ_IN_A_NEW_PROCESS, tmp_path)
    assert result["describe"]["calendar"].startswith("XSHG, exchange-calendars")
    assert result["imported"] is False and result["n"] > 5000
    assert result["next"] == AFTER_NATIONAL_DAY_2025_TEXT
    assert list(tmp_path.iterdir()) == []  # nothing cached for a calendar that was not built


def test_without_any_calendar_weekdays_stand_in_and_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from tg.data import exchange_calendar as module

    monkeypatch.setattr(module, "_snapshot", lambda: None)
    monkeypatch.setattr(module, "_installed_version", lambda: None)
    module.load_calendar.cache_clear()
    try:
        calendar = module.load_calendar(None)
    finally:
        module.load_calendar.cache_clear()
    assert calendar.describe() == {"calendar": "weekdays (exchange-calendars not installed)", "known_until": "none"}
    assert calendar.next_sessions(date(2025, 9, 26), 3) == [date(2025, 9, 29), date(2025, 9, 30), date(2025, 10, 1)]
    assert calendar.sessions_between(date(2025, 9, 26), date(2025, 10, 9)) == 9


def test_the_shipped_snapshot_matches_the_installed_exchange_calendars() -> None:
    """tg/data/embedded/calendars/XSHG.txt answers `tg health` before any cache exists; it must say
    what exchange-calendars says (regenerate it from a cache file when the pin moves)."""
    from tg.data import exchange_calendar as module

    snapshot = module._snapshot()
    assert snapshot is not None and snapshot.source.startswith("XSHG, exchange-calendars")
    built, _ = module._build(module._installed_version() or "")
    assert built.ordinals[: len(snapshot.ordinals)] == snapshot.ordinals
    assert snapshot.known_until >= date(2026, 12, 31)


def test_without_building_the_calendar_comes_from_the_snapshot(tmp_path: Path) -> None:
    script = (
        "import sys; from pathlib import Path; from tg.data.exchange_calendar import load_calendar; "
        f"c = load_calendar(Path({str(tmp_path)!r}), build=False); "
        "print(c.source.split(',')[0], c.known_until, 'pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["XSHG", "2026-12-31", "False"]
    assert not (tmp_path / "exchange-calendar").exists()  # nothing built, nothing written
