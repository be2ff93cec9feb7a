"""`Ensemble`: members combined with weights learned on the validation split, probabilities
calibrated and returns scaled on the calibration split, plus the quantile forecaster.

- Probabilities: a weighted mean of the members' class probabilities, weights on the simplex chosen
  to minimise validation log loss; then `Temperature` fit on the calibration split.
- Score: every member gives two scorers, its regression output and its classifier's edge
  P(up) − P(down). Each scorer is standardised (validation mean/std) and weighted by its validation
  RankIC (scorers with RankIC ≤ 0 get weight 0, unless all do); `ReturnScale` maps the sum to an
  expected h-day return on the calibration split. (Early stopping of `gbm` used the same validation
  RankIC, so its weight is somewhat optimistic.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tg.models.calibration import ReturnScale, Temperature
from tg.models.dataset import Samples
from tg.models.forecaster import QuantileForecaster
from tg.models.members.base import Member, MemberOutput
from tg.models.metrics import mean_rank_ic


@dataclass
class Prediction:
    probs: np.ndarray  # (S, 3) calibrated
    score: np.ndarray  # (S,) combined, standardised
    expected_return: np.ndarray  # (S,)
    quantiles: np.ndarray  # (S, h, 3) return quantiles
    members: dict[str, MemberOutput] = field(default_factory=dict)


@dataclass
class Ensemble:
    members: dict[str, Member]
    horizon: int
    prob_weights: dict[str, float] = field(default_factory=dict)
    score_weights: dict[str, float] = field(default_factory=dict)
    score_norm: dict[str, tuple[float, float]] = field(default_factory=dict)
    temperature: Temperature = field(default_factory=Temperature)
    return_scale: ReturnScale = field(default_factory=ReturnScale)
    forecaster: QuantileForecaster | None = None

    def raw(self, samples: Samples) -> tuple[np.ndarray, np.ndarray, dict[str, MemberOutput]]:
        """Uncalibrated combined probabilities and score, and each member's own output."""
        outputs = {name: member.predict(samples) for name, member in self.members.items()}
        probs = sum(self.prob_weights[name] * out.probs for name, out in outputs.items())
        scorers = _scorers(outputs)
        score = sum(self.score_weights[name] * self._standard(name, value) for name, value in scorers.items())
        return np.asarray(probs), np.asarray(score), outputs

    def _standard(self, name: str, score: np.ndarray) -> np.ndarray:
        mean, std = self.score_norm[name]
        return (score - mean) / std

    def predict(self, samples: Samples, sigma: np.ndarray) -> Prediction:
        probs, score, outputs = self.raw(samples)
        expected = self.return_scale.apply(score)
        assert self.forecaster is not None
        return Prediction(
            self.temperature.apply(probs), score, expected, self.forecaster.predict(expected, sigma), outputs
        )

    def learn_weights(self, valid: Samples, realised: np.ndarray) -> dict[str, Any]:
        """Combination weights from the validation split; `realised` (S,) forward returns."""
        outputs = {name: member.predict(valid) for name, member in self.members.items()}
        names = list(outputs)
        self.prob_weights = dict(
            zip(names, _simplex_weights([outputs[n].probs for n in names], valid.label), strict=True)
        )
        rank_ic = {}
        for name, s in _scorers(outputs).items():
            self.score_norm[name] = (float(np.mean(s)), float(np.std(s)) or 1.0)
            rank_ic[name] = mean_rank_ic(s, realised, valid.t)
        positive = {n: max(v, 0.0) for n, v in rank_ic.items()}
        total = sum(positive.values())
        self.score_weights = {n: (v / total if total > 0 else 1.0 / len(positive)) for n, v in positive.items()}
        return {"prob_weights": self.prob_weights, "score_weights": self.score_weights, "valid_rank_ic": rank_ic}

    def calibrate(self, calib: Samples, realised: np.ndarray, sigma: np.ndarray, paths: np.ndarray) -> None:
        """Temperature, return scale and forecaster from the calibration split."""
        probs, score, _ = self.raw(calib)
        self.temperature = Temperature.fit(probs, calib.label)
        self.return_scale = ReturnScale.fit(score, realised)
        self.forecaster = QuantileForecaster.fit(self.return_scale.apply(score), sigma, paths, self.horizon)

    def to_dict(self) -> dict[str, Any]:
        assert self.forecaster is not None
        return {
            "members": list(self.members),
            "horizon": self.horizon,
            "prob_weights": self.prob_weights,
            "score_weights": self.score_weights,
            "score_norm": {k: list(v) for k, v in self.score_norm.items()},
            "temperature": self.temperature.to_dict(),
            "return_scale": self.return_scale.to_dict(),
            "forecaster": self.forecaster.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], members: dict[str, Member]) -> Ensemble:
        return cls(
            members=members,
            horizon=int(data["horizon"]),
            prob_weights={k: float(v) for k, v in data["prob_weights"].items()},
            score_weights={k: float(v) for k, v in data["score_weights"].items()},
            score_norm={k: (float(v[0]), float(v[1])) for k, v in data["score_norm"].items()},
            temperature=Temperature.from_dict(data["temperature"]),
            return_scale=ReturnScale(**data["return_scale"]),
            forecaster=QuantileForecaster.from_dict(data["forecaster"]),
        )


def _scorers(outputs: dict[str, MemberOutput]) -> dict[str, np.ndarray]:
    """Each member's regression score and its classifier edge P(up) − P(down)."""
    scorers = {}
    for name, out in outputs.items():
        scorers[name] = out.score
        scorers[f"{name}:edge"] = out.probs[:, 2] - out.probs[:, 0]
    return scorers


def _simplex_weights(probs: list[np.ndarray], labels: np.ndarray) -> list[float]:
    """Non-negative weights summing to 1 that minimise the log loss of the weighted mean."""
    if len(probs) == 1:
        return [1.0]
    from scipy.optimize import minimize

    picked = np.stack([p[np.arange(len(labels)), labels] for p in probs], axis=1)  # (S, M)

    def loss(theta: np.ndarray) -> float:
        w = np.exp(theta - theta.max())
        w /= w.sum()
        return float(-np.mean(np.log(np.clip(picked @ w, 1e-12, 1.0))))

    best = minimize(loss, np.zeros(len(probs)), method="Nelder-Mead")
    w = np.exp(best.x - best.x.max())
    return [float(v) for v in w / w.sum()]
