"""BarStore: Qlib-layout files that merge save by save and survive a kill at any file write."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from tg.data.bar_store import BarStore
from tg.data.bars import FIELDS, BarSet
from tg.data.symbols import Symbol
from tg.errors import DataError

MOUTAI = Symbol("600519", "SH")
PINGAN = Symbol("000001", "SZ")


def _bars(
    symbol: Symbol, days: list[str], base: float = 100.0, adjustment: str = "qfq", factor: bool = False
) -> BarSet:
    n = len(days)
    step = np.arange(n, dtype=np.float64)
    close = base + step
    return BarSet(
        symbol=symbol,
        source="tencent",
        adjustment=adjustment,
        dates=np.array(days, dtype="datetime64[D]"),
        open=close - 0.5,
        high=close + 1.25,
        low=close - 1.5,
        close=close,
        volume=1_000_000 + step * 100,
        amount=np.where(step % 3 == 1, np.nan, close * 1_000_000),
        fetched_at=datetime(2024, 2, 1, tzinfo=UTC) + timedelta(hours=n),
        factor=1.0 + step / 100 if factor else None,
    )


def _days(start: str, count: int) -> list[str]:
    """`count` weekdays from `start`."""
    out, day = [], date.fromisoformat(start)
    while len(out) < count:
        if day.weekday() < 5:
            out.append(day.isoformat())
        day += timedelta(days=1)
    return out


def _assert_bars_equal(actual: BarSet | None, expected: BarSet) -> None:
    """Equal up to the float32 precision of the Qlib bins."""
    assert actual is not None
    assert actual.symbol == expected.symbol
    assert (actual.source, actual.adjustment, actual.fetched_at) == (
        expected.source,
        expected.adjustment,
        expected.fetched_at,
    )
    assert [str(d) for d in actual.dates] == [str(d) for d in expected.dates]
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(actual, name), getattr(expected, name).astype(np.float32))
    if expected.factor is None:
        assert actual.factor is None
    else:
        assert actual.factor is not None
        np.testing.assert_array_equal(actual.factor, expected.factor.astype(np.float32))


def _qlib_read(root: Path, instrument: str) -> dict[str, dict[str, float]]:
    """A plain numpy reader of the Qlib layout: {date: {field: value}} for the bars of `instrument`."""
    calendar = (root / "calendars" / "day.txt").read_text().split()
    assert calendar == sorted(set(calendar))
    instruments = {}
    for line in (root / "instruments" / "all.txt").read_text().splitlines():
        name, first, last = line.split("\t")
        instruments[name] = (first, last)
    first, last = instruments[instrument]
    rows: dict[str, dict[str, float]] = {}
    for field in (*FIELDS, "factor"):
        raw = np.fromfile(root / "features" / instrument.lower() / f"{field}.day.bin", dtype="<f4")
        start = int(raw[0])
        assert start + len(raw) - 1 <= len(calendar), "bin runs past the calendar"
        for day, value in zip(calendar[start : start + len(raw) - 1], raw[1:], strict=True):
            rows.setdefault(day, {})[field] = float(value)
    bars = {day: row for day, row in rows.items() if not np.isnan(row["close"])}
    assert min(bars) == first and max(bars) == last
    return bars


def test_save_load_round_trip(tmp_path: Path) -> None:
    store = BarStore(tmp_path)
    bars = _bars(MOUTAI, _days("2024-01-02", 20), factor=True)
    assert store.load(MOUTAI) is None and store.last_date(MOUTAI) is None
    store.save(bars)
    _assert_bars_equal(store.load(MOUTAI), bars)
    assert store.last_date(MOUTAI) == date.fromisoformat(_days("2024-01-02", 20)[-1])
    window = store.load(MOUTAI, date(2024, 1, 8), date(2024, 1, 12))
    assert window is not None and [str(d) for d in window.dates] == _days("2024-01-08", 5)


def test_incremental_save_adds_only_missing_days_and_missing_range(tmp_path: Path) -> None:
    store = BarStore(tmp_path)
    days = _days("2024-01-02", 30)
    assert store.missing_range(MOUTAI, date(2024, 1, 1), date(2024, 2, 29)) == (date(2024, 1, 1), date(2024, 2, 29))
    store.save(_bars(MOUTAI, days[:20]))
    last = date.fromisoformat(days[19])
    assert store.missing_range(MOUTAI, date(2024, 1, 1), date.fromisoformat(days[29])) == (
        last + timedelta(days=1),
        date.fromisoformat(days[29]),
    )
    assert store.missing_range(MOUTAI, date(2024, 1, 1), last) is None
    before = (tmp_path / "features" / "sh600519" / "close.day.bin").read_bytes()

    tail = _bars(MOUTAI, days[20:], base=500)
    store.save(tail)
    loaded = store.load(MOUTAI)
    assert loaded is not None and len(loaded) == 30
    np.testing.assert_array_equal(loaded.close[:20], np.arange(20) + 100.0)
    np.testing.assert_array_equal(loaded.close[20:], np.arange(10) + 500.0)
    assert loaded.fetched_at == tail.fetched_at
    after = (tmp_path / "features" / "sh600519" / "close.day.bin").read_bytes()
    assert after[: len(before)] == before  # same first index, the old days untouched
    assert store.missing_range(MOUTAI, date(2024, 1, 1), date.fromisoformat(days[29])) is None


def test_missing_range_starts_the_day_after_the_last_stored(tmp_path: Path) -> None:
    store = BarStore(tmp_path)
    store.save(_bars(MOUTAI, ["2024-03-04", "2024-03-05"]))
    assert store.missing_range(MOUTAI, date(2024, 3, 1), date(2024, 3, 8)) == (date(2024, 3, 6), date(2024, 3, 8))
    assert store.missing_range(MOUTAI, date(2024, 3, 7), date(2024, 3, 8)) == (date(2024, 3, 7), date(2024, 3, 8))
    assert store.missing_range(MOUTAI, date(2024, 3, 1), date(2024, 3, 5)) is None


def test_overlapping_days_are_replaced_by_the_newer_fetch(tmp_path: Path) -> None:
    store = BarStore(tmp_path)
    days = _days("2024-01-02", 10)
    store.save(_bars(MOUTAI, days[:6], base=100))
    store.save(_bars(MOUTAI, days[4:], base=900))
    loaded = store.load(MOUTAI)
    assert loaded is not None and [str(d) for d in loaded.dates] == days
    np.testing.assert_array_equal(loaded.close, [100, 101, 102, 103, 900, 901, 902, 903, 904, 905])


def test_other_adjustment_replaces_the_whole_series(tmp_path: Path) -> None:
    store = BarStore(tmp_path)
    days = _days("2024-01-02", 10)
    store.save(_bars(MOUTAI, days, adjustment="qfq"))
    hfq = _bars(MOUTAI, days[5:], base=3000, adjustment="hfq")
    store.save(hfq)
    _assert_bars_equal(store.load(MOUTAI), hfq)


def test_layout_is_valid_qlib_with_gaps_and_inserted_dates(tmp_path: Path) -> None:
    store = BarStore(tmp_path)
    days = _days("2024-01-02", 15)
    moutai = _bars(MOUTAI, [d for i, d in enumerate(days) if i != 7], factor=True)  # suspended on day 7
    store.save(moutai)
    pingan = _bars(PINGAN, days[3:] + _days("2024-02-01", 3), base=10)  # trades on day 7: inserted mid-calendar
    store.save(pingan)
    earlier = _bars(MOUTAI, _days("2023-12-20", 5), base=50, factor=True)  # prepends: every bin shifts
    store.save(earlier)

    calendar = (tmp_path / "calendars" / "day.txt").read_text().split()
    assert calendar == sorted(set(_days("2023-12-20", 5) + days + _days("2024-02-01", 3)))
    assert sorted((tmp_path / "features").iterdir()) == [
        tmp_path / "features" / "sh600519",
        tmp_path / "features" / "sz000001",
    ]
    for directory in (tmp_path / "features").iterdir():
        assert sorted(p.name for p in directory.iterdir()) == sorted(
            [*(f"{f}.day.bin" for f in (*FIELDS, "factor")), "meta.json"]
        )

    for symbol, expected in ((PINGAN, pingan), (MOUTAI, None)):
        rows = _qlib_read(tmp_path, symbol.qlib)
        loaded = store.load(symbol)
        assert loaded is not None
        assert sorted(rows) == [str(d) for d in loaded.dates]
        if expected is not None:
            _assert_bars_equal(loaded, expected)
            assert all(row["factor"] == 1.0 for row in rows.values())  # no factor fetched → 1.0
    moutai_rows = _qlib_read(tmp_path, "SH600519")
    assert days[7] not in moutai_rows and len(moutai_rows) == 14 + 5
    assert moutai_rows[days[0]]["close"] == 100.0 and moutai_rows["2023-12-20"]["close"] == 50.0
    assert np.isnan(moutai_rows[days[1]]["amount"])
    lines = (tmp_path / "instruments" / "all.txt").read_text().splitlines()
    assert lines == [f"SH600519\t2023-12-20\t{days[-1]}", f"SZ000001\t{days[3]}\t2024-02-05"]


def test_damaged_bin_is_a_data_error_and_the_next_save_replaces_it(tmp_path: Path) -> None:
    store = BarStore(tmp_path)
    bars = _bars(MOUTAI, _days("2024-01-02", 5))
    store.save(bars)
    path = tmp_path / "features" / "sh600519" / "close.day.bin"
    path.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(DataError, match="close.day.bin"):
        store.load(MOUTAI)
    store.save(bars)
    _assert_bars_equal(store.load(MOUTAI), bars)


def _count_replaces(monkeypatch: pytest.MonkeyPatch, store: BarStore, bars: BarSet, root: Path) -> int:
    """How many os.replace calls one save makes (run on a copy of the store)."""
    calls = 0
    real = os.replace

    def counting(src: str, dst: str) -> None:
        nonlocal calls
        calls += 1
        real(src, dst)

    monkeypatch.setattr(os, "replace", counting)
    store.save(bars)
    monkeypatch.setattr(os, "replace", real)
    return calls


def _dying_replace(kill_at: int) -> Callable[[str, str], None]:
    """An os.replace that raises on its `kill_at`-th call, as if the process were killed there."""
    real = os.replace
    calls = 0

    def dying(src: str, dst: str) -> None:
        nonlocal calls
        calls += 1
        if calls == kill_at:
            raise OSError(f"simulated kill at replace #{kill_at}")
        real(src, dst)

    return dying


def _seed(root: Path) -> tuple[BarStore, BarSet, BarSet]:
    store = BarStore(root)
    days = _days("2024-01-02", 12)
    moutai = _bars(MOUTAI, days[:8], factor=True)
    pingan = _bars(PINGAN, [d for i, d in enumerate(days) if i != 3], base=10)
    store.save(moutai)
    store.save(pingan)
    return store, moutai, pingan


@pytest.mark.parametrize(
    "update",
    [
        pytest.param(lambda: _bars(MOUTAI, _days("2024-01-02", 15)[8:], base=300, factor=True), id="append"),
        pytest.param(lambda: _bars(MOUTAI, _days("2023-12-25", 4), base=60, factor=True), id="prepend-realigns"),
        pytest.param(lambda: _bars(MOUTAI, _days("2024-01-02", 10), base=700, factor=True), id="overlap"),
    ],
)
def test_kill_at_any_file_replace_leaves_a_consistent_loadable_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, update: Callable[[], BarSet]
) -> None:
    total = _count_replaces(monkeypatch, _seed(tmp_path / "probe")[0], update(), tmp_path / "probe")
    assert total >= 10
    for kill_at in range(1, total + 1):
        root = tmp_path / f"kill-{kill_at}"
        store, moutai, pingan = _seed(root)
        new = update()
        real = os.replace
        monkeypatch.setattr(os, "replace", _dying_replace(kill_at))
        with pytest.raises(OSError, match="simulated kill"):
            store.save(new)
        monkeypatch.setattr(os, "replace", real)

        fresh = BarStore(root)  # as a new process would see it
        _assert_bars_equal(fresh.load(PINGAN), pingan)
        loaded = fresh.load(MOUTAI)
        assert loaded is not None
        merged_days = sorted({str(d) for d in moutai.dates} | {str(d) for d in new.dates})
        if [str(d) for d in loaded.dates] == merged_days:
            assert loaded.fetched_at == new.fetched_at  # the save got as far as the symbol's meta
        else:
            old_days = [str(d) for d in moutai.dates]
            assert [str(d) for d in loaded.dates] == old_days, f"kill at #{kill_at}: mixed dates"
        # The calendar never lists a day for which no stored symbol has a committed bar. (A plain
        # Qlib reader may see a half-written symbol mid-save; the retry below is what heals it.)
        calendar = set((root / "calendars" / "day.txt").read_text().split())
        assert calendar <= {str(d) for d in loaded.dates} | {str(d) for d in pingan.dates}

        fresh.save(new)  # the retry heals whatever was half-written
        healed = fresh.load(MOUTAI)
        assert healed is not None and [str(d) for d in healed.dates] == merged_days
        _assert_bars_equal(fresh.load(PINGAN), pingan)
        assert sorted(_qlib_read(root, "SH600519")) == merged_days
        assert not list(root.rglob("*.tmp")) and not list(root.rglob("meta.next.json"))
        assert not (root / "calendars" / ".day.next.txt").exists()
