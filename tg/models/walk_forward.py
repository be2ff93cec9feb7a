"""Walk-forward evaluation: retrain before each calendar year of the window, predict that year only.

Fold for year Y: train ≤ the end of Y−3, valid = year Y−2 (early stopping, weights), calibration =
year Y−1, test = year Y (clipped to the window): the 2024 fold is exactly the default `tg train`.
The splits are purged exactly as in `tg train`.
The stitched predictions are scored once, over the whole window, by `tg.models.evaluation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from tg.config.schema import ModelConfig, TrainConfig
from tg.models.dataset import Samples
from tg.models.ensemble import Ensemble, Prediction
from tg.models.inputs import ModelInputs
from tg.models.members.base import MemberOutput, Progress
from tg.models.training import train_ensemble


@dataclass
class Fold:
    year: int
    train: TrainConfig
    ensemble: Ensemble
    info: dict[str, Any] = field(default_factory=dict)

    def splits(self) -> dict[str, str]:
        return {
            "train_end": self.train.train_end,
            "valid_end": self.train.valid_end,
            "calib_end": self.train.calib_end,
            "test": str(self.year),
        }


def fold_config(train: TrainConfig, year: int) -> TrainConfig:
    return replace(train, train_end=f"{year - 3}-12-31", valid_end=f"{year - 2}-12-31", calib_end=f"{year - 1}-12-31")


@dataclass
class WalkForward:
    """Acts as an `Ensemble` for `evaluate`: each row is predicted by the fold of its year."""

    folds: list[Fold]
    dates: np.ndarray  # the panel's dates, to find each sample's year
    horizon: int

    def predict(self, samples: Samples, sigma: np.ndarray) -> Prediction:
        years = self.dates[samples.t].astype("datetime64[Y]").astype(int) + 1970
        parts: list[tuple[np.ndarray, Prediction]] = []
        for fold in self.folds:
            rows = np.flatnonzero(years == fold.year)
            if len(rows):
                parts.append((rows, fold.ensemble.predict(samples.subset(rows), sigma[rows])))
        return _stitch(parts, len(samples), self.horizon)


def _stitch(parts: list[tuple[np.ndarray, Prediction]], n: int, horizon: int) -> Prediction:
    probs = np.full((n, 3), np.nan)
    score = np.full(n, np.nan)
    expected = np.full(n, np.nan)
    quantiles = np.full((n, horizon, 3), np.nan)
    members: dict[str, MemberOutput] = {}
    for rows, p in parts:
        probs[rows], score[rows], expected[rows], quantiles[rows] = p.probs, p.score, p.expected_return, p.quantiles
        for name, out in p.members.items():
            target = members.setdefault(name, MemberOutput(np.full((n, 3), np.nan), np.full(n, np.nan)))
            target.probs[rows], target.score[rows] = out.probs, out.score
    return Prediction(probs, score, expected, quantiles, members)


def walk_forward(
    inputs: ModelInputs, model: ModelConfig, train: TrainConfig, first_year: int, last_year: int, progress: Progress
) -> WalkForward:
    """Train one ensemble per year of [first_year, last_year] (each only on data before that year)."""
    folds = []
    for year in range(first_year, last_year + 1):
        config = fold_config(train, year)
        trained = train_ensemble(inputs, model, config, progress)
        folds.append(Fold(year, config, trained.ensemble, trained.info))
    return WalkForward(folds, inputs.panel.dates, inputs.labels.horizon)
