"""The training pipeline: data → features → labels → splits → members → weights → calibration.

Splits by date (ends inclusive, from `train`): train ≤ train_end; valid (early stopping and the
ensemble weights) ≤ valid_end; calib (probability calibration, return scale, forecaster) ≤
calib_end. Each split's rows are purged of the last `horizon` dates before the next split starts,
so no label of one split is computed from prices of the next. Dates after calib_end are held out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tg.config.parts import build_part
from tg.config.schema import ModelConfig, TrainConfig
from tg.errors import ConfigError, DataError
from tg.models.dataset import Samples, samples_between
from tg.models.ensemble import Ensemble
from tg.models.inputs import ModelInputs
from tg.models.labels import purge_mask
from tg.models.members.base import Member, Progress, quiet_openmp
from tg.models.metrics import mean_rank_ic
from tg.models.universe import MIN_UNIVERSE

MIN_TRAIN_ROWS = 500


@dataclass
class Trained:
    ensemble: Ensemble
    inputs: ModelInputs
    info: dict[str, Any] = field(default_factory=dict)


def split_samples(inputs: ModelInputs, train: TrainConfig) -> dict[str, Samples]:
    """Purged train / valid / calib samples and the held-out rest (`test`, labels where known)."""
    dates = inputs.panel.dates
    horizon = max(inputs.labels.horizon, inputs.target_reach)
    bounds = [
        np.datetime64(train.train_end, "D"),
        np.datetime64(train.valid_end, "D"),
        np.datetime64(train.calib_end, "D"),
    ]
    day = np.timedelta64(1, "D")
    out = {}
    starts: list[np.datetime64 | None] = [None, bounds[0] + day, bounds[1] + day]
    for name, start, end in zip(("train", "valid", "calib"), starts, bounds, strict=True):
        keep = purge_mask(dates, end + day, horizon)[None, :]
        out[name] = samples_between(
            inputs.features.values,
            dates,
            inputs.labels.classes,
            inputs.target,
            inputs.panel.tradable & keep,
            start,
            end,
        )
    out["test"] = samples_between(
        inputs.features.values,
        dates,
        inputs.labels.classes,
        inputs.target,
        inputs.panel.tradable,
        bounds[2] + day,
        None,
    )
    return out


def build_members(model: ModelConfig) -> dict[str, Member]:
    """Each `model.members.<name>` node built into its `_target_` class (tg.config.parts)."""
    quiet_openmp()
    members: dict[str, Member] = {}
    for name, node in model.members.items():
        member = build_part(node, f"model.members.{name}")
        clash = next((other for other, built in members.items() if type(built) is type(member)), None)
        if clash is not None:  # the class writes fixed file names: a second instance would overwrite the first
            raise ConfigError(
                f"configuration error: model.members.{name}: {type(member).__name__} is already member {clash!r}"
            )
        member.name = name
        members[name] = member
    return members


def train_ensemble(inputs: ModelInputs, model: ModelConfig, train: TrainConfig, progress: Progress) -> Trained:
    """Fit every member on train, combine on valid, calibrate on calib."""
    if len(inputs.panel.symbols) < MIN_UNIVERSE:
        raise DataError(
            f"too few stocks to train: {len(inputs.panel.symbols)} (features are ranked across the universe; "
            f"need at least {MIN_UNIVERSE})"
        )
    splits = split_samples(inputs, train)
    for name in ("train", "valid", "calib"):
        if len(splits[name]) < (MIN_TRAIN_ROWS if name == "train" else 50):
            raise DataError(
                f"too little data to train: the {name} split has {len(splits[name])} labelled rows "
                f"(check data.start/data.end and train.*_end against the data's dates)"
            )
    rng = np.random.default_rng(train.seed)
    train_rows = splits["train"]
    if len(train_rows) > train.max_train_rows:
        train_rows = train_rows.subset(np.sort(rng.choice(len(train_rows), train.max_train_rows, replace=False)))
    members = build_members(model)
    info: dict[str, Any] = {"rows": {k: len(v) for k, v in splits.items()}, "members": {}}
    for name, member in members.items():
        began = time.perf_counter()
        member_info = member.fit(train_rows, splits["valid"], progress)
        info["members"][name] = {**member_info, "seconds": round(time.perf_counter() - began, 1)}
    ensemble = Ensemble(members, inputs.labels.horizon)
    valid = splits["valid"]
    info["weights"] = ensemble.learn_weights(valid, inputs.target_return[valid.n, valid.t])
    calib = splits["calib"]
    ensemble.calibrate(
        calib,
        inputs.labels.forward_return[calib.n, calib.t],
        inputs.sigma[calib.n, calib.t],
        inputs.paths[calib.n, calib.t],
    )
    info["calib_rank_ic"] = calib_rank_ic(ensemble, calib, inputs.labels.forward_return[calib.n, calib.t])
    return Trained(ensemble, inputs, info)


def calib_rank_ic(ensemble: Ensemble, calib: Samples, realised: np.ndarray) -> dict[str, float]:
    """Mean daily RankIC on the calibration split, which no member was fit or stopped on: the
    honest place to compare configurations before the held-out window."""
    _, score, outputs = ensemble.raw(calib)
    result = {"ensemble": mean_rank_ic(score, realised, calib.t)}
    for name, out in outputs.items():
        result[name] = mean_rank_ic(out.score, realised, calib.t)
    return {k: round(v, 4) for k, v in result.items()}
