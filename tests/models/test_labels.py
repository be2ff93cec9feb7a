"""Labels: h-day forward returns, balanced volatility-scaled classes, and the purge before a split."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from tg.data.local import LocalSource
from tg.data.symbols import parse_symbol
from tg.models.labels import DOWN, FLAT, UNKNOWN, UP, forward_excess_return, make_labels, purge_mask
from tg.models.panel import Panel


@pytest.fixture(scope="module")
def labels(panel):
    return make_labels(panel)


def test_forward_return_of_600519_matches_a_hand_computation(panel, labels) -> None:
    bars = LocalSource().daily_bars(parse_symbol("600519"), date(2024, 3, 1), date(2024, 3, 31), "none")
    day = int(np.searchsorted(bars.dates, np.datetime64("2024-03-08")))
    assert bars.dates[day] == np.datetime64("2024-03-08")
    # raw closes; no ex-dividend day falls in this week, so raw and back-adjusted returns agree
    expected = bars.close[day + 5] / bars.close[day] - 1.0
    t = int(np.searchsorted(panel.dates, np.datetime64("2024-03-08")))
    assert labels.forward_return[panel.index_of("600519"), t] == pytest.approx(expected, abs=2e-5)
    assert make_labels(panel, horizon=1).forward_return[panel.index_of("600519"), t] == pytest.approx(
        bars.close[day + 1] / bars.close[day] - 1.0, abs=2e-5
    )


def test_unknown_where_the_future_or_the_entry_is_missing(panel, labels) -> None:
    assert np.isnan(labels.forward_return[:, -5:]).all()
    assert (labels.classes[:, -5:] == UNKNOWN).all()
    assert np.isnan(labels.forward_return[~panel.tradable]).all()
    assert np.isfinite(labels.forward_return[:, :-5][panel.tradable[:, :-5]]).mean() > 0.999


def test_classes_follow_the_band_and_are_roughly_balanced(labels) -> None:
    known = labels.classes != UNKNOWN
    ret, band, cls = labels.forward_return[known], labels.band[known], labels.classes[known]
    assert (ret[cls == UP] > band[cls == UP]).all()
    assert (ret[cls == DOWN] < -band[cls == DOWN]).all()
    assert (np.abs(ret[cls == FLAT]) <= band[cls == FLAT]).all()
    shares = labels.shares()
    assert all(0.25 < share < 0.42 for share in shares.values()), shares
    assert labels.classes.dtype == np.int8


def test_band_uses_only_past_volatility(panel, labels) -> None:
    t = 2000
    later = panel.close.copy()
    later[:, t + 1 :] *= 3.0
    changed = make_labels(replace(panel, close=later))
    np.testing.assert_array_equal(labels.band[:, : t + 1], changed.band[:, : t + 1])


def test_excess_return_has_zero_cross_sectional_mean(labels) -> None:
    excess = forward_excess_return(labels.forward_return)
    means = np.nanmean(excess[:, 100:-5], axis=0)
    assert np.abs(means).max() < 1e-12
    assert np.array_equal(np.isnan(excess), np.isnan(labels.forward_return))


def test_purge_drops_the_last_horizon_dates_before_the_split(panel) -> None:
    mask = purge_mask(panel.dates, date(2022, 1, 1), horizon=5)
    split = int(np.searchsorted(panel.dates, np.datetime64("2022-01-01")))
    assert mask[: split - 5].all() and not mask[split - 5 :].any()
    last_train = np.flatnonzero(mask)[-1]
    assert panel.dates[last_train + 5] < np.datetime64("2022-01-01")  # its label ends before the split
    assert panel.dates[last_train + 6] >= np.datetime64("2022-01-01")
    assert not purge_mask(panel.dates, date(2010, 1, 6), horizon=5).any()


def test_returns_cross_suspensions_whether_the_data_stores_nan_or_the_last_close(panel: Panel) -> None:
    """cn_daily repeats the last close on suspended days; other Qlib data stores NaN there."""
    suspended = ~panel.tradable & np.isfinite(panel.close)
    assert suspended.any()
    as_nan = replace(panel, close=np.where(suspended, np.nan, panel.close))
    a, b = make_labels(panel), make_labels(as_nan)
    assert np.array_equal(a.forward_return, b.forward_return, equal_nan=True)
