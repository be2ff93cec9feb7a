"""Training targets over a `Panel`: h-day forward returns and up/flat/down classes.

Labels look ahead by construction: the label of date t uses the close of date t + h. A training
window that ends just before a validation (or evaluation) split must therefore drop its last h
dates, whose labels reach into the split — `purge_mask` gives the dates that are safe to train on.

Classes: with sigma_t the stock's trailing daily-return std (causal, `vol_window` traded days) and
band_t = band_k · sigma_t · sqrt(h), the class is down (0) below -band_t, up (2) above +band_t and
flat (1) in between; -1 where the return or sigma is unknown. DEFAULT_BAND_K = 0.40 makes the three
classes about a third each on the CSI300 members 2010-2025 at h = 5 (research/NOTES.md has the
measured shares: 33/33/34 %); a Gaussian would need 0.43, fat tails need less.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from tg.models.features import daily_returns, rolling_std
from tg.models.panel import Panel

DOWN, FLAT, UP, UNKNOWN = 0, 1, 2, -1
CLASS_NAMES = ("down", "flat", "up")
DEFAULT_HORIZON = 5
DEFAULT_VOL_WINDOW = 20
DEFAULT_BAND_K = 0.40


@dataclass(frozen=True)
class Labels:
    """Targets of every symbol and date of a panel (N, T)."""

    horizon: int
    band_k: float
    forward_return: np.ndarray  # (N, T) float64: close[t+h] / close[t] - 1; NaN where unknown
    band: np.ndarray  # (N, T) float64: the flat half-width used for `classes`
    classes: np.ndarray  # (N, T) int8: 0 down, 1 flat, 2 up, -1 unknown

    def shares(self) -> dict[str, float]:
        """Share of each class among the known labels."""
        known = self.classes[self.classes >= 0]
        total = max(known.size, 1)
        return {name: float((known == k).sum()) / total for k, name in enumerate(CLASS_NAMES)}


def class_shares_until(labels: Labels, dates: np.ndarray, end: np.datetime64) -> list[float]:
    """Share of down/flat/up among the known labels dated up to `end` (the majority baseline's odds)."""
    known = labels.classes[:, dates <= end]
    known = known[known >= 0]
    return [float(np.mean(known == c)) if known.size else 1 / 3 for c in (DOWN, FLAT, UP)]


def forward_returns(panel: Panel, horizon: int = DEFAULT_HORIZON) -> np.ndarray:
    """close[t+h] / close[t] - 1 for each symbol; NaN for the last h dates or if t is not a traded day.

    The exit close is the stored close of t + h even when the stock is suspended then (it equals
    the last traded close, the value a holder keeps).
    """
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    out = np.full(panel.shape, np.nan)
    if horizon < panel.shape[1]:
        with np.errstate(divide="ignore", invalid="ignore"):
            held = panel.held_close
            out[:, :-horizon] = held[:, horizon:] / held[:, :-horizon] - 1.0
    out[~panel.tradable] = np.nan
    out[~np.isfinite(out)] = np.nan
    return out


def forward_excess_return(forward: np.ndarray) -> np.ndarray:
    """Forward returns minus their cross-sectional mean on each date (a target for ranking models)."""
    counts = np.isfinite(forward).sum(axis=0)
    sums = np.nansum(forward, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(counts > 0, sums / counts, np.nan)
    return forward - mean[None, :]


def trailing_volatility(panel: Panel, window: int = DEFAULT_VOL_WINDOW) -> np.ndarray:
    """Std of the daily returns over the last `window` traded days up to and including t (causal)."""
    return rolling_std(daily_returns(panel), window)


def make_labels(
    panel: Panel,
    horizon: int = DEFAULT_HORIZON,
    vol_window: int = DEFAULT_VOL_WINDOW,
    band_k: float = DEFAULT_BAND_K,
) -> Labels:
    """Forward returns and volatility-scaled down/flat/up classes (see the module docstring)."""
    forward = forward_returns(panel, horizon)
    band = band_k * trailing_volatility(panel, vol_window) * np.sqrt(horizon)
    classes = np.full(panel.shape, UNKNOWN, dtype=np.int8)
    known = np.isfinite(forward) & np.isfinite(band)
    classes[known] = FLAT
    classes[known & (forward > band)] = UP
    classes[known & (forward < -band)] = DOWN
    return Labels(horizon, band_k, forward, band, classes)


def purge_mask(dates: np.ndarray, split: date | np.datetime64, horizon: int = DEFAULT_HORIZON) -> np.ndarray:
    """Dates whose h-day label ends before `split`: the rows a window ending at `split` may train on.

    The last `horizon` dates before the split are dropped because their labels use prices on or after
    the split date; dates on or after the split are excluded too.
    """
    days = np.asarray(dates, dtype="datetime64[D]")
    first_after = int(np.searchsorted(days, np.array(split, dtype="datetime64[D]"), side="left"))
    mask = np.zeros(len(days), dtype=bool)
    mask[: max(first_after - horizon, 0)] = True
    return mask
