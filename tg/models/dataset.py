"""Samples: (symbol, date) rows over a shared (N, T, F) feature array, without copying it.

Tabular members read one row of features per sample; sequence members read the window of the last
`length` days up to and including the sample's date (earlier days are padded with the first one),
so no sample ever sees a feature of a later date.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Samples:
    values: np.ndarray  # (N, T, F) float32 features, NaN where unknown
    n: np.ndarray  # (S,) symbol index of each sample
    t: np.ndarray  # (S,) date index of each sample
    label: np.ndarray  # (S,) int64 class 0 down / 1 flat / 2 up; -1 unknown
    target: np.ndarray  # (S,) float32 regression target; NaN unknown

    def __len__(self) -> int:
        return len(self.n)

    def tabular(self, rows: np.ndarray | slice | None = None) -> np.ndarray:
        """(S, F) features of the samples (or of `rows` of them)."""
        sel = slice(None) if rows is None else rows
        return self.values[self.n[sel], self.t[sel]]

    def sequences(self, length: int, rows: np.ndarray | slice | None = None) -> np.ndarray:
        """(S, length, F) windows ending at each sample's date."""
        sel = slice(None) if rows is None else rows
        n, t = self.n[sel], self.t[sel]
        offsets = np.arange(-length + 1, 1)
        days = np.clip(t[:, None] + offsets[None, :], 0, None)
        return self.values[n[:, None], days]

    def subset(self, rows: np.ndarray) -> Samples:
        return Samples(self.values, self.n[rows], self.t[rows], self.label[rows], self.target[rows])


def samples_between(
    values: np.ndarray,
    dates: np.ndarray,
    label: np.ndarray,
    target: np.ndarray,
    usable: np.ndarray,
    start: np.datetime64 | None,
    end: np.datetime64 | None,
    require_labels: bool = True,
) -> Samples:
    """The samples with `start <= date <= end`, `usable` (N, T) true and, when asked, a known label."""
    in_range = np.ones(len(dates), dtype=bool)
    if start is not None:
        in_range &= dates >= start
    if end is not None:
        in_range &= dates <= end
    mask = usable & in_range[None, :]
    if require_labels:
        mask &= (label >= 0) & np.isfinite(target)
    n, t = np.nonzero(mask)
    return Samples(values, n, t, label[n, t].astype(np.int64), target[n, t].astype(np.float32))


@dataclass
class Standardizer:
    """Per-feature mean and std, fit on training rows only; NaN becomes 0 (the mean) after scaling."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardizer:
        mean = np.nanmean(x, axis=0)
        std = np.nanstd(x, axis=0)
        mean = np.where(np.isfinite(mean), mean, 0.0)
        std = np.where(np.isfinite(std) & (std > 1e-12), std, 1.0)
        return cls(mean.astype(np.float32), std.astype(np.float32))

    def apply(self, x: np.ndarray) -> np.ndarray:
        z = (x - self.mean) / self.std
        return np.nan_to_num(np.clip(z, -5.0, 5.0), nan=0.0).astype(np.float32)

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std]}

    @classmethod
    def from_dict(cls, data: dict[str, list[float]]) -> Standardizer:
        return cls(np.asarray(data["mean"], dtype=np.float32), np.asarray(data["std"], dtype=np.float32))
