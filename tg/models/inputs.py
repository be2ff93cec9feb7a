"""`ModelInputs`: everything the models read, computed once from a `Panel`.

Features are the causal features of `tg.models.features`, each rank-scaled across the universe date
by date (a cross-sectional rank uses only that date's values, so it stays causal). The regression
target is the forward return over `target_horizon` sessions (default h) starting `target_lag`
sessions later, ranked the same way (or z-scored per date, `target_norm`); `sigma` is the trailing
daily volatility the forecaster scales its bands by.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tg.config.schema import ModelConfig
from tg.models.features import FeatureSet, compute_features, cross_sectional_rank, cross_sectional_zscore
from tg.models.forecaster import path_returns
from tg.models.labels import Labels, forward_returns, make_labels, trailing_volatility
from tg.models.panel import Panel


@dataclass
class ModelInputs:
    panel: Panel
    features: FeatureSet  # (N, T, F) ranked features
    labels: Labels
    target: np.ndarray  # (N, T) ranked target return in [-1, 1]
    target_return: np.ndarray  # (N, T) the target's return from close t + lag; NaN where unknown
    target_reach: int  # sessions after t the target's last price lies (the purge before a split)
    sigma: np.ndarray  # (N, T) trailing daily volatility
    paths: np.ndarray  # (N, T, h) realised returns to each of the next h closes


def model_features(panel: Panel) -> FeatureSet:
    """The features every member sees: raw causal features, rank-scaled per date."""
    return compute_features(panel).ranked()


def build_inputs(panel: Panel, model: ModelConfig) -> ModelInputs:
    labels = make_labels(panel, model.horizon, model.vol_window, model.band_k)
    length = model.target_horizon or model.horizon
    forward = labels.forward_return if length == model.horizon else forward_returns(panel, length)
    target_return = lagged(forward, model.target_lag)
    return ModelInputs(
        panel=panel,
        features=model_features(panel),
        labels=labels,
        target=_normalised(target_return, model.target_norm).astype(np.float32),
        target_return=target_return,
        target_reach=length + model.target_lag,
        sigma=trailing_volatility(panel, model.vol_window),
        paths=path_returns(panel.held_close, model.horizon),
    )


def lagged(values: np.ndarray, lag: int) -> np.ndarray:
    """values[:, t + lag] at column t (NaN for the last `lag` dates)."""
    if lag < 0:
        raise ValueError(f"target_lag must be >= 0, got {lag}")
    if lag == 0:
        return values
    out = np.full(values.shape, np.nan)
    out[:, :-lag] = values[:, lag:]
    return out


def _normalised(values: np.ndarray, how: str) -> np.ndarray:
    return cross_sectional_zscore(values) if how == "zscore" else cross_sectional_rank(values)
