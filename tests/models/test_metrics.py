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
    four = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.8, 0.1, 0.1]])
    assert expected_calibration_error(four, np.array([0, 1, 2, 1])) == pytest.approx(0.05)
    # two bins: three right at 0.8 (gap 0.2) and one wrong at 0.6 (gap 0.6), each weighed by its share
    assert expected_calibration_error(probs, np.array([0, 1, 2, 2])) == pytest.approx(0.75 * 0.2 + 0.25 * 0.6)


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


def test_top_k_backtest_costs_cash_and_drift_by_hand() -> None:
    # 3 days, 4 names; the score picks name 0 (k = 1), which returns 1 % a day; Qlib keeps 5 % in cash.
    # Day t earns the return into t of what was held at the close of t-1, then trades at the close of t.
    score = np.array([[4.0, 3, 2, 1]] * 3)
    returns = np.array([[0.01, 0.0, 0.0, 0.0]] * 3)
    bench = np.array([0.002, 0.0, 0.001])
    tradable = np.ones((3, 4), dtype=bool)
    result = top_k_backtest(score, returns, tradable, bench, k=1, buy_cost=0.001, sell_cost=0.002)
    cash = 1 - 0.95 * 1.001  # bought 0.95 of the capital at the close of day 0, plus its cost
    day0 = cash + 0.95  # nothing held through day 0: only the cost
    day1 = cash + 0.95 * 1.01
    day2 = cash + 0.95 * 1.01**2
    assert result.daily_return.tolist() == pytest.approx([day0 - 1, day1 / day0 - 1, day2 / day1 - 1])
    assert result.cost.tolist() == pytest.approx([0.95 * 0.001, 0.0, 0.0])  # bought once, never sold
    excess = result.daily_return - bench  # the first day counts the benchmark's move, as Qlib's does
    assert result.summary["annual_excess_return"] == pytest.approx(np.mean(excess) * 238)
    assert result.summary["annual_excess_return_without_cost"] == pytest.approx(np.mean(excess + result.cost) * 238)


def test_top_k_dropout_follows_qlibs_rule_by_hand() -> None:
    # k = 2, n_drop = 1, no costs, no returns: only the choices and the cash show
    score = np.array([[4.0, 3, 2, 1], [1.0, 4, 3, 2], [5.0, 4, 3, 2], [5.0, 4, 3, 2]])
    tradable = np.ones((4, 4), dtype=bool)
    result = top_k_backtest(score, np.zeros((4, 4)), tradable, np.zeros(4), k=2, n_drop=1, buy_cost=0, sell_cost=0)
    # day 0: buys 0 and 1 with 0.95 of the cash, 0.475 each
    # day 1: holdings by score [1, 0]; best not held: [2]; of [1, 2, 0] the bottom one, 0, is held: sold
    #        (0.475 back to cash: 0.525), 2 bought with 0.525 x 0.95 = 0.49875
    # day 2: holdings [1, 2]; best not held [0]; of [0, 1, 2] the bottom, 2, is sold (cash 0.02625 + 0.49875
    #        = 0.525), 0 bought with 0.49875
    # day 3: holdings [0, 1] are the two best: the bottom of [0, 1, 2] is 2, not held: nothing traded
    assert result.turnover.tolist() == pytest.approx([0.95, 0.475 + 0.49875, 0.49875 + 0.49875, 0.0])


def test_names_that_cannot_trade_keep_their_slot() -> None:
    # k = 1: name 0 held from day 0; on day 1 it is suspended (no bar) and on day 2 at its limit down, so it
    # cannot be sold though name 1 ranks first. As in Qlib, the buy count assumes the sale: day 1 buys name 1
    # with the 5 % cash left (0.0475); day 2 holds two names, so nothing is bought; day 3 sells name 0 and,
    # holding k names by count already, buys nothing (Qlib counts names, not value)
    score = np.array([[2.0, 1.0], [1.0, 2.0], [1.0, 2.0], [1.0, 2.0]])
    tradable = np.array([[True, True], [False, True], [True, True], [True, True]])
    blocked = np.array([[False, False], [False, False], [True, False], [False, False]])
    result = top_k_backtest(
        score, np.zeros((4, 2)), tradable, np.zeros(4), k=1, n_drop=1, buy_cost=0, sell_cost=0, blocked=blocked
    )
    assert result.turnover.tolist() == pytest.approx([0.95, 0.0475, 0.0, 0.95])
    # a name at its limit up is not bought either: day 0 has name 0 blocked, so nothing is held until day 1
    up = np.array([[True, False], [False, False]])
    first = top_k_backtest(
        np.array([[2.0, 1.0], [2.0, 1.0]]), np.zeros((2, 2)), np.ones((2, 2), bool), np.zeros(2), k=1, blocked=up
    )
    assert first.turnover.tolist() == pytest.approx([0.0, 0.95])


def test_max_drawdown() -> None:
    assert max_drawdown(np.array([1.0, 1.2, 0.9, 1.3])) == pytest.approx(0.9 / 1.2 - 1)


def test_a_loss_from_the_start_is_a_drawdown() -> None:
    score = np.array([[2.0, 1.0]] * 3)
    returns = np.array([[0.0, 0.0], [-0.10, 0.0], [0.01, 0.0]])
    result = top_k_backtest(score, returns, np.ones((3, 2), bool), np.zeros(3), k=1)
    assert result.summary["max_drawdown"] == pytest.approx(0.95 * 0.9 + 0.05 - 0.95 * 0.0005 - 1, abs=1e-9)
