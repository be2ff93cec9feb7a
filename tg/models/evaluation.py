"""Evaluate a trained ensemble on a date window, beside baselines computed in the same run.

Baselines: `majority` (the training class shares as probabilities), `momentum_20` (score = 20-day
return), `reversal_5` (score = −5-day return), and each member alone (`linear` among them).
Signal quality is the daily cross-sectional IC/RankIC of the score vs the realised h-day return
(the ensemble's expected return is a + b·score with b ≥ 0, so it ranks the same whenever b > 0; the
score is used so that a calibration that finds no edge, b = 0, still shows what the ranking is worth);
the top-k backtest (`tg.models.backtest`) trades each score against SH000300.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from tg.config.schema import EvalConfig
from tg.models.backtest import BacktestResult, top_k_backtest
from tg.models.dataset import Samples, samples_between
from tg.models.ensemble import Prediction
from tg.models.forecaster import path_returns
from tg.models.inputs import ModelInputs
from tg.models.metrics import classification, daily_ic, ic_summary, reliability
from tg.models.panel import forward_fill

SURVIVORSHIP = (
    "survivorship bias: the universe is the stocks that are CSI300 members at the end of the data, "
    "so every backtest over it is biased upward"
)


@dataclass
class Evaluation:
    window: tuple[str, str]
    rows: int
    metrics: dict[str, dict[str, Any]]  # model and each baseline
    backtests: dict[str, BacktestResult]
    coverage: dict[str, float]
    reliability: list[dict[str, float]]
    prediction: Prediction
    dates: np.ndarray  # (S,) date of each row
    symbols: list[str]  # (S,) symbol of each row
    warnings: list[str] = field(default_factory=list)

    def table(self) -> list[dict[str, Any]]:
        """One row per scorer: the figures a researcher compares first."""
        rows = []
        for name, m in self.metrics.items():
            bt = self.backtests.get(name)
            rows.append(
                {
                    "name": name,
                    "rank_ic": m.get("rank_ic"),
                    "rank_icir": m.get("rank_icir"),
                    "ic": m.get("ic"),
                    "accuracy": m.get("accuracy"),
                    "balanced_accuracy": m.get("balanced_accuracy"),
                    "log_loss": m.get("log_loss"),
                    "ece": m.get("ece"),
                    "annual_excess_return": bt.summary.get("annual_excess_return") if bt else None,
                    "information_ratio": bt.summary.get("information_ratio") if bt else None,
                }
            )
        return rows


def past_return(close: np.ndarray, days: int) -> np.ndarray:
    out = np.full(close.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, days:] = close[:, days:] / close[:, :-days] - 1.0
    return out


class Predicts(Protocol):
    def predict(self, samples: Samples, sigma: np.ndarray) -> Prediction: ...


def evaluate(
    ensemble: Predicts,
    inputs: ModelInputs,
    start: np.datetime64,
    end: np.datetime64,
    settings: EvalConfig,
    class_shares: list[float],
) -> Evaluation:
    """Predict every tradable (symbol, date) of [start, end] and score it (see the module docstring)."""
    panel, labels = inputs.panel, inputs.labels
    samples = samples_between(
        inputs.features.values, panel.dates, labels.classes, inputs.target, panel.tradable, start, end, False
    )
    if not len(samples):
        raise ValueError(f"no tradable rows between {start} and {end}")
    prediction = ensemble.predict(samples, inputs.sigma[samples.n, samples.t])
    window_days = np.flatnonzero((panel.dates >= start) & (panel.dates <= end))
    t0 = int(window_days[0])
    shape = (len(window_days), len(panel.symbols))
    realised = _grid(shape, samples.t - t0, samples.n, labels.forward_return[samples.n, samples.t])
    known = samples.label >= 0
    scorers = {
        "ensemble": prediction.score,
        **{name: out.score for name, out in prediction.members.items()},
        "momentum_20": past_return(panel.held_close, 20)[samples.n, samples.t],
        "reversal_5": -past_return(panel.held_close, 5)[samples.n, samples.t],
    }
    probabilities = {
        "ensemble": prediction.probs,
        **{name: out.probs for name, out in prediction.members.items()},
        "majority": np.tile(np.asarray(class_shares), (len(samples), 1)),
    }
    next_return = _next_returns(panel.held_close)[:, window_days].T
    metrics: dict[str, dict[str, Any]] = {}
    for name in [*scorers, "majority"]:
        entry: dict[str, Any] = {}
        if name in probabilities:
            entry.update(classification(probabilities[name][known], samples.label[known]))
        if name in scorers:
            grid = _grid(shape, samples.t - t0, samples.n, scorers[name])
            entry.update(ic_summary(*daily_ic(grid, realised)))
            entry["next_day"] = {**ic_summary(*daily_ic(grid, next_return)), **_top_spread(grid, next_return)}
        metrics[name] = entry
    tradable = panel.tradable[:, window_days].T
    into = past_return(panel.held_close, 1)[:, window_days].T  # the close of t−1 to the close of t
    bench = past_return(forward_fill(panel.benchmark_close[None, :]), 1)[0, window_days]
    k, drop, warnings = portfolio_size(settings, len(panel.symbols))
    with np.errstate(invalid="ignore"):
        blocked = np.abs(into) >= settings.limit_threshold - 1e-12  # a limit move either way
    backtests = {
        name: top_k_backtest(
            _lagged(_grid(shape, samples.t - t0, samples.n, scorers[name])),
            into,
            tradable,
            bench,
            k,
            drop,
            buy_cost=settings.buy_cost,
            sell_cost=settings.sell_cost,
            blocked=blocked,
            risk_degree=settings.risk_degree,
            annual_days=settings.annual_days,
        )
        for name in ("ensemble", "momentum_20", "reversal_5")
    }
    for result in backtests.values():
        result.summary.update(k=k, drop=drop)
    return Evaluation(
        window=(str(panel.dates[window_days[0]]), str(panel.dates[window_days[-1]])),
        rows=len(samples),
        metrics=metrics,
        backtests=backtests,
        coverage=_coverage(prediction, inputs.paths[samples.n, samples.t]),
        reliability=reliability(prediction.probs[known], samples.label[known]),
        prediction=prediction,
        dates=panel.dates[samples.t],
        symbols=[panel.symbols[i] for i in samples.n],
        warnings=warnings,
    )


def portfolio_size(settings: EvalConfig, universe: int) -> tuple[int, int, list[str]]:
    """(k, names dropped a day at most, warnings) from `eval.top_k` / `eval.drop` (a count, or a fraction when
    < 1); a universe under 5·k names uses 10 % of it, since holding a fifth of it or more says little."""
    k = round(settings.top_k) if settings.top_k >= 1 else round(settings.top_k * universe)
    drop = round(settings.drop) if settings.drop >= 1 or settings.drop == 0 else round(settings.drop * k)
    warnings = []
    if settings.top_k >= 1 and 5 * k > universe:
        small = max(1, round(0.1 * universe))
        warnings.append(
            f"eval.top_k={k} is more than a fifth of the {universe}-name universe: k={small} (10 %) used instead"
        )
        drop, k = max(1, round(drop * small / k)) if drop else 0, small
    return max(1, k), max(0, drop), warnings


def _top_spread(score: np.ndarray, realised: np.ndarray, top: int = 50) -> dict[str, float]:
    """Mean over days of (the realised return of the `top` highest scores − that of every scored name)."""
    spreads = []
    for s, r in zip(score, realised, strict=True):
        ok = np.isfinite(s) & np.isfinite(r)
        if ok.sum() > top:
            best = np.argsort(-s[ok], kind="stable")[:top]
            spreads.append(float(r[ok][best].mean() - r[ok].mean()))
    return {"top_minus_all": float(np.mean(spreads)) if spreads else float("nan"), "top": top}


def _grid(shape: tuple[int, int], rows: np.ndarray, cols: np.ndarray, values: np.ndarray) -> np.ndarray:
    grid = np.full(shape, np.nan)
    grid[rows, cols] = values
    return grid


def _lagged(score: np.ndarray) -> np.ndarray:
    """Scores known after the close of t, traded at the close of t+1: row t holds the score of t−1."""
    out = np.full(score.shape, np.nan)
    out[1:] = score[:-1]
    return out


def _next_returns(close: np.ndarray) -> np.ndarray:
    """Return from the close of t to the close of t+1 (NaN on the last date)."""
    return path_returns(close, 1)[:, :, 0]


def _coverage(prediction: Prediction, paths: np.ndarray) -> dict[str, float]:
    """How often the realised return to day d fell inside q10..q90 (target 0.8), and below q50."""
    q = prediction.quantiles
    ok = np.isfinite(paths)
    inside = (paths >= q[:, :, 0]) & (paths <= q[:, :, 2])
    below = paths <= q[:, :, 1]
    return {
        "q10_q90_inside": float(inside[ok].mean()) if ok.any() else float("nan"),
        "below_q50": float(below[ok].mean()) if ok.any() else float("nan"),
    }
