"""`gbm`: LightGBM, a 3-class classifier and a regressor of the ranked forward return.

Both stop early (patience 50) on the validation split's mean daily RankIC — of the regression output,
and of P(up) − P(down) for the classifier — the quantity the ensemble is judged on. Parameters were
chosen on the validation split only (research/NOTES.md).

Saved as LightGBM's own text model format (`Booster.model_to_string`): plain text, parsed, never
executed, so loading a file cannot run code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tg.models.dataset import Samples
from tg.models.members.base import MemberOutput, Progress
from tg.models.metrics import mean_rank_ic

PATIENCE = 50
CLASSIFIER, REGRESSOR = "gbm_classifier.txt", "gbm_regressor.txt"


class GbmMember:
    """Built from `conf/model/members/gbm.yaml` (`model.members.gbm.*`)."""

    name = "gbm"
    files = (CLASSIFIER, REGRESSOR)

    def __init__(
        self, rounds: int = 400, leaves: int = 64, min_leaf: int = 1000, seed: int = 0, threads: int = 2
    ) -> None:
        if rounds < 1 or leaves < 2 or min_leaf < 1:
            raise ValueError("rounds >= 1, leaves >= 2 and min_leaf >= 1")
        self.seed = seed
        self.rounds = rounds
        self.threads = threads
        self.params = {"num_leaves": leaves, "min_data_in_leaf": min_leaf}
        self.classifier: Any = None
        self.regressor: Any = None

    def _params(self, objective: str) -> dict[str, Any]:
        base = {
            "objective": objective,
            "learning_rate": 0.05,
            "num_leaves": 64,
            "min_data_in_leaf": 1000,
            "max_bin": 127,
            "metric": "None",
            "feature_fraction": 0.8,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "lambda_l2": 10.0,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.threads,
            "verbosity": -1,
        }
        if objective == "multiclass":
            base["num_class"] = 3
        return {**base, **self.params}

    def fit(self, train: Samples, valid: Samples, progress: Progress) -> dict[str, Any]:
        import lightgbm as lgb

        x_train, x_valid = train.tabular(), valid.tabular()
        info: dict[str, Any] = {}
        total = 2 * self.rounds

        def report(offset: int) -> Any:
            def callback(env: Any) -> None:
                if env.iteration % 10 == 0:
                    progress(self.name, offset + env.iteration, total)

            return callback

        def rank_ic(preds: np.ndarray, _: Any) -> tuple[str, float, bool]:
            score = preds[:, 2] - preds[:, 0] if preds.ndim == 2 else preds
            return "rank_ic", mean_rank_ic(score, valid.target, valid.t), True

        for kind, objective, y_train, y_valid, offset in (
            ("classifier", "multiclass", train.label, valid.label, 0),
            ("regressor", "regression", train.target, valid.target, self.rounds),
        ):
            booster = lgb.train(
                self._params(objective),
                lgb.Dataset(x_train, y_train, free_raw_data=True),
                num_boost_round=self.rounds,
                valid_sets=[lgb.Dataset(x_valid, y_valid)],
                feval=rank_ic,
                callbacks=[lgb.early_stopping(PATIENCE, verbose=False), report(offset)],
            )
            setattr(self, kind, booster)
            info[f"{kind}_rounds"] = booster.best_iteration
        progress(self.name, total, total)
        return info

    def predict(self, samples: Samples) -> MemberOutput:
        x = samples.tabular()
        probs = np.asarray(self.classifier.predict(x))
        score = np.asarray(self.regressor.predict(x))
        return MemberOutput(probs.reshape(-1, 3), score.reshape(-1))

    def save(self, directory: Path) -> dict[str, str]:
        for booster, name in ((self.classifier, CLASSIFIER), (self.regressor, REGRESSOR)):
            text = booster.model_to_string(num_iteration=booster.best_iteration or None)  # best rounds only
            (directory / name).write_text(text, encoding="utf-8")
        return {CLASSIFIER: "ensemble", REGRESSOR: "ensemble"}

    @classmethod
    def load(cls, directory: Path, info: dict[str, Any]) -> GbmMember:
        import lightgbm as lgb

        member = cls()
        try:
            member.classifier = lgb.Booster(model_str=(directory / CLASSIFIER).read_text(encoding="utf-8"))
            member.regressor = lgb.Booster(model_str=(directory / REGRESSOR).read_text(encoding="utf-8"))
        except lgb.basic.LightGBMError as exc:
            raise ValueError(f"LightGBM model text is invalid: {exc}") from exc
        return member
