"""Training pipeline: purged splits, scalers fit on training rows only, determinism, no look-ahead."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import TINY
from tg.commands.train import run_train
from tg.config.loader import load_config
from tg.config.schema import ModelConfig, TrainConfig
from tg.data.local import embedded_root
from tg.errors import DataError
from tg.models.inputs import build_inputs
from tg.models.labels import forward_returns
from tg.models.panel import load_panel
from tg.models.predictor import Predictor
from tg.models.training import split_samples, train_ensemble

SYMBOLS = ["600519", "000858", "601318", "600036", "000001"]


def tampered_copy(tmp_path: Path, after: date) -> Path:
    """The embedded data with every stock's prices after `after` replaced by nonsense."""
    root = tmp_path / "data"
    shutil.copytree(embedded_root(), root)
    calendar = np.array((root / "calendars" / "day.txt").read_text().split(), dtype="datetime64[D]")
    cut = int(np.searchsorted(calendar, np.datetime64(after, "D"), side="right"))
    for directory in (root / "features").iterdir():
        for field in ("open", "high", "low", "close", "volume"):
            path = directory / f"{field}.day.bin"
            raw = np.fromfile(path, dtype="<f4")
            first = int(raw[0])
            start = max(cut - first, 0) + 1
            rng = np.random.default_rng(7)
            raw[start:] = raw[start:] * rng.uniform(0.5, 2.0, len(raw) - start).astype("<f4")
            raw.tofile(path)
    return root


def test_splits_are_ordered_and_purged() -> None:
    panel = load_panel(embedded_root(), SYMBOLS, date(2016, 1, 1), None)
    inputs = build_inputs(panel, ModelConfig())
    splits = split_samples(inputs, TrainConfig())
    dates = {name: panel.dates[s.t] for name, s in splits.items()}
    horizon = inputs.labels.horizon
    valid_first = int(np.searchsorted(panel.dates, np.datetime64("2022-01-01")))
    # the last training row's label (t + h) ends before the first validation date
    assert int(splits["train"].t.max()) + horizon < valid_first
    assert dates["train"].max() < dates["valid"].min() <= dates["valid"].max() < dates["calib"].min()
    assert dates["calib"].max() < dates["test"].min()


def test_a_lagged_target_is_the_return_from_the_next_close_and_purges_one_date_more() -> None:
    """`model.target_lag=1`: the ranking target of date t is the h-day return from the close of t + 1 (what a
    portfolio that trades at the next close earns); the training window drops h + 1 dates before validation,
    and the up/flat/down classes keep their meaning (from the close of t)."""
    panel = load_panel(embedded_root(), SYMBOLS, date(2016, 1, 1), None)
    plain = build_inputs(panel, ModelConfig(target_lag=0))
    lagged = build_inputs(panel, ModelConfig(target_lag=1))
    forward = plain.labels.forward_return
    assert np.array_equal(lagged.target_return[:, :-1], forward[:, 1:], equal_nan=True)
    assert np.isnan(lagged.target_return[:, -1]).all()
    assert np.array_equal(lagged.labels.classes, plain.labels.classes)
    splits = split_samples(lagged, TrainConfig())
    valid_first = int(np.searchsorted(panel.dates, np.datetime64("2022-01-01")))
    last = int(splits["train"].t.max())
    assert last + 1 + lagged.labels.horizon < valid_first
    assert last == int(split_samples(plain, TrainConfig())["train"].t.max()) - 1
    longer = build_inputs(panel, ModelConfig(target_lag=1, target_horizon=10))
    assert np.array_equal(longer.target_return[:, :-1], forward_returns(panel, 10)[:, 1:], equal_nan=True)
    assert int(split_samples(longer, TrainConfig())["train"].t.max()) + 11 < valid_first


def test_scalers_are_fit_on_training_rows_only(tmp_path: Path) -> None:
    """Changing every price after train_end leaves the fitted scaler (and the linear model) unchanged."""
    model = ModelConfig(members={"linear": {"_target_": "tg.models.members.linear.LinearMember"}})
    train = TrainConfig(train_end="2019-12-31", valid_end="2020-12-31", calib_end="2021-12-31")
    fitted = []
    for root in (embedded_root(), tampered_copy(tmp_path, date(2019, 12, 31))):
        inputs = build_inputs(load_panel(root, SYMBOLS, date(2016, 1, 1), None), model)
        fitted.append(train_ensemble(inputs, model, train, lambda *_: None).ensemble.members["linear"])
    a, b = fitted
    assert np.array_equal(a.scaler.mean, b.scaler.mean) and np.array_equal(a.scaler.std, b.scaler.std)  # type: ignore[attr-defined]
    assert np.array_equal(a.beta, b.beta)  # type: ignore[attr-defined]


def test_predictions_at_t_ignore_every_bar_after_t(trained_project: Path, tmp_path: Path) -> None:
    models = trained_project / "models_saved"
    as_of = date(2024, 6, 3)
    original = Predictor(models, embedded_root()).predict("600519", as_of).data
    changed = Predictor(models, tampered_copy(tmp_path, as_of)).predict("600519", as_of).data
    for key in ("probabilities", "expected_return", "forecast", "last_close"):
        assert original[key] == changed[key]


def test_training_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    versions = []
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        loaded = load_config(TINY, cwd=tmp_path / run, environ={}, use_cache=False)
        versions.append(run_train(loaded, show_progress=False).meta)
    a, b = versions
    assert a["training"]["weights"] == b["training"]["weights"]
    assert a["metrics"]["table"] == b["metrics"]["table"]


def test_too_little_data_is_a_clear_error() -> None:
    panel = load_panel(embedded_root(), SYMBOLS, date(2021, 11, 1), None)
    inputs = build_inputs(panel, ModelConfig())
    with pytest.raises(DataError, match="too little data to train: the train split"):
        train_ensemble(inputs, ModelConfig(), TrainConfig(), lambda *_: None)
