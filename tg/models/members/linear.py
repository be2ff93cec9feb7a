"""`linear`: ridge regression of the ranked forward return and an L2 multinomial logistic classifier,
on standardised features (the scaler is fit on the training rows only). Saved as JSON numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from tg.models.calibration import softmax
from tg.models.dataset import Samples, Standardizer
from tg.models.manifest import MEMBER_FILES
from tg.models.members.base import MemberOutput, Progress

(FILE,) = MEMBER_FILES["linear"]


class LinearMember:
    name = "linear"

    def __init__(self, ridge: float = 0.01, l2: float = 1e-3) -> None:
        self.ridge = ridge
        self.l2 = l2
        self.scaler: Standardizer | None = None
        self.beta = np.zeros(0)  # (F + 1,) regression, intercept last
        self.weights = np.zeros((0, 3))  # (F + 1, 3) classifier, intercept row last

    def fit(self, train: Samples, valid: Samples, progress: Progress) -> dict[str, Any]:
        from scipy.optimize import minimize

        progress(self.name, 0, 2)
        self.scaler = Standardizer.fit(train.tabular())
        x = _with_intercept(self.scaler.apply(train.tabular()))
        gram = x.T @ x + self.ridge * len(x) * np.diag(
            np.r_[np.ones(x.shape[1] - 1), 0.0]
        )  # no penalty on the intercept
        self.beta = np.linalg.solve(gram, x.T @ train.target.astype(np.float64))
        progress(self.name, 1, 2)
        onehot = np.eye(3)[train.label]
        n, f = x.shape

        def loss(flat: np.ndarray) -> tuple[float, np.ndarray]:
            w = flat.reshape(f, 3)
            p = softmax(x @ w)
            value = -np.sum(onehot * np.log(np.clip(p, 1e-12, 1.0))) / n + self.l2 * np.sum(w[:-1] ** 2)
            grad = x.T @ (p - onehot) / n
            grad[:-1] += 2 * self.l2 * w[:-1]
            return float(value), grad.ravel()

        result = minimize(loss, np.zeros(f * 3), jac=True, method="L-BFGS-B", options={"maxiter": 200})
        self.weights = result.x.reshape(f, 3)
        progress(self.name, 2, 2)
        return {"classifier_iterations": int(result.nit)}

    def predict(self, samples: Samples) -> MemberOutput:
        assert self.scaler is not None
        x = _with_intercept(self.scaler.apply(samples.tabular()))
        return MemberOutput(softmax(x @ self.weights), x @ self.beta)

    def save(self, directory: Path) -> dict[str, str]:
        assert self.scaler is not None
        doc = {"scaler": self.scaler.to_dict(), "beta": self.beta.tolist(), "weights": self.weights.tolist()}
        (directory / FILE).write_text(json.dumps(doc), encoding="utf-8")
        return {FILE: "ensemble"}

    @classmethod
    def load(cls, directory: Path, info: dict[str, Any]) -> LinearMember:
        doc = json.loads((directory / FILE).read_text(encoding="utf-8"))
        member = cls()
        member.scaler = Standardizer.from_dict(doc["scaler"])
        member.beta = np.asarray(doc["beta"], dtype=np.float64)
        member.weights = np.asarray(doc["weights"], dtype=np.float64)
        return member


def _with_intercept(x: np.ndarray) -> np.ndarray:
    return np.hstack([x.astype(np.float64), np.ones((len(x), 1))])
