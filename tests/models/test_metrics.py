"""Metrics, calibration, forecaster and backtest against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr

from tg.models.backtest import max_drawdown, top_k_backtest
from tg.models.calibration import ReturnScale, Temperature
from tg.models.forecaster import QuantileForecaster, path_returns
from tg.models.metrics import classification, daily_ic, expected_calibration_error, ic_summary


def test_daily_ic_matches_scipy_with_ties_and_gaps() -> None:
    rng = np.random.default_rng(1)
    score = rng.normal(size=(30, 40)).round(1)  # rounding makes ties
    realised = score * 0.3 + rng.normal(size=(30, 40))
    score[3, :5] = np.nan
    realised[4, 10:] = np.nan
    ic, rank_ic = daily_ic(score, realised)
    for t in (0, 3, 4):
        ok = ~np.isnan(score[t]) & ~np.isnan(realised[t])
        assert ic[t] == pytest.approx(pearsonr(score[t, ok], realised[t, ok])[0])
        assert rank_ic[t] == pytest.approx(spearmanr(score[t, ok], realised[t, ok])[0])
    summary = ic_summary(ic, rank_ic)
    assert summary["rank_icir"] == pytest.approx(summary["rank_ic"] / summary["rank_ic_std"])


def test_too_few_names_give_no_ic() -> None:
    ic, rank_ic = daily_ic(np.array([[1.0, 2.0, 3.0]]), np.array([[1.0, 2.0, 3.0]]))
    assert np.isnan(ic[0]) and np.isnan(rank_ic[0])


def test_classification_metrics_by_hand() -> None:
    probs = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1]])
    labels = np.array([0, 1, 2, 1])
    m = classification(probs, labels)
    assert m["accuracy"] == 0.75
    assert m["balanced_accuracy"] == pytest.approx((1 + 0.5 + 1) / 3)
    assert m["log_loss"] == pytest.approx(-np.mean(np.log([0.8, 0.8, 0.8, 0.3])))
    # perfectly calibrated: confidence 1 always right → ECE 0; confidence 0.8 right 75 % → 0.05 gap
    assert expected_calibration_error(np.eye(3)[labels[:3]], labels[:3]) == 0.0
    assert expected_calibration_error(probs[:, [0, 1, 2]][[0, 1, 2, 3]], np.array([0, 1, 2, 2])) >= 0.0


def test_temperature_scaling_repairs_overconfidence() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 20_000)
    logits = rng.normal(size=(20_000, 3))
    logits[np.arange(20_000), labels] += 0.5
    # with unit Gaussian noise and a 0.5 shift, the true posterior is softmax(0.5 · logits)
    honest = np.exp(0.5 * logits) / np.exp(0.5 * logits).sum(axis=1, keepdims=True)
    overconfident = np.exp(3 * logits) / np.exp(3 * logits).sum(axis=1, keepdims=True)
    t = Temperature.fit(overconfident, labels)
    assert t.temperature == pytest.approx(6.0, rel=0.1)
    fixed = t.apply(overconfident)
    assert classification(fixed, labels)["log_loss"] < classification(overconfident, labels)["log_loss"]
    assert abs(classification(fixed, labels)["ece"] - classification(honest, labels)["ece"]) < 0.02


def test_return_scale_never_flips_the_ranking() -> None:
    score = np.arange(100.0)
    assert ReturnScale.fit(score, -score).slope == 0.0
    assert ReturnScale.fit(score, 0.01 * score).slope == pytest.approx(0.01)


def test_forecaster_covers_80_percent_of_fresh_draws() -> None:
    rng = np.random.default_rng(3)
    sigma = rng.uniform(0.01, 0.03, 30_000)
    steps = rng.standard_t(4, size=(30_000, 5)) * sigma[:, None] / np.sqrt(2)
    paths = np.cumsum(steps, axis=1)
    mu = np.zeros(30_000)
    forecaster = QuantileForecaster.fit(mu[:15_000], sigma[:15_000], paths[:15_000], 5)
    q = forecaster.predict(mu[15_000:], sigma[15_000:])
    inside = (paths[15_000:] >= q[:, :, 0]) & (paths[15_000:] <= q[:, :, 2])
    assert inside.mean() == pytest.approx(0.8, abs=0.02)
    assert np.all(q[:, :, 0] <= q[:, :, 1]) and np.all(q[:, :, 1] <= q[:, :, 2])


def test_path_returns() -> None:
    close = np.array([[10.0, 11.0, 12.1, np.nan]])
    paths = path_returns(close, 2)
    assert paths[0, 0].tolist() == pytest.approx([0.1, 0.21])
    assert np.isnan(paths[0, 2, 0]) and np.isnan(paths[0, 3]).all()


def test_top_k_backtest_costs_and_benchmark() -> None:
    # 3 days, 4 names; the score picks name 0 (k = 1); it returns 1 % a day
    score = np.array([[4.0, 3, 2, 1]] * 3)
    returns = np.array([[0.01, 0.0, 0.0, 0.0]] * 3)
    tradable = np.ones((3, 4), dtype=bool)
    result = top_k_backtest(score, returns, tradable, np.zeros(3), k=1, buy_cost=0.001, sell_cost=0.002)
    assert result.daily_return.tolist() == pytest.approx([0.01 - 0.001, 0.01, 0.01])  # bought once, never sold
    switched = top_k_backtest(score[:, ::-1].copy(), returns, tradable, np.zeros(3), k=1)
    assert switched.daily_return.tolist() == pytest.approx([-0.0005, 0.0, 0.0])
    assert result.summary["annual_excess_return"] > 0


def test_suspended_names_are_neither_bought_nor_sold() -> None:
    score = np.array([[1.0, 2.0], [2.0, 1.0]])
    tradable = np.array([[True, False], [True, True]])
    result = top_k_backtest(score, np.zeros((2, 2)), tradable, np.zeros(2), k=1, buy_cost=0.0, sell_cost=0.0)
    assert result.turnover[0] == 1.0  # bought name 0: name 1 was suspended


def test_max_drawdown() -> None:
    assert max_drawdown(np.array([1.0, 1.2, 0.9, 1.3])) == pytest.approx(0.9 / 1.2 - 1)


def test_a_loss_from_the_start_is_a_drawdown() -> None:
    result = top_k_backtest(
        np.ones((3, 1)), np.array([[-0.10], [0.0], [0.01]]), np.ones((3, 1), bool), np.zeros(3), k=1
    )
    assert result.summary["max_drawdown"] == pytest.approx(-0.10 - 0.0005, abs=1e-4)


def test_a_delisted_name_leaves_the_portfolio() -> None:
    score = np.array([[2.0, 1.0]] * 4)
    listed = np.array([[True, True], [True, True], [False, True], [False, True]])
    tradable = listed.copy()
    result = top_k_backtest(score, np.zeros((4, 2)), tradable, np.zeros(4), k=1, listed=listed)
    # bought name 0 on day 0; on day 2 it is gone: sold, and name 1 bought in its place
    assert result.turnover.tolist() == [1.0, 0.0, 2.0, 0.0]
