"""Evaluation metrics: classification (accuracy, balanced accuracy, log loss, Brier, ECE) and
cross-sectional signal quality (daily IC and RankIC, ICIR), all NaN-aware numpy.

Classes are 0 = down, 1 = flat, 2 = up; probabilities are (n, 3) rows summing to 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

EPS = 1e-12


def classification(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> dict[str, float]:
    """Accuracy, balanced accuracy, log loss, multi-class Brier and top-label ECE."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    if n == 0:
        return {k: float("nan") for k in ("accuracy", "balanced_accuracy", "log_loss", "brier", "ece")}
    predicted = probs.argmax(axis=1)
    recalls = [float(np.mean(predicted[labels == c] == c)) for c in range(probs.shape[1]) if np.any(labels == c)]
    onehot = np.eye(probs.shape[1])[labels]
    return {
        "accuracy": float(np.mean(predicted == labels)),
        "balanced_accuracy": float(np.mean(recalls)),
        "log_loss": float(-np.mean(np.log(np.clip(probs[np.arange(n), labels], EPS, 1.0)))),
        "brier": float(np.mean(np.sum((probs - onehot) ** 2, axis=1))),
        "ece": expected_calibration_error(probs, labels, bins),
    }


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """Top-label ECE: |accuracy − confidence| averaged over equal-width confidence bins, by weight."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(total)


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Points of the calibration curve of P(up): mean predicted vs observed frequency per bin."""
    p_up = probs[:, 2]
    observed = labels == 2
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p_up, edges[1:-1]), 0, bins - 1)
    points = []
    for b in range(bins):
        inside = which == b
        if inside.sum() >= 20:
            points.append(
                {
                    "predicted": float(p_up[inside].mean()),
                    "observed": float(observed[inside].mean()),
                    "n": int(inside.sum()),
                }
            )
    return points


def _rank(values: np.ndarray) -> np.ndarray:
    """Ranks along axis 1 scaled to [-1, 1] (ties share their mean rank); NaN stays NaN."""
    from tg.models.features import cross_sectional_rank

    return cross_sectional_rank(values.T).T


def mean_rank_ic(score: np.ndarray, realised: np.ndarray, day: np.ndarray) -> float:
    """Mean daily RankIC of flat samples (`day` = each sample's date index): the early-stopping metric."""
    days, column = np.unique(day, return_inverse=True)
    # position of each sample within its date: its rank in a stable sort by date minus the date's start
    by_day = np.argsort(column, kind="stable")
    starts = np.searchsorted(column[by_day], np.arange(len(days)))
    order = np.empty(len(day), dtype=np.int64)
    order[by_day] = np.arange(len(day)) - starts[column[by_day]]
    width = int(order.max()) + 1 if len(order) else 1
    grid_score = np.full((len(days), width), np.nan)
    grid_real = np.full((len(days), width), np.nan)
    grid_score[column, order] = score
    grid_real[column, order] = realised
    _, rank_ic = daily_ic(grid_score, grid_real)
    values = rank_ic[~np.isnan(rank_ic)]
    return float(values.mean()) if len(values) else 0.0


def daily_ic(score: np.ndarray, realised: np.ndarray, min_names: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Per-date Pearson IC and Spearman RankIC across symbols; inputs are (dates, symbols) arrays.

    Dates with fewer than `min_names` symbols having both values give NaN.
    """
    score = np.asarray(score, dtype=np.float64)
    realised = np.asarray(realised, dtype=np.float64)
    both = ~np.isnan(score) & ~np.isnan(realised)
    s = np.where(both, score, np.nan)
    r = np.where(both, realised, np.nan)
    return _corr_rows(s, r, min_names), _corr_rows(_rank(s), _rank(r), min_names)


def _corr_rows(a: np.ndarray, b: np.ndarray, min_names: int) -> np.ndarray:
    ok = ~np.isnan(a) & ~np.isnan(b)
    count = ok.sum(axis=1)
    a0 = np.where(ok, a, 0.0)
    b0 = np.where(ok, b, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ma = a0.sum(axis=1) / count
        mb = b0.sum(axis=1) / count
        da = np.where(ok, a0 - ma[:, None], 0.0)
        db = np.where(ok, b0 - mb[:, None], 0.0)
        corr = (da * db).sum(axis=1) / np.sqrt((da**2).sum(axis=1) * (db**2).sum(axis=1))
    corr[(count < min_names) | ~np.isfinite(corr)] = np.nan
    return corr


def ic_summary(ic: np.ndarray, rank_ic: np.ndarray) -> dict[str, Any]:
    """Mean, std and ICIR (mean / std of the daily series) of IC and RankIC."""

    def stats(series: np.ndarray) -> tuple[float, float, float]:
        x = series[~np.isnan(series)]
        if len(x) < 2:
            return float("nan"), float("nan"), float("nan")
        mean, std = float(x.mean()), float(x.std(ddof=1))
        return mean, std, mean / std if std > 0 else float("nan")

    ic_mean, ic_std, icir = stats(ic)
    ric_mean, ric_std, ricir = stats(rank_ic)
    return {
        "ic": ic_mean,
        "ic_std": ic_std,
        "icir": icir,
        "rank_ic": ric_mean,
        "rank_ic_std": ric_std,
        "rank_icir": ricir,
        "days": int(np.sum(~np.isnan(rank_ic))),
    }
