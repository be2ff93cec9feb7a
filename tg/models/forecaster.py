"""`QuantileForecaster`: q10/q50/q90 of the return from today's close to each of the next h closes.

For day d = 1..h the forecast is `mu · d/h + z_q(d) · sigma · sqrt(d)`, where `mu` is the ensemble's
expected h-day return, `sigma` the stock's trailing daily volatility (known at t), and `z_q(d)` the
empirical q-quantile of the standardised residual `(r_d − mu · d/h) / (sigma · sqrt(d))` on the
calibration split. Fat tails and the drift error of the ensemble are thus in the band, measured, not
assumed; the evaluation reports how often realised returns fall inside q10..q90 (target 80 %).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

QUANTILES = (0.1, 0.5, 0.9)


def path_returns(close: np.ndarray, horizon: int) -> np.ndarray:
    """(N, T, h): close[t+d] / close[t] − 1 for d = 1..h (NaN past the end)."""
    n, t = close.shape
    out = np.full((n, t, horizon), np.nan)
    for d in range(1, horizon + 1):
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, : t - d, d - 1] = close[:, d:] / close[:, :-d] - 1.0
    return out


@dataclass
class QuantileForecaster:
    horizon: int
    z: np.ndarray  # (h, 3) standardised residual quantiles per day ahead

    @classmethod
    def fit(cls, mu: np.ndarray, sigma: np.ndarray, paths: np.ndarray, horizon: int) -> QuantileForecaster:
        """`mu` (S,), `sigma` (S,), `paths` (S, h) realised returns on the calibration split."""
        z = np.zeros((horizon, len(QUANTILES)))
        usable = np.isfinite(sigma) & (sigma > 0)  # a long suspension leaves no volatility to scale by
        for d in range(1, horizon + 1):
            resid = (paths[usable, d - 1] - mu[usable] * d / horizon) / (sigma[usable] * np.sqrt(d))
            resid = resid[np.isfinite(resid)]
            z[d - 1] = np.quantile(resid, QUANTILES) if len(resid) else (-1.2816, 0.0, 1.2816)
        return cls(horizon, z)

    def predict(self, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """(S, h, 3) return quantiles; monotone in q by construction (sorted z)."""
        days = np.arange(1, self.horizon + 1)
        drift = mu[:, None] * days[None, :] / self.horizon
        spread = sigma[:, None] * np.sqrt(days)[None, :]
        return drift[:, :, None] + np.sort(self.z, axis=1)[None, :, :] * spread[:, :, None]

    def to_dict(self) -> dict[str, object]:
        return {"horizon": self.horizon, "quantiles": list(QUANTILES), "z": self.z.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> QuantileForecaster:
        return cls(int(data["horizon"]), np.asarray(data["z"], dtype=np.float64))  # type: ignore[call-overload]
