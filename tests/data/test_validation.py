"""Nothing wrong passes silently: each fault is an error or a quarantined bar with a reason."""

from dataclasses import replace

import numpy as np
import pytest

from tg.data.bars import BarSet
from tg.data.local import LocalSource
from tg.data.symbols import parse_symbol
from tg.data.validation import validate_bars
from tg.errors import DataError


@pytest.fixture(scope="module")
def bars() -> BarSet:
    real = LocalSource().daily_bars(parse_symbol("600519"), None, None, "qfq").tail(60)
    # the embedded data has no amount: give the real bars a consistent one (typical price x shares)
    return replace(real, amount=real.volume * (real.high + real.low + real.close) / 3)


def test_real_bars_are_clean(bars: BarSet) -> None:
    clean, quarantined = validate_bars(bars)
    assert quarantined == [] and len(clean) == len(bars)


def test_volume_in_lots_is_caught(bars: BarSet) -> None:
    with pytest.raises(DataError, match="lots"):
        validate_bars(replace(bars, volume=bars.volume / 100))


def test_amount_in_wan_yuan_is_caught(bars: BarSet) -> None:
    with pytest.raises(DataError, match="10k-yuan"):
        validate_bars(replace(bars, amount=bars.amount / 10_000))


def test_duplicate_and_unsorted_dates_are_errors(bars: BarSet) -> None:
    dates = bars.dates.copy()
    dates[10] = dates[9]
    with pytest.raises(DataError, match="duplicate"):
        validate_bars(replace(bars, dates=dates))
    dates = bars.dates.copy()
    dates[10], dates[11] = dates[11], dates[10]
    with pytest.raises(DataError, match="not sorted"):
        validate_bars(replace(bars, dates=dates))


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("close", np.nan, "NaN"),
        ("high", 1.0, "OHLC"),
        ("low", -5.0, "OHLC"),
        ("volume", -1.0, "negative volume"),
        ("close", None, "limit"),
    ],
)
def test_bad_bars_are_quarantined_with_a_reason(bars: BarSet, field: str, value: float | None, reason: str) -> None:
    column = getattr(bars, field).copy()
    i = 30
    if value is None:  # a +35 % close on a 10 % limit board, with high following it
        column[i] = column[i - 1] * 1.35
        broken = replace(bars, close=column, high=np.maximum(bars.high, column))
    else:
        column[i] = value
        broken = replace(bars, **{field: column})
    clean, quarantined = validate_bars(broken)
    assert len(clean) == len(bars) - 1
    assert quarantined[0].date == str(bars.dates[i]) and reason in quarantined[0].reason
