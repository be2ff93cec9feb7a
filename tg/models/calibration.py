"""Probability calibration and the return-scale map, fit on the calibration split only.

- `Temperature`: scales log-probabilities by 1/T, T chosen to minimise log loss on the calibration
  split. One number: per-class biases were tried and dropped, because they learn the class shares
  of the calibration year (a bear year has more "down"), which do not carry over to the next year.
- `ReturnScale`: expected return = a + b · score, least squares on the calibration split, with b ≥ 0
  so the ranking of the ensemble is never flipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = 1e-9


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class Temperature:
    temperature: float = 1.0

    def apply(self, probs: np.ndarray) -> np.ndarray:
        return softmax(np.log(np.clip(probs, EPS, 1.0)) / self.temperature)

    @classmethod
    def fit(cls, probs: np.ndarray, labels: np.ndarray) -> Temperature:
        from scipy.optimize import minimize_scalar

        logp = np.log(np.clip(probs, EPS, 1.0))
        n = len(labels)

        def loss(log_t: float) -> float:
            p = softmax(logp / np.exp(log_t))
            return float(-np.mean(np.log(np.clip(p[np.arange(n), labels], EPS, 1.0))))

        best = minimize_scalar(loss, bounds=(-3.0, 3.0), method="bounded")
        return cls(float(np.exp(best.x)))

    def to_dict(self) -> dict[str, float]:
        return {"temperature": self.temperature}

    @classmethod
    def from_dict(cls, data: dict[str, float]) -> Temperature:
        return cls(float(data["temperature"]))


@dataclass
class ReturnScale:
    intercept: float = 0.0
    slope: float = 0.0

    def apply(self, score: np.ndarray) -> np.ndarray:
        return self.intercept + self.slope * np.asarray(score)

    @classmethod
    def fit(cls, score: np.ndarray, realised: np.ndarray) -> ReturnScale:
        ok = np.isfinite(score) & np.isfinite(realised)
        x, y = score[ok], realised[ok]
        if len(x) < 10 or np.std(x) == 0:
            return cls(float(np.mean(y)) if len(y) else 0.0, 0.0)
        slope = max(float(np.cov(x, y)[0, 1] / np.var(x, ddof=1)), 0.0)
        return cls(float(np.mean(y) - slope * np.mean(x)), slope)

    def to_dict(self) -> dict[str, float]:
        return {"intercept": self.intercept, "slope": self.slope}
