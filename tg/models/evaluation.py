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
    metrics: dict[str, dict[str, Any]] = {}
    for name in [*scorers, "majority"]:
        entry: dict[str, Any] = {}
        if name in probabilities:
            entry.update(classification(probabilities[name][known], samples.label[known]))
        if name in scorers:
            ic, rank_ic = daily_ic(_grid(shape, samples.t - t0, samples.n, scorers[name]), realised)
            entry.update(ic_summary(ic, rank_ic))
        metrics[name] = entry
    tradable = panel.tradable[:, window_days].T
    next_return = _next_returns(panel.held_close)[:, window_days].T
    bench = _next_returns(forward_fill(panel.benchmark_close[None, :]))[0, window_days]
    listed = panel.listed[:, window_days].T
    k = max(1, round(settings.top_k_fraction * len(panel.symbols)))
    backtests = {
        name: top_k_backtest(
            _lagged(_grid(shape, samples.t - t0, samples.n, scorers[name])),
            next_return,
            tradable,
            bench,
            k,
            listed=listed,
            buy_cost=settings.buy_cost,
            sell_cost=settings.sell_cost,
        )
        for name in ("ensemble", "momentum_20", "reversal_5")
    }
    for result in backtests.values():
        result.summary["k"] = k
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
    )


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
