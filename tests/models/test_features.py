"""Features: causal (no value at date t moves when later bars change), finite once history allows."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tg.models.features import compute_features, cross_sectional_rank, daily_returns
from tg.models.panel import Panel


@pytest.fixture(scope="module")
def features(panel):
    return compute_features(panel)


def scrambled_after(panel: Panel, t: int, seed: int) -> Panel:
    """The panel with every bar after date index t replaced by wild values (and new suspensions)."""
    rng = np.random.default_rng(seed)
    later = np.zeros(panel.shape, dtype=bool)
    later[:, t + 1 :] = True

    def wild(values: np.ndarray, scale: float) -> np.ndarray:
        return np.where(later, values * rng.uniform(0.01, scale, panel.shape), values)

    close = wild(panel.close, 100.0)
    volume = np.where(later & (rng.random(panel.shape) < 0.2), 0.0, wild(panel.volume, 1000.0))
    bench = panel.benchmark_close.copy()
    bench[t + 1 :] *= rng.uniform(0.1, 10.0, len(bench) - t - 1)
    return replace(
        panel,
        open=wild(panel.open, 50.0),
        high=np.fmax(wild(panel.high, 100.0), close),
        low=wild(panel.low, 0.5),
        close=close,
        volume=volume,
        factor=wild(panel.factor, 3.0),
        tradable=np.isfinite(close) & (volume > 0),
        benchmark_close=bench,
    )


@pytest.mark.parametrize("t", [200, 2500, 3800])
def test_features_at_or_before_t_ignore_every_later_bar(panel, features, t: int) -> None:
    changed = compute_features(scrambled_after(panel, t, seed=t))
    assert changed.names == features.names
    before = features.values[:, : t + 1].view(np.uint32)
    after = changed.values[:, : t + 1].view(np.uint32)
    assert np.array_equal(before, after), "a feature at date <= t changed when only later bars changed"
    assert not np.array_equal(features.values[:, t + 1 :], changed.values[:, t + 1 :], equal_nan=True)
    np.testing.assert_array_equal(
        features.ranked().values[:, : t + 1].view(np.uint32), changed.ranked().values[:, : t + 1].view(np.uint32)
    )


def test_shape_dtype_and_a_manageable_feature_count(panel, features) -> None:
    assert features.values.shape == (*panel.shape, len(features.names))
    assert features.values.dtype == np.float32
    assert 30 <= len(features.names) <= 80 and len(set(features.names)) == len(features.names)
    for name in ("ret_5", "ret_20", "vol_20", "ma_ratio_20", "rsi_14", "macd", "beta_60", "excess_20"):
        assert name in features.names


def test_finite_on_traded_days_once_there_is_enough_history(panel, features) -> None:
    row = panel.index_of("600519")
    warm = np.zeros(panel.shape[1], dtype=bool)
    warm[130:] = True
    cells = features.values[row, warm & panel.tradable[row]]
    finite = np.isfinite(cells).mean(axis=0)
    bad = {n: round(float(f), 4) for n, f in zip(features.names, finite, strict=True) if f < 0.995}
    assert not bad, f"features mostly NaN after warm-up for 600519: {bad}"
    last = panel.shape[1] - 1
    assert np.isfinite(features.values[row, last]).all()


def test_features_are_nan_on_suspended_days(panel, features) -> None:
    assert np.isnan(features.values[~panel.tradable]).all()


def test_a_suspension_is_a_gap_not_a_run_of_zero_returns(panel, features) -> None:
    returns = daily_returns(panel)
    assert np.isnan(returns[~panel.tradable]).all()
    row, col = np.argwhere(~panel.tradable[:, 200:-30] & np.isfinite(panel.close[:, 200:-30]))[0]
    col += 200
    resume = col + int(np.argmax(panel.tradable[row, col:]))
    last_traded = col - 1 - int(np.argmax(panel.tradable[row, col - 1 :: -1]))
    expected = panel.close[row, resume] / panel.close[row, last_traded] - 1.0
    assert returns[row, resume] == pytest.approx(expected)


def test_values_agree_with_a_direct_computation(panel, features) -> None:
    row, t = panel.index_of("600519"), 3000
    close = panel.close[row]
    assert panel.tradable[row, t - 25 : t + 1].all()
    assert features.feature("ret_5")[row, t] == pytest.approx(close[t] / close[t - 5] - 1, rel=1e-5)
    assert features.feature("ma_ratio_20")[row, t] == pytest.approx(
        close[t] / close[t - 19 : t + 1].mean() - 1, rel=1e-4
    )
    daily = close[t - 19 : t + 1] / close[t - 20 : t] - 1
    assert features.feature("vol_20")[row, t] == pytest.approx(daily.std(ddof=1), rel=1e-4)


def test_cross_sectional_rank_spans_minus_one_to_one_with_ties_and_nan() -> None:
    values = np.array([[1.0, 5.0], [np.nan, 5.0], [3.0, np.nan], [3.0, 5.0], [0.0, np.nan]])
    ranked = cross_sectional_rank(values)
    np.testing.assert_allclose(ranked[:, 0], [-1 / 3, np.nan, 2 / 3, 2 / 3, -1.0])
    np.testing.assert_allclose(ranked[:, 1], [0.0, 0.0, np.nan, 0.0, np.nan])
    wide = cross_sectional_rank(np.random.default_rng(0).normal(size=(50, 7)))
    assert wide.min() == -1.0 and wide.max() == 1.0
    np.testing.assert_allclose(np.sort(wide, axis=0), np.sort(wide, axis=0)[:, :1].repeat(7, axis=1))


@pytest.mark.parametrize("chunk", [1, 5, 7])
def test_chunked_build_is_the_same_bytes_as_one_pass(panel, features, monkeypatch: pytest.MonkeyPatch, chunk) -> None:
    """Symbols in chunks (here threads: no Ray in this process) give exactly the one-pass feature set."""
    import tg.models.features as module

    assert len(panel.symbols) <= module.CHUNK_SYMBOLS  # `features` is the one-pass build
    monkeypatch.setattr(module, "CHUNK_SYMBOLS", chunk)
    chunked = compute_features(panel)
    assert chunked.names == features.names and chunked.values.dtype == np.float32
    assert chunked.values.tobytes() == features.values.tobytes()
