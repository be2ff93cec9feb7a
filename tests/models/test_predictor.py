"""Predictor: answers cached for 5 s, windows shared across symbols, stale flag, symbols outside the universe."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from tg.data.exchange_calendar import CHINA
from tg.data.local import embedded_root
from tg.models.predictor import CACHE_SECONDS, Predictor


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_answers_are_cached_for_five_seconds(trained_project: Path) -> None:
    clock = Clock()
    predictor = Predictor(trained_project / "models_saved", embedded_root(), clock=clock)
    first = predictor.predict("600519", date(2025, 10, 31))
    assert not first.cached
    assert predictor.predict("sh600519", date(2025, 10, 31)).cached  # any spelling, same key
    clock.now += CACHE_SECONDS + 0.1
    again = predictor.predict("600519", date(2025, 10, 31))
    assert not again.cached and again.data["probabilities"] == first.data["probabilities"]


def test_one_window_serves_every_symbol_of_a_date(trained_project: Path) -> None:
    predictor = Predictor(trained_project / "models_saved", embedded_root())
    for symbol in ("600519", "000858", "601318"):
        predictor.predict(symbol, date(2025, 6, 3))
    assert len(predictor._windows) == 1
    outside = predictor.predict("600276", date(2025, 6, 3))  # embedded, but not in the tiny model's universe
    assert outside.data["symbol"] == "600276.SH" and len(predictor._windows) == 2


def test_stale_flag_follows_the_trading_calendar(trained_project: Path) -> None:
    predictor = Predictor(trained_project / "models_saved", embedded_root())
    fresh = predictor.predict("600519", None, now=datetime(2025, 11, 3, 9, 0, tzinfo=CHINA)).data
    assert fresh["data"]["stale"] is False and fresh["as_of"] == "2025-10-31"
    assert fresh["data"]["calendar"].startswith("XSHG") and fresh["data"]["known_until"] >= "2026-12-31"
    after_close = predictor.predict("601318", None, now=datetime(2025, 11, 3, 15, 0, tzinfo=CHINA)).data
    assert after_close["data"]["stale"] is True  # 2025-11-03 has closed: its bar is missing
    old = predictor.predict("000858", None, now=datetime(2026, 11, 24, 9, 0, tzinfo=CHINA)).data
    assert old["data"]["stale"] is True
    # after the National Day week the data is complete: not stale
    assert predictor.predict("601318", date(2024, 10, 8)).data["data"]["stale"] is False


def test_forecast_dates_follow_the_exchange_calendar(trained_project: Path) -> None:
    predictor = Predictor(trained_project / "models_saved", embedded_root())
    dates = [f["date"] for f in predictor.predict("600519", date(2024, 6, 7)).data["forecast"]]
    assert dates == ["2024-06-11", "2024-06-12", "2024-06-13", "2024-06-14", "2024-06-17"]  # 06-10: Dragon Boat
    on_holiday = predictor.predict("600519", date(2024, 6, 10)).data  # as of a holiday: the last bar is 06-07
    assert on_holiday["data"]["last_bar_date"] == "2024-06-07" and on_holiday["forecast"][0]["date"] == "2024-06-11"
    assert on_holiday["warnings"] == [] and on_holiday["data"]["stale"] is False


def test_an_as_of_date_after_the_data_is_stale_and_warned_and_in_sample_dates_are_warned(
    trained_project: Path,
) -> None:
    """Before: --as-of after the last bar answered stale: false; a date the model trained on gave no warning."""
    predictor = Predictor(trained_project / "models_saved", embedded_root())
    late = predictor.predict("600519", date(2026, 6, 1), now=datetime(2026, 11, 24, 9, 0, tzinfo=CHINA)).data
    assert late["data"]["stale"] is True and late["data"]["last_bar_date"] == "2025-10-31"
    assert late["warnings"] == ["no bars from 2025-10-31 to --as-of 2026-06-01: the forecast runs from 2025-10-31"]
    # as of the Saturday after the last bar: no session is missing
    weekend = predictor.predict("600519", date(2025, 11, 1), now=datetime(2026, 11, 24, 9, 0, tzinfo=CHINA)).data
    assert weekend["data"]["stale"] is False and weekend["warnings"] == []
    inside = predictor.predict("600519", date(2020, 6, 1)).data
    assert inside["warnings"] == [
        "2020-06-01 is inside the model's training/calibration window (to 2023-12-31): in-sample"
    ]
